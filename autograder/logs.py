"""Where grading writes what it did: `OUT/logs/`, one file per process, and the terminal with `-v`.

`grade.log` is the main process (intake, repairs, the pool); `worker-<pid>.log` is one grading worker
(each notebook's start and outcome, nbgrader's own log of the autograde, and the traceback of anything
that failed in the grader, where the grade table only has room for one line). Logs are for the
instructor and the maintainer: nothing in them is read back. A run into an OUT that already has logs moves
them to `OUT/logs/earlier/` first (`start_run`): the logs a status names are this run's.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

LOG = logging.getLogger("autograder")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def folder(out: Path) -> Path:
    return out / "logs"


def start_run(out: Path) -> Path:
    """In the command's process, before any worker starts: move the logs an earlier run into `out` left to
    `OUT/logs/earlier/` (replacing the run before it), so that this run's files hold only this run (a worker
    that got an earlier worker's pid appended to its file), then log this process to `OUT/logs/grade.log`."""
    here = folder(out)
    old = sorted(here.glob("*.log")) if here.is_dir() else []
    if old:
        earlier = here / "earlier"
        shutil.rmtree(earlier, ignore_errors=True)
        earlier.mkdir()
        for path in old:
            path.replace(earlier / path.name)
    return to_file(out, "grade")


def to_file(out: Path, name: str) -> Path:
    """Send this process's autograder log (DEBUG and up) to `OUT/logs/<name>.log`; returns the file."""
    path = folder(out) / f"{name}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    for handler in list(LOG.handlers):   # a worker that is reused for another run writes to the new OUT
        if isinstance(handler, logging.FileHandler):
            LOG.removeHandler(handler)
            handler.close()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(logging.DEBUG)
    LOG.addHandler(handler)
    LOG.setLevel(logging.DEBUG)
    LOG.propagate = False
    return path


def to_terminal(verbose: int) -> None:
    """`-v`: what the log files get at INFO on stderr too; `-vv`: DEBUG."""
    if not verbose:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    LOG.addHandler(handler)
    LOG.setLevel(logging.DEBUG)
    LOG.propagate = False
    os.environ["MHA_VERBOSE"] = str(verbose)   # spawned workers read it (worker_setup)


def worker_setup(out: Path) -> Path:
    """In a grading worker: its own file, and the terminal too when the command was run with -v."""
    verbose = int(os.environ.get("MHA_VERBOSE", "0") or 0)
    if verbose and not any(isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
                           for h in LOG.handlers):
        to_terminal(verbose)
    return to_file(out, f"worker-{os.getpid()}")
