"""Grade a folder of submissions with nbgrader: autograde, feedback, and one result per notebook."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import warnings
import zlib
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import TypeVar

import nbformat

from . import forkserver, logs, memlimit, repair, sandbox, scan, workers
from .feedback import FeedbackWriter
from .preload import imports_of
from .gradebook import write_gradebook
from .intake import Submission, collect, safe_id
from .nbcourse import NbgraderCourse, build_course, nbgrader_config, share_gradebook_engines
from .outcome import NOT_RUN, NOT_SANDBOXED, STOPPED, Outcome, Result, cell_label, error_line, verdicts
from .progress import Progress, listen
from .paths import ASSIGNMENT, COURSE, notebook_names
from .options import GradeOptions

LOG = logs.LOG.getChild("grading")
T = TypeVar("T")
Notes = dict[tuple[str, str], list[str]]   # {(student_id, notebook): notes}


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


def _max_scores(course: NbgraderCourse, notebook: str) -> float:
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
                results.append(Result(student_id, sub.notebook, 0.0, _max_scores(course, sub.notebook),
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
                dest = out / "feedback" / key / (Path(r.notebook).stem + ".html")
                try:
                    feedback.write(str(graded), key, ASSIGNMENT, str(dest))
                    r.feedback = str(dest.relative_to(out))
                except Exception as err:  # noqa: BLE001 - the grade stands without its page
                    LOG.exception("%s %s: writing the feedback page failed", student_id, r.notebook)
                    r.status += f"; no feedback page ({type(err).__name__}: {err})"
            LOG.info("%s %s: %g/%g, %s", student_id, r.notebook, r.score, r.max_score, r.status)
    return results


# Each worker process grades in its own copy of the nbgrader course, so gradebooks never collide.
_worker: dict = {}


def _init_worker(base: Path, out: Path, options: GradeOptions, events=None, parent=None) -> None:
    if parent is not None:
        workers.adopt(*parent)
    logs.worker_setup(out)
    share_gradebook_engines()
    root = Path(tempfile.mkdtemp(prefix="worker-", dir=base.parent))
    shutil.copytree(base, root, dirs_exist_ok=True)
    preload = imports_of(sorted((root / "release" / ASSIGNMENT).glob("*.ipynb")))
    course = NbgraderCourse(root, nbgrader_config(root, options, preload))
    if options.isolation == "bwrap" and options.kernels == "fork":   # its imports run while the first notebook is set up
        forkserver.start(options.limits, preload)
    _worker.update(course=course, out=out, feedback=FeedbackWriter(course.config.CourseDirectory.db_url), events=events)


def _grade_in_worker(student_id: str, subs: list[Submission]) -> list[Result]:
    events = _worker.get("events")   # each notebook's start and end, to the progress bar in the main process
    try:
        with listen(student_id, events.put if events is not None else None):
            return grade_student(_worker["course"], student_id, subs, _worker["out"], _worker["feedback"])
    except Exception as err:  # nbgrader itself broke on this submission: record it, keep going
        LOG.exception("%s: the grader failed", student_id)
        return [Result(student_id, s.notebook, 0.0, 0.0, f"not graded: grader error ({type(err).__name__}: {err}; "
                       f"traceback in logs/worker-{os.getpid()}.log)", outcome=Outcome.FAILED) for s in subs]


def _run_all(work: list[tuple[str, list[Submission]]], base: Path, out: Path, options: GradeOptions,
             prepare: Callable[[], T]) -> tuple[list[Result], T]:
    """Grade `work` in `options.jobs` processes; `prepare` (repairing, scanning) runs while the workers start.
    Returns the results and what `prepare` returned."""
    bar = Progress(work, options.progress)
    results: list[Result] = []
    jobs = min(options.jobs or os.cpu_count() or 1, len(work) or 1)
    if jobs <= 1 or len(work) <= 1:
        _init_worker(base, out, options)
        prepared = prepare()
        for student_id, subs in work:
            with listen(student_id, lambda event: bar.event(*event)):
                results.extend(_grade_in_worker(student_id, subs))
            bar.unit_done(student_id, subs)
    else:
        ctx = workers.context(imports_of(sorted((base / "release" / ASSIGNMENT).glob("*.ipynb")), first_use=False))
        events = ctx.Queue()
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker,
                                 initargs=(base, out, options, events, workers.here())) as pool:
            for _ in range(jobs):   # start every worker now: each copies the course and starts its kernel template
                pool.submit(int)
            prepared = prepare()
            futures = {pool.submit(_grade_in_worker, sid, subs): (sid, subs) for sid, subs in work}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                bar.drain(events)
                for fut in done:
                    sid, subs = futures[fut]
                    try:
                        results.extend(fut.result())
                    except Exception as err:  # the worker process itself died
                        LOG.error("%s: the grading process died: %r", sid, err)
                        results.extend(Result(sid, s.notebook, 0.0, 0.0, f"not graded: grader process died ({err})",
                                              outcome=Outcome.FAILED) for s in subs)
                    bar.unit_done(sid, subs)
    bar.close()
    return results, prepared


def _prepare(subs: list[Submission], course: NbgraderCourse, handed_in: list[str]) -> tuple[Notes, Notes]:
    """The repair and scan stages, on every readable submission: ({(student, notebook): repairs made},
    {(student, notebook): flags for the instructor})."""
    repairs = _repair_all(subs, course)
    released = {name: scan.released_sources(course.release_dir() / name, COURSE / name) for name in handed_in}
    flags = {(s.student_id, s.notebook): s.notes + (
        scan.scan_notebook(s.nb, released[s.notebook]) if s.nb is not None and s.notebook in released else [])
        for s in subs}
    return repairs, flags


def _annotate(results: list[Result], subs: list[Submission], repairs: Notes, flags: Notes, options: GradeOptions,
              max_scores: dict[str, float]) -> list[Result]:
    """What grading knows beyond the scores, on each row: the LMS identity, repairs, flags, the maximum."""
    identities = {s.student_id: s.identity for s in subs if s.identity}
    for r in results:
        r.identity = identities.get(r.student_id, {})
        r.flags = flags.get((r.student_id, r.notebook), []) + r.flags
        r.repairs = repairs.get((r.student_id, r.notebook), [])
        if options.isolation == "none" and r.outcome in (Outcome.GRADED, Outcome.STOPPED):
            r.flags.append(NOT_SANDBOXED)
        if not r.max_score:
            r.max_score = max_scores.get(r.notebook, 0.0)
    return sorted(results, key=lambda r: (r.student_id, r.notebook))


def _units(subs: list[Submission]) -> list[tuple[str, list[Submission]]]:
    """One unit of work per readable notebook, so that one student's notebooks grade in parallel; the later
    (longer) notebooks first, so that no long one starts last."""
    return sorted(((s.student_id, [s]) for s in subs if not s.problem), key=lambda unit: unit[1][0].notebook,
                  reverse=True)


def _repair_all(subs: list[Submission], course: NbgraderCourse) -> dict[tuple[str, str], list[str]]:
    """Match every readable submission back to its released notebook (repair.py), in place; the repairs
    go into a note atop the notebook, so the student's feedback says what was done before grading."""
    done = {}
    released = {}
    for sub in subs:
        if sub.nb is None or sub.problem:
            continue
        if sub.notebook not in released:
            released[sub.notebook] = nbformat.read(course.release_dir() / sub.notebook, as_version=4)
        sub.nb, notes = repair.repair(sub.nb, released[sub.notebook])
        if notes:
            sub.nb.cells.insert(0, nbformat.v4.new_markdown_cell(
                "**Repaired before grading.** Your notebook was matched back to the released one:\n\n"
                + "\n".join(f"- {n}" for n in notes), id="grader-repairs"))
            done[(sub.student_id, sub.notebook)] = notes
    return done


