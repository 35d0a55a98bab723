"""One student's notebooks, in a grading worker: nbgrader's autograde, the results read back from the
gradebook and the graded notebooks (the checker's verdicts are the scores), and the feedback pages."""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import nbformat

from . import logs
from .feedback import FeedbackWriter
from .intake import Submission, safe_id
from .nbcourse import NbgraderCourse
from .outcome import NOT_RUN, STOPPED, Outcome, Result, cell_label, error_line, verdicts
from .paths import ASSIGNMENT
from .results import page_path

LOG = logs.LOG.getChild("grading")


def _cell_errors(nb: nbformat.NotebookNode) -> tuple[dict[str, str], list[str], str | None]:
    """Errors in the graded notebook: ({test grade_id: error}, [problems in the learner's own cells],
    why the notebook was stopped, if it was: a timeout, a crash, memory; see execute.py)."""
    tests, others, fatal = {}, [], None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not errors:
            continue
        meta = cell.metadata.get("nbgrader", {})
        stopped = [o for o in errors if o.get("ename") == STOPPED]
        if stopped and fatal is None:
            fatal = f"{cell_label(nb.cells, index)} {stopped[-1].get('evalue', '')}"
        if meta.get("grade"):
            tests[meta["grade_id"]] = error_line(errors[-1])
        else:
            name = cell_label(nb.cells, index)
            kind = "timed out" if errors[-1].get("ename") == "CellTimeoutError" else f"raised {errors[-1].get('ename')}"
            if not stopped and errors[-1].get("ename") != NOT_RUN:
                others.append(f"{name} {kind}")
    return tests, others, fatal


def max_score(course: NbgraderCourse, notebook: str) -> float:
    nb = nbformat.read(course.release_dir() / notebook, as_version=4)
    return float(sum(c.metadata.get("nbgrader", {}).get("points", 0) for c in nb.cells
                     if c.metadata.get("nbgrader", {}).get("grade")))


def _read_results(course: NbgraderCourse, student_id: str, subs: list[Submission], log: str) -> list[Result]:
    key = safe_id(student_id)   # nbgrader's folders and gradebook see the safe form; the Result keeps the id
    from nbgrader.api import Gradebook, MissingEntry

    results = []
    with Gradebook(course.config.CourseDirectory.db_url) as gb:
        for sub in subs:
            stem = Path(sub.notebook).stem
            graded = course.autograded_notebook(key, sub.notebook)
            try:
                entry = gb.find_submission_notebook(stem, ASSIGNMENT, key)
            except MissingEntry:
                entry = None
            if entry is None or not graded.exists():
                why = log.strip().splitlines()[-1] if log.strip() else "nbgrader produced no graded notebook"
                results.append(Result(student_id, sub.notebook, 0.0, max_score(course, sub.notebook),
                                      f"not graded: autograde failed ({why})", outcome=Outcome.FAILED))
                continue
            graded_nb = nbformat.read(graded, as_version=4)
            tests, others, fatal = _cell_errors(graded_nb)
            judged = verdicts(graded_nb)
            for g in entry.grades:   # the checker's verdict is the score, whatever nbgrader read from outputs
                if g.name in judged and g.max_score:
                    passed = bool(judged[g.name].get("passed"))
                    g.auto_score, g.manual_score = (float(g.max_score) if passed else 0.0), None
                    if not passed:
                        tests[g.name] = str(judged[g.name].get("error", ""))
            gb.db.commit()
            cells = {g.name: [float(g.score or 0), float(g.max_score)] for g in entry.grades if g.max_score}
            failed = {gid: tests.get(gid, "lost points") for gid, (s, m) in cells.items() if s < m}
            status = "graded" + "".join(f"; {x}" for x in [*others, fatal] if x)
            if fatal:   # the notebook scores 0: say so in the gradebook too, so its feedback page agrees
                for g in entry.grades:
                    g.auto_score, g.manual_score = 0.0, None
                gb.db.commit()
                cells = {gid: [0.0, m] for gid, (_, m) in cells.items()}
            score = 0.0 if fatal else float(entry.score)
            results.append(Result(student_id, sub.notebook, score, float(entry.max_score), status, failed, cells,
                                  outcome=Outcome.STOPPED if fatal else Outcome.GRADED, errors=others))
    return results


def grade_student(course: NbgraderCourse, student_id: str, subs: list[Submission], out: Path,
                  feedback: FeedbackWriter) -> list[Result]:
    """Autograde one student's readable notebooks; write their feedback to out/feedback/<student_id>/."""
    key = safe_id(student_id)   # `josé`, `Jane Doe`: nbgrader and the file system get a safe form
    target = course.submitted_dir(key)
    shutil.rmtree(target, ignore_errors=True)   # this worker may have graded another notebook of theirs before
    target.mkdir(parents=True)
    for sub in subs:
        nbformat.write(sub.nb, target / sub.notebook)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        LOG.info("%s: grading %s", student_id, ", ".join(s.notebook for s in subs))
        done = course.api.autograde(ASSIGNMENT, key, force=True, create=True)
        if done.get("log", "").strip() or done.get("error", "").strip():
            LOG.debug("%s: nbgrader autograde said:\n%s%s", student_id, done.get("log", ""), done.get("error", ""))
        results = _read_results(course, student_id, subs, done.get("error", "") + done.get("log", ""))
        for r in results:
            graded = course.autograded_notebook(key, r.notebook)
            if r.outcome in (Outcome.GRADED, Outcome.STOPPED) and graded.exists():
                dest = page_path(out, key, Path(r.notebook).stem + ".html")
                try:
                    feedback.write(str(graded), key, ASSIGNMENT, str(dest))
                    r.feedback = str(dest.relative_to(out))
                except Exception as err:  # noqa: BLE001 - the grade stands without its page
                    LOG.exception("%s %s: writing the feedback page failed", student_id, r.notebook)
                    r.status += f"; no feedback page ({type(err).__name__}: {err})"
            LOG.info("%s %s: %g/%g, %s", student_id, r.notebook, r.score, r.max_score, r.status)
    return results
