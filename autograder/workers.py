"""The processes that grade: forked from one clean process that has imported the grader.

Each grading worker (grading.py) and check-level session (checklevel.py) used to start a new Python that
spent a second and a half importing nbgrader before its first notebook. Here multiprocessing's forkserver
imports the grader once, single-threaded and before any kernel or zmq socket exists, and forks every worker
from it: never the process that asked, which may hold threads, zmq and asyncio state. A forked worker takes
the environment and working folder of the process that starts it (`here`, `adopt`), as a new Python would.
"""
from __future__ import annotations

import multiprocessing
import os
import select
import sys
import tempfile
import threading
from multiprocessing import util
from typing import Iterable

#: warm.py imports the grader, and what every worker's first notebook would import otherwise.
PRELOAD = ["autograder.warm"]
#: the modules the graded notebooks import, comma-separated, for warm.py in the forkserver
WARM_ENV = "MHA_GRADER_WARM"


def context(modules: Iterable[str] = ()) -> multiprocessing.context.BaseContext:
    """The forkserver context; `modules` (what the notebooks to grade import) are imported there too, by
    warm.py, if this call's process has not started its forkserver yet."""
    os.environ[WARM_ENV] = ",".join(sorted(modules))   # the forkserver starts with this environment
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)   # read when the forkserver starts: this process's first pool
    return ctx


#: the threads PyTorch, OpenMP and BLAS start in a worker and in its kernels (set by the instructor, or `here`)
THREADS_ENV = "OMP_NUM_THREADS"


def cores() -> int:
    """The cores this process may run on (a Slurm job or `taskset` may give it fewer than the machine has)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def here(jobs: int = 1) -> tuple[dict[str, str], str, int]:
    """What a worker takes from the process that starts it now: its environment and working folder. With
    `jobs` workers, each gets its share of the cores for its threads: a kernel's PyTorch otherwise starts one
    thread per core, and `jobs` kernels at once fight over the cores (notebook 04's checks took a quarter more
    CPU time, and longer, with two threads per kernel on 2 cores than with one). An instructor's
    OMP_NUM_THREADS is kept. The last item is this process's pid: the worker ends when this process does."""
    env = dict(os.environ)
    if jobs > 1 and THREADS_ENV not in env:
        env[THREADS_ENV] = str(max(1, cores() // jobs))
    return env, os.getcwd(), os.getpid()


def end_with(pid: int) -> None:
    """End this process as soon as process `pid` has ended. A pool's workers otherwise outlive a command killed
    by SIGTERM (`timeout`, `kill`) for ever, each with its sandbox: they wait on a queue whose writing end they
    hold themselves, and the forkserver waits for them. Kernel templates and fresh kernels end with their worker
    (bubblewrap's --die-with-parent)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:   # it has ended already
        os._exit(1)
    except (AttributeError, OSError):   # no pidfds here (before Linux 5.3): no watch
        return

    def watch() -> None:
        select.select([fd], [], [])   # readable once the process has ended
        os._exit(1)

    threading.Thread(target=watch, name="end-with-command", daemon=True).start()


def adopt(env: dict[str, str], cwd: str, pid: int) -> None:
    """In a new worker: take `here()`'s environment and folder, end when its process ends, and close this
    worker's kernel templates when it ends (a forked worker ends without running `atexit`)."""
    end_with(pid)
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None   # found again from TMPDIR, as a new Python would
    os.chdir(cwd)
    threads = env.get(THREADS_ENV, "")
    if threads.isdigit() and int(threads) > 0 and "torch" in sys.modules:   # imported by the forkserver (warm.py)
        sys.modules["torch"].set_num_threads(int(threads))
    from . import forkserver

    util.Finalize(None, forkserver.close_all, exitpriority=10)
