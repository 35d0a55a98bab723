"""What a grading run is told, in one frozen object built once (from the command line, and from an
instructor's `nbgrader_config.py`) and handed down to every stage. Light on purpose: no nbgrader, no kernels.
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CourseError
from .paths import SOLUTIONS


@dataclass(frozen=True)
class Limits:
    """What one notebook's kernel may use in the sandbox (sandbox.py)."""
    notebook_timeout: int = 600   # seconds for the whole notebook, kernel start included
    memory_mb: int = 4096         # RLIMIT_DATA: heap and anonymous memory of each process
    file_mb: int = 64             # RLIMIT_FSIZE: the largest file student code may write
    processes: int = 256          # RLIMIT_NPROC: processes and threads of the sandbox's uid
    tmp_mb: int = 256             # size of the private /tmp
    disk_mb: int = 512            # what the work folder may hold; more stops the notebook


@dataclass(frozen=True)
class GradeOptions:
    """How to grade: every setting of `grade`, `demo` and `catalogue` that reaches the workers."""
    cell_timeout: int = 60                  # seconds a single cell may run
    jobs: int | None = None                 # notebooks graded at once (None: one per CPU core)
    limits: Limits = field(default_factory=Limits)
    isolation: str = "auto"                 # "auto", "bwrap" or "none" (sandbox.isolation)
    kernels: str = "fork"                   # "fork" from a template, or "fresh" per notebook (forkserver.py)
    id_regex: str | None = None             # how to read student ids from an unknown layout (intake.py)
    shard: tuple[int, int] = (1, 1)         # grade shard i of n
    progress: bool = True                   # a progress bar and notes on the terminal
    solutions: Path = SOLUTIONS             # the course's source notebooks

    def but(self, **changes) -> GradeOptions:
        """A copy with `changes` (field names of GradeOptions, or of Limits)."""
        limit_names = {f.name for f in dataclasses.fields(Limits)}
        limits = {k: changes.pop(k) for k in list(changes) if k in limit_names}
        if limits:
            changes["limits"] = dataclasses.replace(changes.get("limits", self.limits), **limits)
        return dataclasses.replace(self, **changes)


#: what an instructor's nbgrader_config.py may set, and the option it sets
CONFIG_KEYS = {("Execute", "timeout"): "cell_timeout", ("SandboxedExecute", "isolation"): "isolation",
               ("SandboxedExecute", "kernels"): "kernels", ("SandboxedExecute", "limits"): "limits"}


def from_nbgrader_config(path: Path, base: GradeOptions | None = None) -> tuple[GradeOptions, list[str]]:
    """`base` with what `path` (an nbgrader_config.py) sets of CONFIG_KEYS; and the settings it has that the
    grader does not take from it (its pipeline, its folders), to say so."""
    from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

    base = base or GradeOptions()
    try:
        config = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
    except ConfigFileNotFound:
        return base, []
    except Exception as err:  # noqa: BLE001 - the instructor's Python: say what is wrong with it
        raise CourseError(f"{path} could not be read ({type(err).__name__}: {err}): fix it or move it away") from err
    changes: dict = {}
    ignored = []
    for section, values in config.items():
        for key, value in (values.items() if hasattr(values, "items") else []):
            name = CONFIG_KEYS.get((section, key))
            if name is None:
                ignored.append(f"c.{section}.{key}")
            elif name == "limits":
                unknown = set(value) - {f.name for f in dataclasses.fields(Limits)}
                if unknown:
                    raise CourseError(f"{path}: c.SandboxedExecute.limits has no {', '.join(sorted(unknown))} "
                                      f"(known: {', '.join(f.name for f in dataclasses.fields(Limits))})")
                changes.update(value)
            else:
                changes[name] = value
    return base.but(**changes), ignored


def from_args(args: argparse.Namespace, config: Path | None = None) -> tuple[GradeOptions, list[str]]:
    """The options of a `grade`, `demo` or `catalogue` command line: defaults, then `config` (an
    nbgrader_config.py; default: the one in the current folder, as nbgrader does), then what the command
    line gives (options left out are None there)."""
    options, ignored = from_nbgrader_config(config or getattr(args, "config", None) or Path("nbgrader_config.py"))
    given = {"cell_timeout": args.timeout, "jobs": args.jobs, "isolation": args.isolation,
             "kernels": args.kernels, "id_regex": getattr(args, "id_regex", None),
             "notebook_timeout": args.notebook_timeout, "memory_mb": args.memory, "disk_mb": args.disk,
             "progress": not getattr(args, "quiet", False)}
    return options.but(**{k: v for k, v in given.items() if v is not None}), ignored
