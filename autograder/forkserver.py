"""Start kernels by forking a template that has already imported what the notebooks import.

A fresh kernel spends about a second of CPU importing ipykernel, numpy and matplotlib (torch: more),
the same for every notebook. Each grading worker instead keeps one `Template`: a sandbox like the one
a fresh kernel gets (bubblewrap, resource limits, its own uid, no network, see sandbox.py) in which
`zygote.py` imports the released notebooks' modules once and then forks a kernel for each notebook.
Between notebooks the template kills every other process in its sandbox and the work folder is
emptied; a template that does not answer is thrown away with its whole sandbox and a new one started.
`ForkProvisioner` is the jupyter_client provisioner that hands nbclient such a forked kernel.
"""
from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from . import memlimit, zygote
from .stderrlog import StderrTail
from .jail import bwrap_args, kernel_env, limit_args, new_workdir, sandbox_uid, seed_font_cache
from .options import Limits

SOURCE = Path(zygote.__file__).read_text(encoding="utf-8")
READY_TIMEOUT = 120   # seconds the template may take to import its modules (torch on a busy machine)


class Template:
    """One sandbox whose Python forks kernels on request (zygote.py), talked to over its stdin/stdout."""

    def __init__(self, limits: Limits, preload: list[str]) -> None:
        self.limits, self.preload = limits, preload
        self.slot = new_workdir()
        self.uid = sandbox_uid() if os.geteuid() == 0 else None
        if self.uid is not None:
            os.chown(self.slot, self.uid, self.uid)
        seed_font_cache(self.slot, self.uid)
        cmd = (bwrap_args(self.slot, limits, kernel_env(self.slot)) + limit_args(limits, self.uid)
               + [sys.executable, "-c", SOURCE, json.dumps(preload)])
        # one notebook at a time runs here: the group's limit is the notebook's, all its processes together
        self.memory = memlimit.group(limits.memory_mb)
        if self.memory is not None:
            cmd = self.memory.wrap(cmd)
        self.stderr = StderrTail()   # the template's and its kernels' stderr, for the worker's log
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr.fd, start_new_session=True)
        self.stderr.close_writer()
        self._cond = threading.Condition()
        self._write = threading.Lock()
        self._replies: dict[int, dict] = {}
        self._exits: dict[int, int] = {}
        self._ready = self._dead = False
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            with self._cond:
                if "exit" in message:
                    self._exits[int(message["exit"])] = int(message["status"])
                elif "ready" in message:
                    self._ready = True
                else:   # a new kernel may have the pid of one that exited before: forget that exit
                    self._exits.pop(message.get("pid"), None)
                    self._replies[message.get("id")] = message
                self._cond.notify_all()
        with self._cond:
            self._dead = True
            self._cond.notify_all()

    def wait_ready(self) -> bool:
        """Has the template imported its modules and said so (False: it died, or hangs past READY_TIMEOUT)?"""
        with self._cond:
            return self._cond.wait_for(lambda: self._ready or self._dead, READY_TIMEOUT) and not self._dead

    @property
    def alive(self) -> bool:
        return not self._dead and self.proc.poll() is None

    def request(self, op: str, timeout: float = 5.0, **fields: Any) -> dict | None:
        """The template's answer, or None when it is dead or did not answer within `timeout` seconds
        (student code stopped it, say): then it is closed, with its sandbox and every kernel in it."""
        reply, rid = None, None
        if self.wait_ready():
            with self._cond:
                self._next_id += 1
                rid = self._next_id
        if rid is not None:
            try:
                with self._write:
                    assert self.proc.stdin is not None
                    self.proc.stdin.write((json.dumps({"op": op, "id": rid, **fields}) + "\n").encode())
                    self.proc.stdin.flush()
                with self._cond:
                    self._cond.wait_for(lambda: rid in self._replies or self._dead, timeout)
                    reply = self._replies.pop(rid, None)
            except (OSError, ValueError):
                pass
        if reply is None:
            self.close()
        return reply

    def spawn(self, argv: list[str]) -> int | None:
        reply = self.request("spawn", argv=argv, cwd=str(self.slot))
        return int(reply["pid"]) if reply and "pid" in reply else None

    def returncode(self, pid: int) -> int | None:
        """A forked kernel's exit status (Popen's convention), None while it runs."""
        with self._cond:
            if pid in self._exits:
                return self._exits[pid]
        if not self.alive:   # the template's sandbox is gone, and every kernel in it with it
            return -signal.SIGKILL
        return None

    def signal(self, pid: int, signum: int) -> None:
        self.request("signal", pid=pid, sig=int(signum))

    def reset(self) -> bool:
        """Kill every process in the sandbox but the template and empty the work folder; False when
        that failed, and the template (with its sandbox) has been closed."""
        reply = self.request("reset", timeout=5, within=3)
        if reply and reply.get("ok") and self._empty_slot():
            return True
        self.close()
        return False

    def _empty_slot(self) -> bool:
        def writable(func, path, _exc):   # a folder the student made read-only
            os.chmod(os.path.dirname(path), 0o700)
            func(path)

        try:
            os.chmod(self.slot, 0o700)   # student code owns it, and may have changed that
            for entry in list(self.slot.iterdir()):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, onerror=writable)
                else:
                    entry.unlink(missing_ok=True)
            return not any(self.slot.iterdir())
        except OSError:
            return False

    def provisioner(self, kernel_id: str, kernel_spec, parent) -> ForkProvisioner:
        """What jupyter_client starts the kernel with: a fork of this template, not a new process."""
        made = ForkProvisioner(kernel_id=kernel_id, kernel_spec=kernel_spec, parent=parent)
        made.template = self
        return made

    def close(self) -> None:
        with self._cond:
            self._dead = True
            self._cond.notify_all()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        shutil.rmtree(self.slot, ignore_errors=True)
        if self.memory is not None:
            self.memory.close()
        self.stderr.wait_closed(2)   # read what it wrote before it died (a kernel it forked may still hold the pipe)
        self.stderr.flush("the kernel template, at its end")


