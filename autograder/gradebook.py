"""One nbgrader gradebook for the whole class: OUT/gradebook.db.

Every grading worker (and every shard) autogrades in its own nbgrader course, so that no two processes
ever write to one SQLite file. Afterwards the scores are written into a single gradebook made from the
release's: the same assignment, notebooks and cells, one submission per student, each test cell's score
as nbgrader's `auto_score`. nbgrader's own tools (`nbgrader export`, formgrader, `nbgrader db student
list`) can then use it like the gradebook of a sequential `nbgrader autograde`.
"""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

from .names import safe_id, valid_id
from .outcome import Result
from .paths import ASSIGNMENT


def write_gradebook(results: list[Result], release_db: Path, out: Path) -> Path:
    """Copy the release's gradebook to out/gradebook.db and add every graded notebook's scores.

    A notebook that was stopped (a timeout, a crash) scores 0 in grades.csv; its cells get 0 here too,
    so the two always agree; so does a notebook the student did not hand in (or handed in unreadable), next
    to one that was graded. No cell waits for manual grading: the course has no manually graded part.
    A student none of whose files could be graded is in the gradebook without a submission (nbgrader's export
    gives them 0); a file whose owner is unknown adds no one.
    """
    from nbgrader.api import Gradebook

    path = out / "gradebook.db"
    path.unlink(missing_ok=True)
    shutil.copy2(release_db, path)
    by_student: dict[str, list[Result]] = {}
    for r in results:
        if r.cells:
            by_student.setdefault(r.student_id, []).append(r)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(f"sqlite:///{path}") as gb:
            known = {nb.name for nb in gb.find_assignment(ASSIGNMENT).notebooks}
            for student_id in sorted({r.student_id for r in results if valid_id(r.student_id)} - set(by_student)):
                gb.update_or_create_student(safe_id(student_id))
            for student_id, rows in sorted(by_student.items()):
                gb.update_or_create_student(safe_id(student_id))
                submission = gb.add_submission(ASSIGNMENT, safe_id(student_id))
                notebooks = {nb.name: nb for nb in submission.notebooks}
                handed_in = {Path(r.notebook).stem: r for r in rows if Path(r.notebook).stem in known}
                for stem, notebook in notebooks.items():
                    r = handed_in.get(stem)
                    for grade in notebook.grades:   # a notebook not handed in scores 0, like in grades.csv
                        score, _ = r.cells.get(grade.name, [0.0, 0.0]) if r else (0.0, 0.0)
                        grade.auto_score = score if r and r.score > 0 else 0.0
                        grade.needs_manual_grade = False   # the course has no manually graded part
            gb.db.commit()
    return path