def in_shard(student_id: str, shard: tuple[int, int]) -> bool:
    """Is this student in shard i of n (1-based)? A stable hash, so every shard job agrees."""
    i, n = shard
    return n <= 1 or zlib.crc32(student_id.encode()) % n == i - 1


def grade(submissions: Path, out: Path, options: GradeOptions | None = None, **changes) -> list[Result]:
    """Grade every `submissions/<student_id>/<notebook>.ipynb` as `options` say (options.py; `changes`: a copy
    with these fields changed, e.g. `jobs=1`).

    Kernels run in the bubblewrap sandbox with `options.limits`; isolation "none" (or "auto" without a
    working bwrap) runs them with the resource limits only, warns, and flags every row. Kernels "fork"
    forks them from a template per worker that has imported the notebooks' modules (forkserver.py);
    "fresh" starts a new sandbox and Python for every notebook.
    """
    options = (options or GradeOptions()).but(**changes)
    options = options.but(isolation=sandbox.isolation(options.isolation))
    solutions, limits = options.solutions, options.limits
    if options.isolation == "none":
        print(sandbox.WARNING, file=sys.stderr)
    if options.progress:
        print(memlimit.describe(limits.memory_mb), file=sys.stderr)
    known = notebook_names(solutions)
    subs = [s for s in collect(submissions, known, options.id_regex) if in_shard(s.student_id, options.shard)]
    if not subs:
        return []
    out.mkdir(parents=True, exist_ok=True)
    logs.to_file(out, "grade")
    LOG.info("grading %d files from %s into %s (%s)", len(subs), submissions, out, options)
    os.environ["MHA_FAST"] = "1"   # notebooks shrink their experiments under grading
    refused = [Result(s.student_id, s.notebook, 0.0, 0.0, s.problem, outcome=Outcome.REFUSED) for s in subs if s.problem]
    with tempfile.TemporaryDirectory(prefix="mha-grade-") as tmp:
        handed_in = sorted({s.notebook for s in subs if s.notebook in known}) or known
        course = build_course(Path(tmp) / "base", solutions, only=handed_in)
        max_scores = {name: _max_scores(course, name) for name in handed_in}
        graded, (repairs, flags) = _run_all(_units(subs), course.root, out, options,
                                            lambda: _prepare(subs, course, handed_in))
        results = _annotate(refused + graded, subs, repairs, flags, options, max_scores)
        write_gradebook(results, course.root / "gradebook.db", out)
    return results
