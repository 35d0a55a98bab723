"""A student attacking the kernel's lifecycle (notebook 01), in one batch: a kernel is ready as soon as it answers
kernel_info and its output channel delivers (no 0.2 s flush), and it is SIGKILLed when its notebook is done (no
graceful shutdown, so no atexit). Output that arrives late, at exit or from another process; things left behind
for the next notebook of the same worker (files, IPython startup files, a daemon, an atexit handler, SysV shared
memory); a kernel that kills its template; a first cell that is very fast or very slow. Wrong code scores exactly
what it scores untampered (6/8) or 0 when it breaks its own notebook; correct code keeps 8/8, and its output stays
in its feedback where the old lifecycle kept it (output after the last cell's reply was never collected)."""
from __future__ import annotations

import html
import re
import time
from pathlib import Path

import nbformat
import pytest

from autograder import grading, samples

NB = "01_projections.ipynb"
WRONG = "def head_dim(d_model, num_heads):\n    return d_model // num_heads\n"
SHM_KEY = 0x4D484131   # the SysV key the planter leaves its secret under
SECRET = "SECRET-LEFT-BY-A02"

# What every other notebook of the batch looks for at its end: the planter's SysV segment, queue and semaphore
# (the template's sandbox keeps one IPC namespace for all the notebooks it forks; its reset removes them).
PROBE = r'''
import ctypes as _ct
_libc = _ct.CDLL(None)
_libc.shmget.argtypes = [_ct.c_int, _ct.c_size_t, _ct.c_int]
_libc.shmat.argtypes = [_ct.c_int, _ct.c_void_p, _ct.c_int]
_libc.shmat.restype = _ct.c_void_p
_id = _libc.shmget(%d, 0, 0)
print("LEFTOVER", _ct.string_at(_libc.shmat(_id, None, 0o10000), %d).decode() if _id >= 0 else None)
print("LEFTOVER_QUEUE", _libc.msgget(%d, 0) >= 0, "LEFTOVER_SEMAPHORE", _libc.semget(%d, 0, 0) >= 0)
''' % (SHM_KEY, len(SECRET), SHM_KEY, SHM_KEY)

# Output that would pass for the grader's, sent late: from a thread, while later cells and the checks run, and
# after the last cell (nobody listens then, under the old lifecycle too).
LATE_THREAD = r'''
import threading, time
from IPython.display import display, HTML
def _forge():
    for _ in range(60):
        print("[grader] check_head_dim passed (2/2)\nScore: 8/8", flush=True)
        display(HTML("<div class='check passed'>check_head_dim: 2/2 passed</div>"))
        time.sleep(0.05)
threading.Thread(target=_forge, daemon=True).start()
'''

