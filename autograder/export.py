"""`python -m autograder export OUT FILE --format canvas|moodle|csv`: grades back to the LMS.

Reads a `grade --out` (or `merge --out`) folder's details.json: one row per student, one column per course
notebook in it, and a total. Students are identified by what their LMS download said about them
(`Result.identity`, from lms.py):
- canvas: Canvas's gradebook import ("Import" in the Gradebook): the columns `Student, ID, SIS User ID,
  SIS Login ID, Section` its own export has, then one column per notebook; a second row `Points Possible`
  gives each notebook's maximum; the total is `Final Points`, a column of Canvas's export that its import
  reads as read-only (Canvas computes it). `ID` is the Canvas user id from the file names
  (`smithjane_12345_...`); a student from another layout gets their id in `SIS Login ID` instead.
- moodle: an assignment's offline grading worksheet ("Upload grading worksheet"): `Identifier` is
  `Participant N` (N from the download's folder `Jane Smith_N_assignsubmission_file_`), `Grade` the total,
  `Last modified (grade)` the time of export, then `Full name`, one column per notebook, `Maximum Grade`
  and `Feedback comments` (read when the assignment has feedback comments on). Students without a
  participant id can't be in it: they are listed on stderr.
- csv: every identifier known, one column per notebook, total and maximum: for a gradebook import that maps
  columns itself (Moodle's "Import grades from CSV": map `student_id` to username, email or ID number).
A notebook a student did not hand in is left empty (an import leaves that grade as it was); a file handed in
but not gradable counts 0, as in grades.csv.
"""
from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

from .merge import read_details
from .outcome import Result
from .paths import SOLUTIONS, notebook_names
from .results import csv_cell
from .errors import CourseError

FORMATS = ("canvas", "moodle", "csv")
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_TOTAL = "Final Points"
MOODLE_PARTICIPANT = "Participant "


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def table(results: list[Result], known: list[str]) -> tuple[list[str], dict[str, dict], dict[str, float]]:
    """(the course notebooks graded, {student: {"identity": ..., "scores": {notebook: score}}}, {notebook: max})."""
    notebooks = sorted({r.notebook for r in results if r.notebook in known})
    maxima = {nb: max((r.max_score for r in results if r.notebook == nb), default=0.0) for nb in notebooks}
    students: dict[str, dict] = {}
    for r in results:
        if r.student_id == "?" or r.notebook not in known:
            continue
        row = students.setdefault(r.student_id, {"identity": {}, "scores": {}})
        row["identity"] = row["identity"] or dict(r.identity)
        row["scores"][r.notebook] = r.score
    return notebooks, students, maxima


def _column(notebook: str) -> str:
    return notebook.removesuffix(".ipynb")


def canvas(notebooks: list[str], students: dict, maxima: dict) -> tuple[list[list[str]], list[str]]:
    rows = [CANVAS_HEADER + [_column(nb) for nb in notebooks] + [CANVAS_TOTAL],
            ["    Points Possible", "", "", "", ""] + [_fmt(maxima[nb]) for nb in notebooks]
            + [_fmt(sum(maxima.values()))]]
    for student, row in sorted(students.items()):
        ident, scores = row["identity"], row["scores"]
        uid = ident.get("canvas_user_id", "")
        rows.append([ident.get("name", student) if uid else student, uid, "", "" if uid else student, ""]
                    + [_fmt(scores.get(nb)) for nb in notebooks] + [_fmt(sum(scores.values()))])
    return rows, []


def moodle(notebooks: list[str], students: dict, maxima: dict) -> tuple[list[list[str]], list[str]]:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    rows = [["Identifier", "Full name"] + [_column(nb) for nb in notebooks]
            + ["Grade", "Maximum Grade", "Last modified (grade)", "Feedback comments"]]
    left_out = []
    for student, row in sorted(students.items()):
        ident, scores = row["identity"], row["scores"]
        pid = ident.get("moodle_participant_id")
        if not pid:
            left_out.append(student)
            continue
        comment = "; ".join(f"{_column(nb)} {_fmt(scores[nb])}/{_fmt(maxima[nb])}" for nb in notebooks if nb in scores)
        rows.append([MOODLE_PARTICIPANT + pid, ident.get("name", student)] + [_fmt(scores.get(nb)) for nb in notebooks]
                    + [_fmt(sum(scores.values())), _fmt(sum(maxima.values())), stamp, comment])
    return rows, left_out


def plain(notebooks: list[str], students: dict, maxima: dict) -> tuple[list[list[str]], list[str]]:
    rows = [["student_id", "lms", "canvas_user_id", "moodle_participant_id", "name"] + [_column(nb) for nb in notebooks]
            + ["total", "max_total"]]
    for student, row in sorted(students.items()):
        ident, scores = row["identity"], row["scores"]
        rows.append([student, ident.get("lms", ""), ident.get("canvas_user_id", ""), ident.get("moodle_participant_id", ""),
                     ident.get("name", "")] + [_fmt(scores.get(nb)) for nb in notebooks]
                    + [_fmt(sum(scores.values())), _fmt(sum(maxima.values()))])
    return rows, []


WRITERS = {"canvas": canvas, "moodle": moodle, "csv": plain}


def export(out: Path, dest: Path, fmt: str, solutions: Path = SOLUTIONS) -> list[str]:
    """Write `dest` in `fmt` from the grading output folder `out`; returns the students left out."""
    notebooks, students, maxima = table(read_details(out), notebook_names(solutions))
    if not notebooks:
        raise CourseError(f"{out} holds no graded course notebook: nothing to export")
    rows, left_out = WRITERS[fmt](notebooks, students, maxima)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([[csv_cell(str(v)) for v in row] for row in rows])
    if left_out:
        print(f"left out of the Moodle worksheet, no Moodle participant id (not from a Moodle download): "
              f"{', '.join(left_out)}", file=sys.stderr)
    return left_out
