"""Run each notebook's kernel in a sandbox: bubblewrap, resource limits, a whole-notebook time limit.

The kernel is started as

    bwrap <namespaces, read-only system and Python, a private work folder> --
      prlimit <memory, file size, processes> -- setpriv <a uid of its own> -- python -m ipykernel_launcher

so that student code sees only its own work folder (a copy of its notebook) and a read-only Python,
has no network (the kernel's ZMQ sockets use IPC files in the work folder, not TCP), and dies with every
process it started when the kernel is stopped (a PID namespace). With a template (forkserver.py) the
same sandbox runs `python -c <zygote.py>` instead, which forks the kernels, one notebook at a time.
Where bubblewrap is missing or does not work, the kernel runs with the resource limits only, and
`isolation()` says so loudly.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from functools import lru_cache
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type

from . import memlimit
from .options import Limits
from .stderrlog import StderrTail
from .errors import CourseError


#: Environment variables a kernel keeps (everything else, secrets included, is dropped).
PASS_ENV = ("MHA_FAST", "LANG", "LC_ALL", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
            "OPENBLAS_NUM_THREADS", "PYTHONHASHSEED", "CUDA_VISIBLE_DEVICES")
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf",
        "hosts", "alternatives", "fonts")


@lru_cache(maxsize=1)
def bwrap_works() -> bool:
    """Is bubblewrap installed, and can it make the namespaces we need here?"""
    exe = shutil.which("bwrap")
    if not exe:
        return False
    probe = [exe, "--unshare-pid", "--unshare-net", "--die-with-parent", "--ro-bind", "/", "/", "true"]
    if os.geteuid() != 0:
        probe.insert(1, "--unshare-user")
    try:
        return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


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


def sandbox_uid() -> int:
    """A uid of the sandbox's own, so that the process limit counts only its processes."""
    return 1_900_000_000 + os.getpid() % 1_000_000


def new_workdir() -> Path:
    """A new, empty work folder that only its owner can enter, under a folder that others can't list."""
    base = Path(tempfile.gettempdir()) / "mha-sandboxes"
    base.mkdir(mode=0o711, exist_ok=True)
    os.chmod(base, 0o711)
    work = Path(tempfile.mkdtemp(prefix="nb-", dir=base))
    os.chmod(work, 0o700)
    return work


def _read_only_paths() -> list[str]:
    paths = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
             sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parent.parent),
             "/sys/devices/system/cpu"]
    paths += [f"/etc/{name}" for name in _ETC]
    seen: list[str] = []
    for p in paths:
        if os.path.lexists(p) and p not in seen:
            seen.append(p)
    return seen


def _dirs(path: str, made: set[str]) -> list[str]:
    """bwrap arguments that create `path`'s parent folders readable by all (bwrap's default is 0700)."""
    args: list[str] = []
    parts = Path(path).parent.parts
    for i in range(2, len(parts) + 1):
        d = str(Path(*parts[:i]))
        if d not in made:
            made.add(d)
            args += ["--perms", "0755", "--dir", d]
    return args


def bwrap_args(workdir: Path, limits: Limits, env: dict[str, str]) -> list[str]:
    args = [shutil.which("bwrap") or "bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--clearenv"]
    if os.geteuid() != 0:
        args.append("--unshare-user")
    # /tmp first: a Python or venv that lives under /tmp (a CI checkout) is bound on top of it below.
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(limits.tmp_mb << 20), "--tmpfs", "/tmp"]
    made: set[str] = {"/", "/tmp"}
    for p in _read_only_paths():
        if os.path.islink(p) and not p.startswith(("/etc", "/sys")):
            args += [*_dirs(p, made), "--symlink", os.readlink(p), p]
        else:
            args += [*_dirs(p, made), "--ro-bind", p, p]
        made.add(p)
    for dev in sorted(Path("/dev").glob("nvidia*")):   # GPU notebooks keep the GPU
        args += ["--dev-bind", str(dev), str(dev)]
    args += [*_dirs(str(workdir), made), "--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args + ["--"]


def limit_args(limits: Limits, uid: int | None) -> list[str]:
    """prlimit (and, as root, setpriv to an unprivileged uid) in front of the kernel command."""
    args = [shutil.which("prlimit") or "prlimit", f"--data={limits.memory_mb << 20}",
            f"--fsize={limits.file_mb << 20}", f"--nproc={limits.processes}", "--core=0", "--"]
    if uid is not None and shutil.which("setpriv"):
        args += [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--"]
    return args


def kernel_env(workdir: Path) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    env.update(HOME=str(workdir), MPLCONFIGDIR=str(workdir / ".matplotlib"), PYTHONNOUSERSITE="1",
               PYTHONDONTWRITEBYTECODE="1",
               PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]))
    env.setdefault("LANG", "C.UTF-8")
    return env


def disk_use(folder: Path, most_entries: int = 100_000) -> int:
    """Bytes of disk the files under `folder` take (stops counting after `most_entries` entries)."""
    total, seen, stack = 0, 0, [str(folder)]
    while stack and seen < most_entries:
        try:
            with os.scandir(stack.pop()) as entries:
                for e in entries:
                    seen += 1
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
                    else:
                        total += e.stat(follow_symlinks=False).st_blocks * 512
        except OSError:
            continue
    return total


def describe_exit(code: int | None) -> str:
    """What a kernel's exit status says about how it ended."""
    if code is None:
        return "stopped responding"
    sig = -code if code < 0 else code - 128 if code > 128 else 0
    if sig:
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else f"signal {sig}"
        why = {"SIGSEGV": "crashed (segmentation fault)", "SIGKILL": "was killed (SIGKILL, e.g. out of memory)",
               "SIGABRT": "crashed (abort)", "SIGBUS": "crashed (bus error)"}.get(name, f"was killed by {name}")
        return f"{why}"
    return f"ended the kernel (exit status {code}, e.g. os._exit or a crash)"


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

    def configure(self, limits: Limits, sandboxed: bool, notebook_file: Path | None, template=None) -> None:
        self.limits, self.sandboxed, self.notebook_file, self.template = limits, sandboxed, notebook_file, template

    def _make_workdir(self) -> Path:
        work = self.template.slot if self.template else new_workdir()
        if self.notebook_file and self.notebook_file.exists():
            shutil.copy2(self.notebook_file, work / self.notebook_file.name)
        return work

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
