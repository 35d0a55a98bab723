"""The kernel template that runs inside a grading worker's sandbox (started as `python -c <this file>`).

It imports what the released notebooks import (numpy, matplotlib, torch, ...) and IPython's kernel
once, then forks one kernel per notebook, so that no kernel spends again the second of CPU that a
fresh Python spends importing them. It never runs student code itself. Between two
notebooks, `reset` SIGKILLs every other process of the sandbox's PID namespace (the kernel, its
children, detached daemons) and removes the SysV IPC objects of its IPC namespace, before the grader
empties the work folder, so nothing of one student is left for the next. It is not dumpable, so student code (same uid) can't ptrace it, read its memory or
open its pipes; student code can kill or stop it, which the grader notices (no answer) and then
replaces the whole sandbox.

Protocol: one JSON object per line. Requests come on fd 0, replies (with the request's "id") and
`{"exit": pid, "status": code}` events go out on fd 1; `status` is a Popen returncode (-N: signal N).
Standard library only, besides what it preloads.
"""
import ctypes
import gc
import json
import os
import select
import signal
import sys
import time

PR_SET_DUMPABLE = 4
IPC_RMID = 0
#: What a kernel imports while it starts (IPKernelApp.initialize: its shell, the debugger and pdb, the history
#: database): imported here once, they cost a forked kernel nothing (about 0.08 s of CPU each otherwise).
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger", "pdb",
                  "sqlite3", "psutil", "IPython.extensions", "tornado.queues")


def _prctl_dumpable(value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _preload(modules):
    # What ipykernel sets before a notebook's first `import matplotlib`: read by matplotlib at import.
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # as ipykernel's kernelspec sets it for a Python with frozen modules: else the debugger's import warns
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    for name in [*KERNEL_MODULES, *modules]:
        try:
            __import__(name)
        except BaseException as err:  # noqa: BLE001 - a module that fails here is imported by the notebook instead
            print(f"preloading {name} failed: {type(err).__name__}: {err}", file=sys.stderr, flush=True)


def _returncode(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _run_kernel(argv, cwd, control, sigchld):
    """In the forked child: become a fresh kernel process and never return."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)   # the template's way of waking on SIGCHLD (Template.serve) is not the kernel's
        signal.signal(signal.SIGCHLD, sigchld)
        os.setsid()
        for fd in control:
            os.close(fd)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1):   # stderr stays the template's: what a kernel says before ipykernel captures it
            os.dup2(null, fd)
        os.chdir(cwd)
        _prctl_dumpable(1)   # the kernel is the student's own process, as a fresh one would be
        import random
        random.seed()
        if "numpy" in sys.modules:   # numpy's global generator was seeded once, in the template
            sys.modules["numpy"].random.seed()
        sys.argv = ["ipykernel_launcher", *argv]
        from ipykernel import kernelapp
        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    finally:
        os._exit(code)


def _remove_sysv_ipc():
    """SysV shared memory, message queues and semaphores outlive the processes that made them: remove every
    one in this sandbox's IPC namespace (all are this uid's). Returns those that could not be removed."""
    libc, left = ctypes.CDLL(None, use_errno=True), []
    remove = {"shm": lambda i: libc.shmctl(i, IPC_RMID, None), "msg": lambda i: libc.msgctl(i, IPC_RMID, None),
              "sem": lambda i: libc.semctl(i, 0, IPC_RMID)}
    for kind, rm in remove.items():
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                ids = [int(row.split()[1]) for row in f.read().splitlines()[1:] if row.strip()]
        except OSError:   # no SysV IPC in this kernel: nothing to remove
            continue
        except (ValueError, IndexError):   # can't tell what is there: the grader replaces the whole sandbox
            left.append(f"{kind}: unreadable")
            continue
        left += [f"{kind} {i}" for i in ids if rm(i) != 0]
    return left


def _others():
    """Processes of this PID namespace other than its init (1) and this template; zombies don't count."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (1, me):
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        found.append(int(entry))
            except (OSError, IndexError):
                pass
    return found


class Template:
    def __init__(self, control_in, control_out):
        self.control_in, self.control_out = control_in, control_out
        self.kernels = set()
        self.woken = ()   # (read end, write end) of the pipe that a SIGCHLD writes to (serve)
        self.sigchld = signal.getsignal(signal.SIGCHLD)   # what a kernel gets back

    def send(self, message):
        os.write(self.control_out, (json.dumps(message) + "\n").encode())

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.kernels:
                self.kernels.discard(pid)
                self.send({"exit": pid, "status": _returncode(status)})

    def spawn(self, request):
        pid = os.fork()
        if pid == 0:
            _run_kernel(request["argv"], request["cwd"], (self.control_in, self.control_out, *self.woken),
                        self.sigchld)
        self.kernels.add(pid)
        return {"pid": pid}

    def signal(self, request):
        pid, sig = int(request["pid"]), int(request["sig"])
        if pid not in self.kernels:
            return {"ok": False}
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, sig)
                return {"ok": True}
            except OSError:
                continue
        return {"ok": False}

    def reset(self, request):
        """SIGKILL every other process here (kill(-1) skips init and the caller), until none is left; then
        remove the SysV IPC objects they left (shared memory would otherwise carry data to the next notebook)."""
        deadline = time.monotonic() + float(request.get("within", 5))
        while time.monotonic() < deadline:
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.reap()
            left = _others()
            if not left:   # nobody can attach to a segment now: remove what the notebook left in the namespace
                left = _remove_sysv_ipc()
                return {"ok": not left, "left": left}
            time.sleep(0.01)
        return {"ok": False, "left": left}

    def handle(self, line):
        request = {}
        try:
            request = json.loads(line)
            op = {"spawn": self.spawn, "signal": self.signal, "reset": self.reset,
                  "ping": lambda r: {"ok": True}}[request["op"]]
            reply = op(request)
        except Exception as err:  # noqa: BLE001 - a bad request gets an answer, the template lives on
            reply = {"error": f"{type(err).__name__}: {err}"}
        reply["id"] = request.get("id") if isinstance(request, dict) else None
        self.send(reply)

    def serve(self):
        """Answer requests and report kernels' exits as they come. It sleeps until a request or a SIGCHLD arrives
        (Python writes a byte to the wakeup pipe for each signal; polling every 10 ms cost an idle template 1% of
        a core), and looks for exits every second anyway."""
        self.woken = os.pipe()
        for fd in self.woken:
            os.set_blocking(fd, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.woken[1], warn_on_full_buffer=False)
        buffer = b""
        while True:
            ready, _, _ = select.select([self.control_in, self.woken[0]], [], [], 1.0)
            if self.woken[0] in ready:
                try:
                    os.read(self.woken[0], 1 << 12)
                except BlockingIOError:
                    pass
            self.reap()
            if self.control_in not in ready:
                continue
            data = os.read(self.control_in, 1 << 16)
            if not data:   # the grader is gone
                os._exit(0)
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                self.handle(line.decode())


def main():
    control_in, control_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):   # what preloading prints must not mix with the replies; stderr goes to the grader's log
        os.dup2(null, fd)
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]    # as ipykernel_launcher does
    # The garbage collector, paused while the modules import (15% of their CPU otherwise), then never walks what
    # they made: it outlives every kernel. A forked kernel's collector runs as a fresh kernel's does.
    gc.disable()
    try:
        _preload(json.loads(sys.argv[1]) if len(sys.argv) > 1 else [])
    finally:
        gc.freeze()
        gc.enable()
    _prctl_dumpable(0)
    template = Template(control_in, control_out)
    template.send({"ready": os.getpid()})
    template.serve()


if __name__ == "__main__":
    main()
