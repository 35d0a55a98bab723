"""The run stage: grading units of work (a student and one notebook) in worker processes.

Each worker grades in its own copy of the nbgrader course, so gradebooks never collide. A worker that dies
(a native crash, the machine's OOM killer) breaks its pool and fails every unit the pool still held: those
are graded again in a new pool, and those that were running when it died are graded again alone, so that
only the submission that kills its grading process again is recorded as "grader process died"; nobody else
loses a grade to it.
"""
from __future__ import annotations

import os
import resource
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import TypeVar

from . import forkserver, logs, workers
from .feedback import FeedbackWriter
from .intake import Submission
from .nbcourse import NbgraderCourse, nbgrader_config, share_gradebook_engines
from .options import GradeOptions
from .outcome import Outcome, Result
from .paths import ASSIGNMENT
from .preload import imports_of
from .progress import Progress, listen
from .student import grade_student

LOG = logs.LOG.getChild("grading")
T = TypeVar("T")
Unit = tuple[str, list[Submission]]   # (student_id, the notebooks graded together)

_worker: dict = {}
#: the memory (MiB) a grading process may take for its data (its soft RLIMIT_DATA; its kernels set their own). One
#: grading all 8 notebooks peaks at about 400; zmq bounds each part of a message from the kernel, not how many parts
#: one has, so a kernel could make the grader hold gigabytes (5.4 GB measured). Past this, zmq can't take such a
#: message and drops the connection (the cell says its output was lost). Grading in the command's own process
#: (`--jobs 1`, one student) may take this much more than it had (`_data_limit`).
WORKER_DATA_MB = 2048


def watchdog_s(limits) -> float:
    """How long a unit may take before the watchdog ends its worker: the notebook's time limit (the kernel is
    stopped there) and two minutes for the rest (nbgrader and the feedback page take a few seconds)."""
    return limits.notebook_timeout + 120.0


def _init_worker(base: Path, out: Path, options: GradeOptions, events=None, parent=None, data_mb: int = 0,
                 starts=None) -> None:
    if parent is not None:
        workers.adopt(*parent)
    if data_mb:
        _lower_data_limit(data_mb << 20)
    logs.worker_setup(out)
    share_gradebook_engines()
    root = Path(tempfile.mkdtemp(prefix="worker-", dir=base.parent))
    shutil.copytree(base, root, dirs_exist_ok=True)
    preload = imports_of(sorted((root / "release" / ASSIGNMENT).glob("*.ipynb")))
    course = NbgraderCourse(root, nbgrader_config(root, options, preload))
    if options.isolation == "bwrap" and options.kernels == "fork":   # its imports run while the first notebook is set up
        forkserver.start(options.limits, preload)
    _worker.update(course=course, out=out, feedback=FeedbackWriter(course.config.CourseDirectory.db_url), events=events,
                   starts=starts)


def _lower_data_limit(limit: int) -> tuple[int, int]:
    """Lower this process's soft RLIMIT_DATA to `limit` bytes (never raise it; the hard limit stays, so the kernels
    it starts can raise theirs to the notebook's limit). Returns the (soft, hard) limits it had."""
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if (soft == resource.RLIM_INFINITY or limit < soft) and (hard == resource.RLIM_INFINITY or limit <= hard):
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    return soft, hard


@contextmanager
def _data_limit(more_mb: int) -> Iterator[None]:
    """While grading in the command's own process: at most `more_mb` more of data than it has now (as a worker's
    limit), the limits it had restored after."""
    try:
        with open("/proc/self/status") as status:
            now = next(int(line.split()[1]) << 10 for line in status if line.startswith("VmData:"))
    except (OSError, StopIteration, ValueError):   # not Linux: no limit
        yield
        return
    before = _lower_data_limit(now + (more_mb << 20))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, before)


def _grade_in_worker(student_id: str, subs: list[Submission]) -> list[Result]:
    events = _worker.get("events")   # each notebook's start and end, to the progress bar in the main process
    if _worker.get("starts") is not None:   # which process grades this unit, for the watchdog (_Pool.round); in
        # the pipe before the grading starts (a Queue's thread sends later: a worker stopped before it never did)
        _worker["starts"].put((student_id, f"{os.getpid()} {subs[0].notebook}"))
    try:
        with listen(student_id, events.put if events is not None else None):
            return grade_student(_worker["course"], student_id, subs, _worker["out"], _worker["feedback"])
    except Exception as err:  # nbgrader itself broke on this submission: record it, keep going
        LOG.exception("%s: the grader failed", student_id)
        return [Result(student_id, s.notebook, 0.0, 0.0, f"not graded: grader error ({type(err).__name__}: {err}; "
                       f"traceback in logs/worker-{os.getpid()}.log)", outcome=Outcome.FAILED) for s in subs]


