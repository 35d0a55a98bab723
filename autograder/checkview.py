"""What a check shows in the feedback: its verdict as notebook outputs, and, when the check found a name of the
exercise missing because the learner's own exercise cell raised before defining it, why (a package the grader
doesn't have, a typo), instead of a bare NameError."""
from __future__ import annotations

import ast
import re

from nbformat import NotebookNode

from . import agent, checker
from .feedback import LEARNER_FRAMES
from .outcome import error_line

#: what a learner is told when an exercise cell failed to import a package (Colab has many the grader lacks)
INSTALLED = ("Notebooks are graded with Python's standard library, numpy, matplotlib and torch only (the course's "
             "requirements.txt), not with everything Colab has: write it with those")


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def check_outputs(outcome: checker.Outcome, learner_output: str) -> list[NotebookNode]:
    """The outputs a check shows in the feedback. They report the checker's verdict; they never make it."""
    outputs = []
    if outcome.output:
        outputs.append(NotebookNode(output_type="stream", name="stdout", text=outcome.output))
    if learner_output:
        cut = (f"\n[output truncated: more than {agent.MAX_OUTPUT} characters while this check ran]\n"
               if len(learner_output) >= agent.MAX_OUTPUT else "")
        outputs.append(NotebookNode(output_type="stream", name="stdout",
                                    text="[printed by your code while this check ran]\n" + learner_output + cut))
    if not outcome.passed:
        error = error_output(outcome.ename, outcome.evalue)
        if outcome.learner_trace:
            error.traceback.append(LEARNER_FRAMES + "\n" + outcome.learner_trace)
        outputs.append(error)
    return outputs


def raised_names(cell: NotebookNode) -> dict[str, str]:
    """{name: "ename: evalue"} for the names a learner's exercise cell defines, if that cell raised (its names
    after the failing line were never bound); {} for any other cell."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors or not cell.metadata.get("nbgrader", {}).get("solution"):
        return {}
    try:
        names = checker.defined_names(ast.parse(cell.source))
    except SyntaxError:
        return {}
    return {name: error_line(errors[-1]) for name in names}


def explain_unbound(evalue: str, raised: dict[str, str]) -> str:
    """A check's message, with the reason in front when it says a name is not defined whose cell raised."""
    missing = re.search(r"name '(\w+)' is not defined", evalue)
    if not missing or missing.group(1) not in raised:
        return evalue
    name, why = missing.group(1), raised[missing.group(1)]
    why = why if len(why) <= 300 else why[:300] + " [...]"   # the learner's own message: it can be long
    note = f"{name} was never defined: its cell raised {why}"
    if why.startswith(("ModuleNotFoundError", "ImportError")):
        note += f". {INSTALLED}"
    return f"{note} ({evalue})"