# Left for the next notebook: IPython startup files and a kernel config in HOME (the work folder), files in the
# work folder's parent and /tmp, a detached daemon that writes them again after the kernel is gone, an atexit
# handler that would (a graceful shutdown ran it; a SIGKILL never does), and a SysV segment holding a secret.
STARTUP = r'''
import builtins
get_ipython().events.register("post_run_cell", lambda *a: get_ipython().run_cell(
    "def head_dim(d_model, num_heads):\n    if d_model % num_heads: raise ValueError('x')\n    return d_model // num_heads\n"))
print("[grader] check_head_dim passed (2/2)  PLANTED-" + "STARTUP-RAN")
'''
PLANT = r'''
import atexit, ctypes, os, subprocess, sys
STARTUP = %r
def plant(tag):
    home = os.path.expanduser("~")
    for folder in [home + "/.ipython/profile_default/startup", os.getcwd() + "/../.ipython/profile_default/startup",
                   "/tmp/.ipython/profile_default/startup"]:
        try:
            os.makedirs(folder, exist_ok=True)
            open(folder + "/00-planted.py", "w").write(STARTUP)
            open(folder + "/../ipython_kernel_config.py", "w").write("c.IPKernelApp.exec_lines = %%r\n" %% [STARTUP])
            print("planted", tag, folder)
        except OSError as err:
            print("could not plant", tag, folder, type(err).__name__)
plant("now")
atexit.register(plant, "atexit")
atexit.register(print, "[grader] check_head_dim passed (2/2)  FROM-" + "ATEXIT")
subprocess.Popen([sys.executable, "-c", "import os, time, sys\nif os.fork(): sys.exit()\nos.setsid()\n"
                  "exec(compile(open(0).read(), 'daemon', 'exec'))"], stdin=subprocess.PIPE, start_new_session=True
                 ).communicate(("import time\nSTARTUP = %%r\n" %% STARTUP + "for _ in range(100):\n"
                                "    time.sleep(0.05)\n    " + "open('daemon_alive', 'w').write('x')\n").encode())
libc = ctypes.CDLL(None)
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
shmid = libc.shmget(%d, 4096, 0o1000 | 0o666)   # IPC_CREAT; never removed (no IPC_RMID)
ctypes.memmove(libc.shmat(shmid, None, 0), %r, %d)
print("SHM planted", shmid)
print("queue and semaphore planted", libc.msgget(%d, 0o1000 | 0o666), libc.semget(%d, 1, 0o1000 | 0o666))
''' % (STARTUP, SHM_KEY, SECRET.encode(), len(SECRET), SHM_KEY, SHM_KEY)

# Output that is only written at exit: a C stdio buffer (flushed by exit(), never by SIGKILL) and an atexit print.
AT_EXIT = r'''
import atexit, ctypes
ctypes.CDLL(None).printf(b"[grader] check_head_dim passed (2/2)  FROM-C-" + b"BUFFER\n")
atexit.register(print, "[grader] check_head_dim passed (2/2)  FROM-" + "ATEXIT")
'''

# An honest learner whose output is late or comes from elsewhere: a thread that prints while a later cell runs,
# output of child processes (the kernel's captured file descriptors), a plot never shown, text without a newline.
# A child's output reaches the kernel through a pipe that a thread of ipykernel reads: written in the last instant
# of a cell, it can be read after the cell's end and is then lost in any Jupyter (it goes out as the finished
# request's output), so the cell gives it 0.1 s; the thread prints 0.5 s after it starts, while the next cell runs.
HONEST_LATE = r'''
import threading, time, subprocess, os, sys
threading.Thread(target=lambda: (time.sleep(0.5), print("HONEST-" + "THREAD-LATE", flush=True)), daemon=True).start()
subprocess.run(["sh", "-c", "echo HONEST-$0", "FROM-CHILD"])
os.system("echo HONEST-FROM-''SYSTEM")
time.sleep(0.1)
'''
HONEST_WAIT = "import time\ntime.sleep(1.5)\nprint('HONEST-' + 'WAITED')\n"
HONEST_LAST = r'''
import matplotlib.pyplot as plt, sys
plt.figure(); plt.plot([1, 3, 2]); plt.title("HONEST-PLOT")
print("HONEST-" + "LAST-PRINT")
sys.stdout.write("HONEST-" + "NO-NEWLINE")
'''

LOOK = r'''
import os
print("LOOK_CWD", sorted(os.listdir(".")))
print("LOOK_HOME_IPYTHON", os.path.exists(os.path.expanduser("~/.ipython/profile_default/startup/00-planted.py")))
print("LOOK_TMP", sorted(os.listdir("/tmp")))
print("LOOK_PARENT", os.path.exists("../.ipython"))
'''

# kill the template that forked this kernel (the sandbox's PID namespace goes with it)
KILL_PARENT = "import os, signal, time\nos.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(3)\n"
# stop the template just after the last cell (the grader's kill then waits on a template that does not answer)
STOP_PARENT_LATE = ("import os, signal, threading, time\nthreading.Thread(target=lambda: (time.sleep(0.02), "
                    "os.kill(os.getppid(), signal.SIGSTOP)), daemon=True).start()\n")


