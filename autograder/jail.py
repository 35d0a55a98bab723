"""The sandbox's command line: bubblewrap's namespaces and read-only mounts, the resource limits (prlimit,
setpriv), the environment a kernel keeps, and what its exit status means. sandbox.py starts kernels with it;
forkserver.py starts the kernel template with it.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from .options import Limits

#: Environment variables a kernel keeps (everything else, secrets included, is dropped).
PASS_ENV = ("MHA_FAST", "LANG", "LC_ALL", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
            "OPENBLAS_NUM_THREADS", "PYTHONHASHSEED", "CUDA_VISIBLE_DEVICES", "TORCHINDUCTOR_CPP_CACHE_PRECOMPILE_HEADERS")
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


def set_notebook_env() -> None:
    """What every graded notebook runs with, in the grader's environment (PASS_ENV carries it into the sandbox)."""
    os.environ["MHA_FAST"] = "1"   # notebooks shrink their experiments under grading
    # A learner's @torch.compile: PyTorch's C++ backend first precompiles a 150 MB header, more than a file in the
    # sandbox may be (Limits.file_mb), and slower than compiling a notebook's few kernels without it.
    os.environ.setdefault("TORCHINDUCTOR_CPP_CACHE_PRECOMPILE_HEADERS", "0")


def sandbox_uid() -> int:
    """A uid of the sandbox's own, so that the process limit counts only its processes."""
    return 1_900_000_000 + os.getpid() % 1_000_000


#: A unix socket's path has at most 107 bytes, and a work folder holds the kernel's and the grader's sockets
#: ("nb-XXXXXXXX/.grader-<16 hex>.sock"): under a longer TMPDIR they go to /tmp instead.
LONGEST_BASE = 64


def new_workdir() -> Path:
    """A new, empty work folder that only its owner can enter, under a folder that others can't list."""
    base = Path(tempfile.gettempdir()) / "mha-sandboxes"
    if len(str(base).encode()) > LONGEST_BASE:
        base = Path("/tmp/mha-sandboxes")
    base.mkdir(mode=0o711, exist_ok=True)
    os.chmod(base, 0o711)
    work = Path(tempfile.mkdtemp(prefix="nb-", dir=base))
    os.chmod(work, 0o700)
    return work


def seed_font_cache(work: Path, uid: int | None = None) -> None:
    """Put Matplotlib's list of this system's fonts, as the grader has it (once it has drawn anything), in the
    kernel's MPLCONFIGDIR (`kernel_env`): else each template and fresh kernel scans the fonts again on its
    first `import matplotlib.pyplot` (0.1 to 0.2 s of CPU). The sandbox sees the same fonts (`/usr`, `/etc/fonts`)."""
    try:
        import matplotlib   # the grader imports it anyway: its checker runs the notebooks' imports, and the report
    except ImportError:
        return
    try:
        for cached in Path(matplotlib.get_cachedir()).glob("fontlist-v*.json"):
            (work / ".matplotlib").mkdir(exist_ok=True)
            shutil.copy2(cached, work / ".matplotlib" / cached.name)
        if uid is not None and (work / ".matplotlib").exists():
            os.chown(work / ".matplotlib", uid, uid)
    except OSError:   # only costs the kernel the scan
        pass


def _read_only_paths() -> list[str]:
    paths = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
             sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parent.parent),
             "/sys/devices/system/cpu"]
    paths += [f"/etc/{name}" for name in _ETC]
    seen: list[str] = []
    for p in paths:
        # a venv reached through a link (a shared venv linked into each checkout) needs its target too
        for q in (p, os.path.realpath(p)) if os.path.islink(p) else (p,):
            if os.path.lexists(q) and q not in seen:
                seen.append(q)
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
        try:
            name = signal.Signals(sig).name
        except ValueError:   # not a signal this system names
            name = f"signal {sig}"
        why = {"SIGSEGV": "crashed (segmentation fault)", "SIGKILL": "was killed (SIGKILL, e.g. out of memory)",
               "SIGABRT": "crashed (abort)", "SIGBUS": "crashed (bus error)"}.get(name, f"was killed by {name}")
        return f"{why}"
    return f"ended the kernel (exit status {code}, e.g. os._exit or a crash)"