def _died(unit: Unit, overdue: bool) -> list[Result]:
    sid, subs = unit
    LOG.error("%s: the grading process %s twice, the second time grading only this", sid,
              "ran past the watchdog" if overdue else "died")
    what = "took too long (the grader ended it)" if overdue else "died"
    why = (f"not graded: the grading process {what} while grading this notebook, twice (the second time "
           "alone); see logs/ and grade it again by itself")
    return [Result(sid, s.notebook, 0.0, 0.0, why, outcome=Outcome.FAILED) for s in subs]


class _Pool:
    """Worker processes forked from multiprocessing's forkserver, which has imported the grader."""

    def __init__(self, base: Path, out: Path, options: GradeOptions, bar: Progress, jobs: int) -> None:
        self.ctx = workers.context(imports_of(sorted((base / "release" / ASSIGNMENT).glob("*.ipynb")), first_use=False))
        self.events, self.starts = self.ctx.Queue(), self.ctx.SimpleQueue()
        self.initargs = (base, out, options, self.events, workers.here(jobs), WORKER_DATA_MB, self.starts)
        self.bar = bar
        self.limit = watchdog_s(options.limits)
        self.overdue: set[tuple[str, str]] = set()   # (student_id, notebook) whose worker the watchdog ended
        self.started: dict[tuple[str, str], tuple[int, float]] = {}

    def _watch(self, units_left: set[tuple[str, str]]) -> None:
        """Take the workers' events; end the worker of a unit that runs past its time (a hung grader)."""
        self.bar.drain(self.events)
        while not self.starts.empty():
            sid, detail = self.starts.get()
            pid, notebook = detail.split(" ", 1)
            self.started[(sid, notebook)] = (int(pid), time.monotonic())
        for key in units_left & set(self.started):
            pid, t0 = self.started[key]
            if time.monotonic() - t0 > self.limit and key not in self.overdue:
                LOG.error("%s %s: still grading after %.0f s: ending its worker", *key, self.limit)
                self.overdue.add(key)
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def round(self, units: list[Unit], jobs: int, prepare: Callable[[], T] | None = None
              ) -> tuple[list[Result], list[Unit], list[Unit], T | None]:
        """Grade `units` in a new pool of `jobs` workers: (results, units failed as the pool broke, those of
        them that were running then, what `prepare` returned; it runs while the workers start)."""
        results: list[Result] = []
        failed: list[Unit] = []
        running: set[Future] = set()
        self.started.clear()
        with ProcessPoolExecutor(jobs, mp_context=self.ctx, initializer=_init_worker, initargs=self.initargs) as pool:
            for _ in range(jobs):   # start every worker now: each copies the course and starts its kernel template
                pool.submit(int)
            prepared = prepare() if prepare is not None else None
            futures = {pool.submit(_grade_in_worker, sid, subs): (sid, subs) for sid, subs in units}
            pending = set(futures)
            while pending:
                running = {f for f in pending if f.running()} or running
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                self._watch({(futures[f][0], futures[f][1][0].notebook) for f in pending})
                for fut in done:
                    try:
                        results.extend(fut.result())
                    except Exception:  # noqa: BLE001 - the worker process itself died
                        failed.append(futures[fut])
                        continue
                    self.bar.unit_done(*futures[fut])
        suspects = [futures[f] for f in running if futures[f] in failed] or failed
        return results, failed, suspects, prepared


def run_all(work: list[Unit], base: Path, out: Path, options: GradeOptions,
            prepare: Callable[[], T]) -> tuple[list[Result], T]:
    """Grade `work` in `options.jobs` processes; `prepare` (repairing, scanning) runs while the workers start.
    Returns the results and what `prepare` returned."""
    bar = Progress(work, options.progress)
    results: list[Result] = []
    if len(work) <= 1 or options.jobs == 1:   # in this process: no pool to start (a crash here ends the command)
        _init_worker(base, out, options)
        prepared = prepare()
        with _data_limit(WORKER_DATA_MB):
            for student_id, subs in work:
                with listen(student_id, lambda event: bar.event(*event)):
                    results.extend(_grade_in_worker(student_id, subs))
                bar.unit_done(student_id, subs)
        bar.close()
        return results, prepared
    jobs = min(options.jobs or workers.cores(), len(work))   # one per core this process may use (a Slurm job's)
    pool = _Pool(base, out, options, bar, jobs)
    results, failed, suspects, prepared = pool.round(work, jobs, prepare)
    while failed:
        for unit in suspects:   # alone in a pool of its own: if that one breaks too, this unit broke it
            pool.overdue.discard((unit[0], unit[1][0].notebook))
            again, lost, _, _ = pool.round([unit], 1)
            results += again + (_died(unit, (unit[0], unit[1][0].notebook) in pool.overdue) if lost else [])
            if lost:
                bar.unit_done(*unit)
        innocent = [u for u in failed if all(u is not s for s in suspects)]
        failed, suspects = [], []
        if innocent:
            more, failed, suspects, _ = pool.round(innocent, min(jobs, len(innocent)))
            results += more
    bar.close()
    return results, prepared  # type: ignore[return-value]
