"""Build submissions the way a learner would: the released notebook with its exercise cells filled in.

Used by the demo (`python -m autograder demo`), the wrong-answer catalogue and the tests.
"""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

import nbformat

from .paths import COURSE, SOLUTIONS
from .errors import CourseError

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def read_notebook(path: Path, copied: bool = True) -> nbformat.NotebookNode:
    """The notebook at `path`, read and validated once while the file stays the same (the tests and the catalogue
    build a few thousand submissions from the same eight notebooks): a copy of its own, unless not `copied`
    (then the caller must not change it)."""
    stat = path.stat()
    nb = _parsed(path.resolve(), stat.st_mtime_ns, stat.st_size)
    return copy.deepcopy(nb) if copied else nb


@lru_cache(maxsize=64)
def _parsed(path: Path, mtime_ns: int, size: int) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def reference_answers(notebook: str, solutions: Path = SOLUTIONS) -> dict[str, str]:
    """{solution grade_id: the cell as a learner who got it right would leave it} for one notebook."""
    nb = read_notebook(solutions / notebook, copied=False)
    answers = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            lines = [ln for ln in cell.source.splitlines() if ln.strip() not in (BEGIN, END)]
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


def fill(notebook: str, answers: dict[str, str] | None = None, blank: bool = False,
         course: Path = COURSE, solutions: Path = SOLUTIONS) -> nbformat.NotebookNode:
    """The released `notebook` with every exercise answered: by `answers` where given, else correctly.

    With `blank=True` only the cells in `answers` are filled; the others keep their stubs.
    """
    answers = dict(answers or {})
    unknown = set(answers) - set(reference_answers(notebook, solutions))
    if unknown:
        raise KeyError(f"{notebook} has no exercise cell(s) {sorted(unknown)}")
    if not blank:
        answers = {**reference_answers(notebook, solutions), **answers}
    nb = read_notebook(course / notebook)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and gid in answers:
            cell.source = answers[gid]
    return nb


def write_submission(folder: Path, student_id: str, notebook: str, nb: nbformat.NotebookNode | str) -> Path:
    """Save `nb` (a notebook, or raw text for broken files) as folder/student_id/notebook."""
    path = folder / student_id / notebook
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, str):
        path.write_text(nb, encoding="utf-8")
    else:
        nbformat.write(nb, path)
    return path


#: The built-in sample class for the demo: what each student handed in for notebook 01, and why.
SAMPLE_CLASS: dict[str, dict] = {
    "ada": {"why": "everything right, all notebooks handed in", "answers": {}, "all_notebooks": True},
    "ben": {"why": "reshaped straight to (num_heads, n, d_k), without the transpose",
            "answers": {"split_heads": "def split_heads(X, num_heads):\n"
                        "    *batch, n, d_model = X.shape\n"
                        "    d_k = head_dim(d_model, num_heads)\n"
                        "    return X.reshape(*batch, num_heads, n, d_k)\n"}},
    "cleo": {"why": "no divisibility check: integer division drops the remainder",
             "answers": {"head_dim": "def head_dim(d_model, num_heads):\n    return d_model // num_heads\n"}},
    "dan": {"why": "correct, written with a stack of column slices",
            "answers": {"split_heads": "def split_heads(X, num_heads):\n"
                        "    d_k = head_dim(X.shape[-1], num_heads)\n"
                        "    return np.stack([X[..., i*d_k:(i+1)*d_k] for i in range(num_heads)], axis=-3)\n"}},
    "eve": {"why": "handed in the notebook without doing the exercises", "blank": True},
    "finn": {"why": "the file got corrupted on upload (invalid JSON)", "broken": True},
}


def write_sample_class(folder: Path, notebooks: list[str]) -> dict[str, str]:
    """Write the sample submissions into `folder`; return {student_id: what they did}."""
    first = notebooks[0]
    for student, spec in SAMPLE_CLASS.items():
        if spec.get("broken"):
            text = nbformat.writes(fill(first))
            write_submission(folder, student, first, text[: len(text) // 2])
            continue
        for name in (notebooks if spec.get("all_notebooks") else [first]):
            nb = fill(name, spec.get("answers") if name == first else None, blank=spec.get("blank", False))
            write_submission(folder, student, name, nb)
    return {s: spec["why"] for s, spec in SAMPLE_CLASS.items()}


def load_catalogue(path: Path) -> dict:
    """Read a wrong-answer catalogue file (plain Python data: NOTEBOOK, WRONG, CORRECT)."""
    scope: dict = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), scope)  # our own data file
    for key in ("NOTEBOOK", "WRONG", "CORRECT"):
        if key not in scope:
            raise CourseError(f"{path} must define {key}")
    return {k: scope[k] for k in ("NOTEBOOK", "WRONG", "CORRECT")}


def write_catalogue(folder: Path, catalogue: dict) -> dict[str, dict]:
    """One submission per catalogue case, as student `<kind>-<name>`; returns {student_id: case}."""
    cases = {}
    for kind in ("WRONG", "CORRECT"):
        for case in catalogue[kind]:
            student = f"{kind.lower()}-{case['name']}"
            write_submission(folder, student, catalogue["NOTEBOOK"], fill(catalogue["NOTEBOOK"], case["answers"]))
            cases[student] = {**case, "kind": kind}
    return cases


def check_catalogue(cases: dict[str, dict], results: list) -> list[str]:
    """Compare graded catalogue cases with what they should get; returns the list of problems."""
    problems = []
    by_student = {r.student_id: r for r in results}
    for student, case in cases.items():
        r = by_student.get(student)
        if r is None:
            problems.append(f"{student}: no result")
        elif case["kind"] == "CORRECT":
            if r.score != r.max_score or not r.graded:
                problems.append(f"{student}: a correct answer got {r.score:g}/{r.max_score:g} ({r.status}); "
                                f"failed: {json.dumps(r.failed)}")
        else:
            if r.score >= r.max_score:
                problems.append(f"{student}: a wrong answer kept full marks")
            for gid in sorted(set(r.failed) - set(case["fails"])):   # one mistake, one deduction
                problems.append(f"{student}: {gid} lost points too ({r.failed[gid]!r}); the catalogue says only "
                                f"{sorted(case['fails'])} may")
            for gid, text in case["fails"].items():
                if gid not in r.failed:
                    problems.append(f"{student}: expected {gid} to lose points, but it passed")
                elif text.lower() not in r.failed[gid].lower():
                    problems.append(f"{student}: {gid} failed with {r.failed[gid]!r}, "
                                    f"which does not mention {text!r}")
    return problems
