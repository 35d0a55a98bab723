"""A feedback page for a notebook that was handed in but not graded: why, and what to do.

A graded (or stopped) notebook gets nbgrader's feedback page from its worker (student.py). A course notebook
that could not be graded (refused: not valid JSON, too large, not a notebook the format allows; or failed: the
grader itself failed on it) gets this short page at the same place, `feedback/<safe id>/<notebook>.html`, so
that every student who handed in a course notebook has a page to be sent. Files that are no course notebook,
or whose owner is unknown, get no page: they are the instructor's to look at (the report lists them).
"""
from __future__ import annotations

import html
from pathlib import Path

from .names import safe_id, valid_id
from .outcome import Outcome, Result
from .results import page_path

#: what the learner reads first, and what they can do, by outcome (the row's status follows, as details)
WHY = {
    Outcome.REFUSED: "The grader could not read this file as {notebook}.",
    Outcome.FAILED: "The grader failed while grading this file: this is the grader's problem to fix, not yours.",
}
TO_DO = {
    Outcome.REFUSED: ("Open your {notebook} in Jupyter or Colab and save it (File, Save); where the details say what "
                      "to change (clear the outputs, delete cells), do that first. If it does not open, download "
                      "{notebook} from the course again, copy your answers into it and save it. Hand in the saved "
                      "file and ask your instructor to grade it again."),
    Outcome.FAILED: ("Nothing, unless your instructor asks: they have the details in the grading log and can "
                     "grade it again."),
}

#: added to the advice when the row's file was chosen among several handed in for the notebook (intake._winner)
SET_ASIDE = (" You handed in more than one file for this notebook, and the grader takes one (the latest resubmission, "
             "or else the newest file): the one named after 'graded' under 'Also', which it could not read; the "
             "others were set aside. Hand in only the copy you want graded.")


def _set_aside(r: Result) -> bool:
    return any(" files for " in flag and ", set aside " in flag for flag in r.flags)


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{notebook}: not graded</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:48em;margin:2em auto;padding:0 1em;line-height:1.5}}
.why{{background:#fdecea;border-left:4px solid #c62828;padding:.5em 1em}}
code{{overflow-wrap:anywhere;white-space:pre-wrap}}</style>
</head><body>
<h1>{notebook}: not graded</h1>
<p>Student: {student}. Score: <strong>0 / {max_score}</strong>.</p>
<div class="why"><p>{why}</p><p>Details: <code>{details}</code></p>{notes}</div>
<h2>What to do</h2>
<p>{to_do}</p>
</body></html>
"""


def applies(r: Result, notebooks: list[str]) -> bool:
    """Does this row get a notice: a course notebook of a known student, refused or failed, with no page yet?"""
    return r.outcome in TO_DO and not r.feedback and r.notebook in notebooks and valid_id(r.student_id)


def write(r: Result, out: Path) -> str:
    """Write the notice for `r` under `out`; its path relative to `out` (what `Result.feedback` holds)."""
    dest = page_path(out, safe_id(r.student_id), Path(r.notebook).stem + ".html")
    dest.write_text(PAGE.format(
        notebook=html.escape(r.notebook), student=html.escape(r.student_id), max_score=f"{r.max_score:g}",
        why=html.escape(WHY[r.outcome].format(notebook=r.notebook)), details=html.escape(r.status),
        notes="".join(f"<p>Also: <code>{html.escape(flag)}</code></p>" for flag in r.flags),
        to_do=html.escape(TO_DO[r.outcome].format(notebook=r.notebook) + (SET_ASIDE if _set_aside(r) else ""))),
        encoding="utf-8")
    return str(dest.relative_to(out))