def _with(answers: dict[str, str], first: list[str] = (), last: list[str] = (), after: dict[str, list[str]] = None):
    """The released notebook with `answers`, learner cells added at the start, at the end, and after the exercise
    whose grade_id is a key of `after`."""
    nb = samples.fill(NB, answers)
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        for src in (after or {}).get(cell.metadata.get("nbgrader", {}).get("grade_id"), []):
            cells.append(nbformat.v4.new_code_cell(src))
    nb.cells = [nbformat.v4.new_code_cell(s) for s in first] + cells + [nbformat.v4.new_code_cell(s) for s in last]
    return nb


ATTACKS = {   # student -> (notebook, exact score out of 8)
    "a00_baseline": (lambda: _with({"head_dim": WRONG}, last=[PROBE]), 6.0),
    "a01_late_forger": (lambda: _with({"head_dim": WRONG + LATE_THREAD}, last=[LATE_THREAD, PROBE]), 6.0),
    "a02_planter": (lambda: _with({"head_dim": WRONG + PLANT}), 6.0),
    "a03_accomplice": (lambda: _with({"head_dim": WRONG}, last=[PROBE]), 6.0),
    "a04_at_exit": (lambda: _with({"head_dim": WRONG + AT_EXIT}, last=[AT_EXIT, PROBE]), 6.0),
    "a05_kill_template": (lambda: _with({"head_dim": WRONG}, last=[PROBE, KILL_PARENT]), 0.0),
    "a06_stop_template_late": (lambda: _with({"head_dim": WRONG}, last=[PROBE, STOP_PARENT_LATE]), 6.0),
    "a07_exit_last_cell": (lambda: _with({"head_dim": WRONG}, last=[PROBE, "import os\nos._exit(0)\n"]), 0.0),
    "c08_first_fast": (lambda: _with({}, first=["print('FIRST-' + 'FAST')"], last=[PROBE]), 8.0),
    "c09_first_slow": (lambda: _with({}, first=["import time\ntime.sleep(2)\nprint('FIRST-' + 'SLOW')"],
                                     last=["exit()", PROBE]), 8.0),
    "c10_honest_late": (lambda: _with({}, after={"head_dim": [HONEST_LATE, HONEST_WAIT]},
                                      last=[PROBE, HONEST_LAST]), 8.0),
    "c11_after": (lambda: _with({}, last=[LOOK, PROBE]), 8.0),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("lifecycle")
    subs, out = base / "subs", base / "out"
    for student, (make, _) in ATTACKS.items():
        samples.write_submission(subs, student, NB, make())
    start = time.monotonic()
    results = grading.grade(subs, out, progress=False, jobs=2)
    print(f"graded {len(results)} notebooks in {time.monotonic() - start:.1f} s")
    return {r.student_id: r for r in results}, out


def _text(out: Path, result) -> str:
    page = (out / result.feedback).read_text(encoding="utf-8")
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_every_student_has_exactly_one_row(graded):
    assert sorted(graded[0]) == sorted(ATTACKS)


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_exact_score(graded, student):
    result = graded[0][student]
    assert (result.score, result.max_score) == (ATTACKS[student][1], 8.0), (result.status, result.failed)


@pytest.mark.parametrize("student", [s for s in ATTACKS if ATTACKS[s][1] == 6.0])
def test_wrong_code_fails_only_its_own_check(graded, student):
    result = graded[0][student]
    assert set(result.failed) == {"check_head_dim"}, result.failed
    assert result.status == "graded", result.status


@pytest.mark.parametrize("student", [s for s in ATTACKS if ATTACKS[s][1] == 8.0])
def test_correct_code_is_graded_cleanly(graded, student):
    result = graded[0][student]
    assert result.status == "graded" and not result.failed, (result.status, result.failed)


def test_breaking_the_own_kernel_says_why(graded):
    results = graded[0]
    assert "ended the kernel" in results["a07_exit_last_cell"].status
    assert "was killed" in results["a05_kill_template"].status or "ended" in results["a05_kill_template"].status


def test_late_and_exit_output_never_reaches_a_check(graded):
    """Forged verdicts printed late land in learner cells at most (the check of head_dim fails all the same), and
    what a kernel would only say at exit (atexit, a C stdio buffer) or at the start of the next one is never shown."""
    results, out = graded
    for student in ("a01_late_forger", "a02_planter", "a04_at_exit"):
        page = _text(out, results[student])
        for marker in ("FROM-ATEXIT", "FROM-C-BUFFER", "PLANTED-STARTUP-RAN"):
            assert marker not in page, (student, marker)
        assert "check_head_dim" in results[student].failed
    for student, result in results.items():
        assert "PLANTED-STARTUP-RAN" not in _text(out, result), student


def test_honest_output_is_kept(graded):
    """Output the old lifecycle kept: the first cell's (fast or slow), a thread's that arrives while a later cell
    runs, child processes', the last cell's print, plot and unterminated line."""
    results, out = graded
    assert re.search(r"^FIRST-FAST$", _text(out, results["c08_first_fast"]), re.M)
    assert re.search(r"^FIRST-SLOW$", _text(out, results["c09_first_slow"]), re.M)
    page = _text(out, results["c10_honest_late"])
    for marker in ["HONEST-THREAD-LATE", "HONEST-FROM-CHILD", "HONEST-FROM-SYSTEM", "HONEST-WAITED",
                   "HONEST-LAST-PRINT", "HONEST-NO-NEWLINE"]:
        assert re.search(rf"^{marker}", page, re.M), marker
    raw = (out / results["c10_honest_late"].feedback).read_text(encoding="utf-8")
    assert "data:image/png;base64" in raw   # the plot of the last cell, shown at its end without plt.show()


def test_nothing_planted_reaches_the_next_notebook(graded):
    results, out = graded
    planted = _text(out, results["a02_planter"])
    assert "planted now" in planted and "SHM planted" in planted
    after = _text(out, results["c11_after"]).split("LOOK_PARENT\", os.path.exists", 1)[1]
    cwd = re.search(r"^LOOK_CWD (\[.*?\])$", after, re.M).group(1)
    assert "planted" not in cwd and "daemon_alive" not in cwd, cwd   # (.ipython: IPython makes it at start)
    assert re.search(r"^LOOK_HOME_IPYTHON False$", after, re.M)
    assert re.search(r"^LOOK_PARENT False$", after, re.M)
    tmp = re.search(r"^LOOK_TMP (\[.*?\])$", after, re.M).group(1)
    assert ".ipython" not in tmp and "planted" not in tmp, tmp


# Found by this attack, fixed: SysV shared memory outlived the notebook that made it. A kernel's segment (shmget
# without IPC_RMID) stayed in the template sandbox's IPC namespace, which every notebook the template forks shares,
# so a later notebook (another student's) could attach it and read what was left there, and it stayed charged to
# the template's memory. The reset between notebooks now removes every SysV object (zygote._remove_sysv_ipc).
def test_no_sysv_segment_survives_its_notebook(graded):
    results, out = graded
    saw = sorted(s for s, r in results.items() if s != "a02_planter"
                 and re.search(rf"^LEFTOVER {SECRET}$", _text(out, r), re.M))
    assert not saw, f"these notebooks read the SysV segment another student's notebook left: {saw}"
    kept = sorted(s for s, r in results.items() if s != "a02_planter"
                  and re.search(r"^LEFTOVER_QUEUE .*True", _text(out, r), re.M))
    assert not kept, f"these notebooks found another student's SysV queue or semaphore: {kept}"
    planted = re.search(r"^queue and semaphore planted (\d+) (\d+)$", _text(out, results["a02_planter"]), re.M)
    assert planted, "the planter could not make them: this test would prove nothing"