_templates: dict[tuple[Limits, tuple[str, ...]], Template] = {}
_unstartable: set[tuple[Limits, tuple[str, ...]]] = set()


def start(limits: Limits, preload: list[str]) -> Template:
    """This process's template for these limits, started now (importing in the background) unless running."""
    key = (limits, tuple(preload))
    current = _templates.get(key)
    if current is None or not current.alive:
        if current is not None:
            current.close()
        current = _templates[key] = Template(limits, list(preload))
    return current


def ready_template(limits: Limits, preload: list[str]) -> Template | None:
    """This process's template for these limits, ready to fork: started (or restarted, after student
    code killed it) as needed. None when one never got ready here: this worker then starts its kernels
    fresh, without waiting for a template again."""
    key = (limits, tuple(preload))
    if key in _unstartable:
        return None
    current = start(limits, preload)
    if current.wait_ready():
        return current
    current.close()
    _unstartable.add(key)
    print(f"warning: the kernel template (forked kernels) did not start in worker {os.getpid()}: "
          "its notebooks get fresh kernels", file=sys.stderr)
    return None


@atexit.register
def close_all() -> None:
    for t in _templates.values():
        t.close()


class ForkedKernel:
    """What jupyter_client needs of a kernel process (Popen's poll, wait, signals) for a forked kernel."""

    stdin = stdout = stderr = None

    def __init__(self, template: Template, pid: int) -> None:
        self.template, self.pid = template, pid

    def poll(self) -> int | None:
        return self.template.returncode(self.pid)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0)
            time.sleep(0.02)
        return code

    def send_signal(self, signum: int) -> None:
        self.template.signal(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """Launches the kernel by asking the worker's template to fork one (instead of running kernel_cmd)."""

    template: Template | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):  # type: ignore[override]
        if "ipykernel_launcher" not in cmd or self.template is None:
            raise RuntimeError(f"can't fork this kernel (not an IPython kernel command: {cmd})")
        pid = self.template.spawn(cmd[cmd.index("ipykernel_launcher") + 1:])
        if pid is None:
            raise RuntimeError("the kernel template did not start a kernel (its sandbox died)")
        self.process = ForkedKernel(self.template, pid)  # type: ignore[assignment]
        self.pid, self.pgid, self.cwd = pid, None, kwargs.get("cwd")
        return self.connection_info

    async def kill(self, restart: bool = False) -> None:
        """SIGKILL, then wait (at most 1 s) until the template reports the exit: the kernel manager checks right
        after, and sleeps 0.1 s for each check that still finds the kernel alive."""
        await super().kill(restart)
        for _ in range(100):
            if self.process is None or self.process.poll() is not None:
                return
            await asyncio.sleep(0.01)

    async def wait(self) -> int | None:
        """LocalProvisioner's wait, polling every 10 ms instead of 100 (a forked kernel's exit is quick)."""
        if self.process is None:
            return 0
        while (code := self.process.poll()) is None:
            await asyncio.sleep(0.01)
        self.process = None
        return code
