"""`python -m autograder export-nbgrader DIR`: this course as a standard nbgrader course directory.

For a course that already runs nbgrader on JupyterHub (exchange, formgrader, `nbgrader collect`): DIR gets
`source/<assignment>/<notebook>.ipynb` for each notebook (one nbgrader assignment per notebook, named by its
stem, so each can be released, collected and graded on its own date) and an `nbgrader_config.py` with the
settings this course's grading relies on. The source notebooks are `solutions/` as they are, plus the
learner's self-check cell as `release` writes it (visible checks only). Grading there is nbgrader's own: the
checks run in the learner's kernel, without this package's sandbox, repair or checker (README: nbgrader users).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from .nbcourse import CODE_STUB
from .paths import COURSE, SOLUTIONS, notebook_names
from .selfcheck import CELL_ID
from .errors import CourseError

CONFIG = '''# nbgrader settings for mha-course (written by `python -m autograder export-nbgrader`).
# Assignments: one per notebook, in source/<assignment>/. Release with formgrader or
# `nbgrader generate_assignment 01_projections` then `nbgrader release_assignment 01_projections`.
import os

c = get_config()  # noqa: F821 - nbgrader defines it
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# What a learner sees in place of a removed solution (the course's wording).
c.ClearSolutions.code_stub = {{"python": {stub!r}}}
# A locked cell a learner deleted is put back from the release when grading.
c.OverwriteCells.add_missing_cells = True
# Seconds a cell may run when autograding (the notebooks' own cells take a few seconds each).
c.Execute.timeout = {timeout}
# Notebooks shrink their experiments (training steps, timing sweeps) under grading, as the course's grader does.
os.environ.setdefault("MHA_FAST", "1")
'''


def _self_check_cells(notebook: str, course: Path) -> list:
    """The self-check cells of the released notebook (built from its visible checks only), if released."""
    path = course / notebook
    if not path.is_file():
        return []
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.get("id") in (CELL_ID + "-intro", CELL_ID)]


def export_nbgrader(dest: Path, solutions: Path = SOLUTIONS, course: Path = COURSE, course_id: str = "mha-course",
                    timeout: int = 60) -> list[str]:
    """Write the nbgrader course directory `dest`; returns the assignment names. Refuses to overwrite a
    source notebook that differs from what it would write (someone's edits)."""
    names = notebook_names(solutions)
    if not names:
        raise CourseError(f"no notebooks in {solutions}")
    dest.mkdir(parents=True, exist_ok=True)
    assignments = []
    for name in names:
        assignment = Path(name).stem
        nb = nbformat.read(solutions / name, as_version=4)
        nb.cells += _self_check_cells(name, course)
        text = nbformat.writes(nb) + "\n"
        target = dest / "source" / assignment / name
        if target.exists() and target.read_text(encoding="utf-8") != text:
            raise CourseError(f"{target} exists and differs from solutions/{name}: move it away first")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        assignments.append(assignment)
    config = dest / "nbgrader_config.py"
    if not config.exists():   # an existing course keeps its own settings (exchange, db_url, ...)
        config.write_text(CONFIG.format(course_id=course_id, stub=CODE_STUB, timeout=timeout), encoding="utf-8")
    for extra in ("requirements.txt", "environment.yml"):   # what the hub's image needs to run the notebooks
        if (solutions.parent / extra).is_file():
            shutil.copy2(solutions.parent / extra, dest / extra)
    return assignments
