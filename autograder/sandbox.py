"""Run each notebook's kernel in a sandbox: bubblewrap, resource limits, a whole-notebook time limit.

The kernel is started as

    bwrap <namespaces, read-only system and Python, a private work folder> --
      prlimit <memory, file size, processes> -- setpriv <a uid of its own> -- python -m ipykernel_launcher

so that student code sees only its own work folder (a copy of its notebook) and a read-only Python,
has no network (the kernel's ZMQ sockets use IPC files in the work folder, not TCP), and dies with every
process it started when the kernel is stopped (a PID namespace). With a template (forkserver.py) the
same sandbox runs `python -c <zygote.py>` instead, which forks the kernels, one notebook at a time.
The command line itself is built in jail.py. Where bubblewrap is missing or does not work, the kernel runs
with the resource limits only, and `isolation()` says so loudly.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type

from . import bounds, memlimit
from .jail import (PASS_ENV, bwrap_args, bwrap_works, describe_exit, disk_use, kernel_env,  # noqa: F401
                   limit_args, new_workdir, sandbox_uid, seed_font_cache)
from .options import Limits
from .stderrlog import StderrTail
from .errors import CourseError


def isolation(mode: str = "auto") -> str:
    """"bwrap" or "none" for `mode` "auto" / "bwrap" / "none"; "bwrap" when it doesn't work is an error."""
    if mode == "none":
        return "none"
    if bwrap_works():
        return "bwrap"
    if mode == "bwrap":
        raise CourseError("--isolation bwrap: bubblewrap is not installed or cannot create namespaces here "
                         "(Debian/Ubuntu: apt-get install bubblewrap)")
    return "none"


