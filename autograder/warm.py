"""Imported once by the process that grading workers are forked from (multiprocessing's forkserver,
workers.py), before it forks any: what every worker would otherwise import on its first notebook.

That is the grader itself, the gradebook's SQLite dialect, ipykernel's kernel spec, and the modules that the
graded notebooks import, named in the environment variable `workers.WARM_ENV` by `workers.context` (a worker's
checker runs the notebooks' locked cells, so `import torch` is a second in every worker otherwise). Each import
may fail, with any exception: the worker then imports it itself, or reports what went wrong, as it would without
this.
(multiprocessing's own preloading survives only an ImportError: an `OSError` of a broken install would
stop the forkserver, and with it every worker.)

The cyclic garbage collector is paused while they import (it walked the growing heap again and again: 15% of
the CPU that importing PyTorch, Matplotlib, ipykernel and nbgrader takes), and what they made is then frozen:
it lives as long as the workers do, so their own collections need not walk it.
"""
from __future__ import annotations

import gc
import os

from .workers import WARM_ENV

GRADER_MODULES = ("autograder.grading", "autograder.checklevel", "sqlalchemy.dialects.sqlite", "ipykernel.kernelspec")


def _import_all(names) -> None:
    for name in names:
        try:
            __import__(name)
        except BaseException:  # noqa: BLE001,S110 - imported (or reported) by the worker that needs it instead
            pass


gc.disable()
try:
    _import_all([*GRADER_MODULES, *filter(None, os.environ.get(WARM_ENV, "").split(","))])
finally:
    gc.freeze()
    gc.enable()
