"""One memory limit for a notebook and every process it starts: a memory cgroup, where the machine has one.

`RLIMIT_DATA` (sandbox.limit_args) limits each process; six children of one notebook could hold six times
the limit together. A cgroup limits them all at once: the grader puts the sandbox's first process (a fresh
kernel's bubblewrap, or a worker's kernel template, which runs one notebook at a time) into a group of its
own before it starts (`Group.wrap`), and every process started inside stays in it. When the group runs out, the kernel's OOM killer ends a
process in it, and the notebook's status says "ran out of memory".

cgroup v2 is used where this process's group delegates the memory controller to its children
(`memory` in `cgroup.subtree_control`; e.g. as root on a systemd machine, or under
`systemd-run --user -p Delegate=yes`); else cgroup v1's memory hierarchy where it is mounted and writable;
else there is no group, and the per-process limit is all there is (`grade` says which is in force).
"""
from __future__ import annotations

import os
import time
import uuid
from functools import lru_cache
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def _own_path(controller: str) -> str | None:
    """This process's cgroup path for `controller` ("" for the v2 unified hierarchy), from /proc/self/cgroup."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, names, path = line.split(":", 2)
        if names.split(",") == [controller] or (controller == "" and names == ""):
            return path
    return None


def _parent(kind: str) -> Path | None:
    if kind == "v2":
        path = _own_path("")
        root = CGROUP if (CGROUP / "cgroup.controllers").exists() else None
        if path is None or root is None:
            return None
        parent = root / path.lstrip("/")
        try:
            return parent if "memory" in (parent / "cgroup.subtree_control").read_text().split() else None
        except OSError:
            return None
    path = _own_path("memory")
    root = CGROUP / "memory"
    return root / path.lstrip("/") if path is not None and (root / "memory.limit_in_bytes").exists() else None


class Group:
    """A memory cgroup of its own, `limit_mb` for all its processes together."""

    def __init__(self, kind: str, parent: Path, limit_mb: int) -> None:
        self.kind, self.limit_mb = kind, limit_mb
        self.path = parent / f"mha-{uuid.uuid4().hex[:12]}"
        self.path.mkdir()
        limit = str(limit_mb << 20)
        if kind == "v2":
            (self.path / "memory.max").write_text(limit)
            _try_write(self.path / "memory.swap.max", "0")
        else:
            (self.path / "memory.limit_in_bytes").write_text(limit)
            _try_write(self.path / "memory.memsw.limit_in_bytes", limit)   # no swapping past the limit

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def wrap(self, cmd: list[str]) -> list[str]:
        """`cmd`, started by a shell that first moves itself into the group: every process it starts is then
        in the group from its first instruction (moving a running process leaves its children outside)."""
        return ["/bin/sh", "-c", 'echo $$ > "$0" 2>/dev/null; exec "$@"', str(self.path / "cgroup.procs"), *cmd]

    def oom_kills(self) -> int:
        """How many processes the OOM killer has ended in this group so far."""
        name = "memory.events" if self.kind == "v2" else "memory.oom_control"
        try:
            for line in (self.path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
            return 0
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        """Remove the group once its processes are gone (they were killed with the sandbox)."""
        for _ in range(20):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)


def _try_write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError:
        pass


@lru_cache(maxsize=1)
def kind() -> str | None:
    """"v2" or "v1" when a memory group can be made here (tried once, with a probe group), else None."""
    if os.environ.get("MHA_NO_CGROUP") == "1":
        return None
    for k in ("v2", "v1"):
        parent = _parent(k)
        if parent is None:
            continue
        try:
            Group(k, parent, 64).close()
            return k
        except OSError:
            continue
    return None


def group(limit_mb: int) -> Group | None:
    """A new group with this limit, or None where this machine has none to give (see `kind`)."""
    k = kind()
    if k is None:
        return None
    parent = _parent(k)
    try:
        return Group(k, parent, limit_mb) if parent is not None else None
    except OSError:
        return None


def describe(limit_mb: int) -> str:
    """Which memory limit is in force, in one line for the instructor."""
    k = kind()
    if k:
        return f"memory: {limit_mb} MiB per notebook, all its processes together (cgroup {k})"
    return (f"memory: {limit_mb} MiB per process (RLIMIT_DATA) only: no memory cgroup can be made here, so a "
            "notebook's processes together may use more (see the README, Isolation, for the stronger limit)")