WARNING = ("WARNING: bubblewrap (bwrap) is not available, so student code runs WITHOUT a sandbox: it can read "
           "the solutions, the hidden tests and other students' files, and use the network. Only resource "
           "limits apply. Install it (Debian/Ubuntu: apt-get install bubblewrap) before grading a real class.")


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel in the sandbox and enforces the notebook time limit.
    With a `template` (forkserver.py) the kernel is forked in the template's sandbox instead."""

    # the output channel's bounds (iopub.py): a learner's flood can't fill the grader's memory
    client_class = DottedObjectName("autograder.iopub.BoundedClient")
    client_factory = Type(klass="autograder.iopub.BoundedClient")
    limits: Limits = Limits()
    sandboxed: bool = True
    notebook_file: Path | None = None   # copied into the work folder
    template = None                     # a forkserver.Template, or None: a fresh sandbox per kernel
    #: why the watcher killed the kernel: "ran past the notebook time limit (...)", "filled ..." or None
    stopped_because: str | None = None
    _workdir: Path | None = None
    _done: threading.Event | None = None

    def connect_control(self, identity: bytes | None = None):
        """The manager's own channel to the kernel (shutdown, interrupt): bounded like the client's (iopub.py)."""
        return bounds.bounded(self.context, lambda: super(SandboxKernelManager, self).connect_control(identity),
                             bounds.MAX_MESSAGE)

    def configure(self, limits: Limits, sandboxed: bool, notebook_file: Path | None, template=None) -> None:
        self.limits, self.sandboxed, self.notebook_file, self.template = limits, sandboxed, notebook_file, template

    def _make_workdir(self) -> Path:
        work = self.template.slot if self.template else new_workdir()
        if not self.template:   # a forked kernel has the template's fonts already
            seed_font_cache(work)
        if self.notebook_file and self.notebook_file.exists():
            shutil.copy2(self.notebook_file, work / self.notebook_file.name)
        return work

    # The one private API the grader relies on (pinned jupyter_client; tests/test_architecture.py checks it is
    # there): it is where jupyter_client makes the provisioner, and a forked kernel needs the template's own
    # provisioner per kernel, which the public route (a provisioner named in the kernel spec, registered as a
    # package entry point) cannot hand an object to.
    async def _async_pre_start_kernel(self, **kw):  # type: ignore[override]
        if self.template is not None and self.provisioner is None:   # the template forks the kernel
            self.kernel_id = self.kernel_id or str(uuid.uuid4())
            self.provisioner = self.template.provisioner(self.kernel_id, self.kernel_spec, self)
        return await super()._async_pre_start_kernel(**kw)

    async def start_kernel(self, **kw):  # type: ignore[override]
        self._workdir = self._make_workdir()
        self.transport = "ipc"                      # unix sockets: they work without a network
        self.ip = str(self._workdir / ".kernel")
        self.connection_file = str(self._workdir / ".kernel.json")
        kw["cwd"] = str(self._workdir)
        kw.setdefault("stdout", subprocess.DEVNULL)   # what matters comes over the kernel's sockets
        self._stderr = None if self.template else StderrTail()   # a forked kernel writes to its template's
        if self._stderr is not None:
            kw.setdefault("stderr", self._stderr.fd)
        try:
            await super().start_kernel(**kw)
        finally:
            if self._stderr is not None:
                self._stderr.close_writer()
        self._memory, self._oom_before = self._memory_group(), 0
        if self._memory is not None:
            self._oom_before = self._memory.oom_kills()
        self._done = threading.Event()
        threading.Thread(target=self._watch, args=(self._done,), daemon=True).start()

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        assert self._workdir is not None
        uid = (self.template.uid if self.template else sandbox_uid()) if os.geteuid() == 0 else None
        if uid is not None:   # the kernel must own its work folder and read its connection file
            for path in [self._workdir, *self._workdir.iterdir()]:
                os.chown(path, uid, uid)
        if self.template:     # the template's sandbox and limits are already in place
            return cmd
        prefix = limit_args(self.limits, uid)
        if self.sandboxed:
            prefix = bwrap_args(self._workdir, self.limits, kernel_env(self._workdir)) + prefix
        self._own_memory = memlimit.group(self.limits.memory_mb)
        return self._own_memory.wrap(prefix + cmd) if self._own_memory is not None else prefix + cmd

    def _memory_group(self):
        """The memory cgroup of this notebook (memlimit.py): the template's, or the fresh kernel's own."""
        return self.template.memory if self.template is not None else getattr(self, "_own_memory", None)

    def out_of_memory(self) -> bool:
        """Did the OOM killer end a process of this notebook (its memory group ran out)?"""
        group = getattr(self, "_memory", None)
        return group is not None and group.oom_kills() > self._oom_before

    @property
    def expired(self) -> bool:
        return bool(self.stopped_because)

    def _watch(self, done: threading.Event) -> None:
        """Kill the kernel when the notebook runs out of time or its work folder holds more than disk_mb.
        Checked twice a second: a fast writer can overshoot by what it writes in that time."""
        deadline = time.monotonic() + self.limits.notebook_timeout
        while not done.wait(0.5):
            if time.monotonic() > deadline:
                self.stopped_because = f"ran past the notebook time limit ({self.limits.notebook_timeout} s)"
            elif self._workdir and disk_use(self._workdir) > self.limits.disk_mb << 20:
                self.stopped_because = f"filled its work folder (more than {self.limits.disk_mb} MiB written)"
            if self.stopped_because:
                self.hard_kill()
                return

    def hard_kill(self) -> None:
        """SIGKILL the kernel and everything it started: its sandbox's PID namespace goes (a fresh
        kernel), or the template kills every process in its sandbox but itself (a forked one)."""
        if self.template is not None:
            self.template.reset()
            return
        process = getattr(self.provisioner, "process", None)
        if process is None:
            return
        for kill in (lambda: os.killpg(process.pid, signal.SIGKILL), lambda: process.kill()):
            try:
                kill()
            except (OSError, ProcessLookupError):
                pass
        try:
            process.wait(timeout=10)
        except Exception:  # noqa: BLE001 - the kernel is gone or unkillable; nothing else to do
            pass

    def exit_status(self) -> int | None:
        process = getattr(self.provisioner, "process", None)
        return None if process is None else process.poll()

    async def cleanup_resources(self, restart: bool = False) -> None:  # type: ignore[override]
        if self._done:
            self._done.set()
        await super().cleanup_resources(restart)
        name = self.notebook_file.name if self.notebook_file else "a notebook"
        if self.template is not None:
            self.template.stderr.flush(f"the kernel template, while {name} ran")
        elif getattr(self, "_stderr", None) is not None:
            self._stderr.wait_closed(1.0)
            self._stderr.flush(f"the kernel of {name}")
        own = getattr(self, "_own_memory", None)
        if own is not None and not restart:
            own.close()
            self._own_memory = None
        if self.template is not None and not restart:
            self.template.reset()   # nothing of this notebook is left for the next one
        elif self._workdir and not restart:
            shutil.rmtree(self._workdir, ignore_errors=True)
