"""Grade a folder of submissions with nbgrader: autograde, feedback, and one result per notebook."""
from __future__ import annotations

import sys
import tempfile
import zlib
from pathlib import Path

import nbformat

from . import jail, logs, memlimit, notice, repair, sandbox, scan
from .errors import CourseError
from .gradebook import write_gradebook
from .intake import Submission, collect
from .nbcourse import NbgraderCourse, build_course
from .options import GradeOptions
from .outcome import NOT_SANDBOXED, Outcome, Result
from .paths import COURSE, notebook_names
from .pool import run_all
from .student import max_score

LOG = logs.LOG.getChild("grading")
Notes = dict[tuple[str, str], list[str]]   # {(student_id, notebook): notes}


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


def _write_notices(results: list[Result], known: list[str], out: Path) -> None:
    """A page for each course notebook handed in but not graded (notice.py), so every such student has one."""
    for r in results:
        if notice.applies(r, known):
            try:
                r.feedback = notice.write(r, out)
            except OSError:
                LOG.exception("%s %s: writing the not-graded page failed", r.student_id, r.notebook)


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


def _check_out(submissions: Path, out: Path) -> None:
    """OUT is a folder (made if missing) outside SUBMISSIONS: inside it, the next run would grade its own output
    as submissions, and a student's folder would fill with the class's pages."""
    if out.exists() and not out.is_dir():
        raise CourseError(f"--out {out} is a file: give a folder for the grades (it is made if it doesn't exist)")
    where = submissions.resolve()
    if submissions.is_dir() and (out.resolve() == where or where in out.resolve().parents):
        raise CourseError(f"--out {out} is inside the submissions folder {submissions}: the next run would grade "
                          f"this run's output as submissions. Choose a folder outside it, e.g. --out "
                          f"{where.parent / (where.name + '-graded')}")


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
    _check_out(submissions, out)
    subs = [s for s in collect(submissions, known, options.id_regex) if in_shard(s.student_id, options.shard)]
    if not subs:
        return []
    out.mkdir(parents=True, exist_ok=True)
    logs.start_run(out)
    LOG.info("grading %d files from %s into %s (%s)", len(subs), submissions, out, options)
    jail.set_notebook_env()
    refused = [Result(s.student_id, s.notebook, 0.0, 0.0, s.problem, outcome=Outcome.REFUSED) for s in subs if s.problem]
    with tempfile.TemporaryDirectory(prefix="mha-grade-") as tmp:
        handed_in = sorted({s.notebook for s in subs if s.notebook in known}) or known
        course = build_course(Path(tmp) / "base", solutions, only=handed_in)
        max_scores = {name: max_score(course, name) for name in handed_in}
        graded, (repairs, flags) = run_all(_units(subs), course.root, out, options,
                                            lambda: _prepare(subs, course, handed_in))
        results = _annotate(refused + graded, subs, repairs, flags, options, max_scores)
        _write_notices(results, known, out)
        write_gradebook(results, course.root / "gradebook.db", out)
    return results
