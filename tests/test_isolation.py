"""Hostile and broken submissions run in the sandbox: each gets its own outcome, nobody else's changes.

One batch of notebook-01 submissions with small limits (6 s per cell, 1 GiB, 64 processes), a correct
submission in the middle and one last. Needs bubblewrap (`apt-get install bubblewrap`); the tests that
need it are skipped, loudly, without it.
"""
import socket
import threading
from pathlib import Path

import pytest

from autograder import grading, memlimit, results, samples, sandbox
from autograder.paths import SOLUTIONS
from autograder.report import write_report
from autograder.sandbox import Limits
from conftest import NOTEBOOKS, running

NB = NOTEBOOKS[0]   # 01_projections: the fastest notebook
LIMITS = Limits(notebook_timeout=120, memory_mb=1024, file_mb=16, processes=64, disk_mb=64)
CORRECT = samples.reference_answers(NB)["head_dim"]

needs_bwrap = pytest.mark.skipif(not sandbox.bwrap_works(), reason="bubblewrap is not installed (apt-get install bubblewrap)")


def _cases(subs: Path, port: int) -> dict[str, str]:
    """{student: source of their head_dim cell}."""
    return {
        "a_infinite_loop": "while True:\n    pass\n",
        # deaf to the interrupt that a cell timeout sends first: it must be killed (it waits rather than spins:
        # a_infinite_loop is the one that holds a core)
        "b_ignores_sigint": "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.05)\n",
        "c_memory_bomb": "x = bytearray(64 * 2**30)\n",
        # 64 MiB at a time, reserved but never written: the per-process limit counts what is reserved, so this
        # reaches it in a millisecond however loaded the machine is (writing 1 GiB first once took CI past the
        # 6 s cell limit); memory that is written is limited by the memory group (the HOLD test below)
        "c_memory_growth": "chunks = []\nwhile True:\n    chunks.append(bytes(2**26))\n",
        "d_os_exit": "import os\nos._exit(3)\n",
        "e_segfault": "import ctypes\nctypes.string_at(0)\n",
        # bounded by the process limit (64), which is in place before any student code runs; every process forks
        # again as soon as one ends (a 64-process busy loop would only take the CPU from the rest of the suite)
        "f_fork_bomb": ("import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
                        "        time.sleep(0.01)\n"),
        # one message ten times the output channel's limit (2 MiB; iopub.py); a hundred megabytes once took
        # a loaded CI machine past the 6 s cell limit just to build and send (the 300 MB flood test below
        # sends its flood in 1 MiB pieces)
        "g_big_output": CORRECT + "\nprint('x' * 20_000_000)\n",
        "h_reads_solutions": ("import json\n"
                              f"nb = json.load(open({str(SOLUTIONS / NB)!r}))\n"
                              "exec(next(''.join(c['source']) for c in nb['cells'] if 'def head_dim' in ''.join(c['source'])))\n"),
        "h_reads_gradebook": ("import glob\nfound = glob.glob('/tmp/mha-grade-*/**/gradebook.db', recursive=True)\n"
                              "assert found, 'no gradebook in sight'\n"),
        "h_reads_other_student": f"print(open({str(subs / 'z_correct' / NB)!r}).read()[:100])\n",
        "i_writes_outside": (f"open({str(subs / 'z_correct' / NB)!r}, 'w').write('pwned')\n"),
        "j_daemon": ("import os, time\n"
                     "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                     "        os.execvp('sleep', ['sleep', '3141'])\n    os._exit(0)\n"
                     "time.sleep(0.5)\n" + CORRECT),
        "k_network": ("import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=3)\n"
                      "except OSError as err:\n    print('internet:', err)\n"
                      f"socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"),
        # files of 15 MiB (under the file-size limit) until the work folder's 64 MiB are used up
        "l_fills_disk": ("i = 0\nwhile True:\n    with open(f'junk{i}.bin', 'wb') as f:\n"
                         "        f.write(b'x' * (15 << 20))\n    i += 1\n"),
        "m_correct_middle": CORRECT,
        "z_correct": CORRECT,
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    if not sandbox.bwrap_works():
        pytest.skip("bubblewrap is not installed")
    root = tmp_path_factory.mktemp("hostile")
    subs = root / "submissions"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    accepted: list = []

    def accept():
        while not stop.is_set():
            try:
                accepted.append(listener.accept())
            except OSError:
                pass

    stop = threading.Event()
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    for student, source in _cases(subs, listener.getsockname()[1]).items():
        samples.write_submission(subs, student, NB, samples.fill(NB, {"head_dim": source}))
    good_text = (subs / "z_correct" / NB).read_text()
    out = root / "out"
    graded = grading.grade(subs, out, cell_timeout=6, progress=False, jobs=2, limits=LIMITS, isolation="bwrap")
    results.write_all(graded, out)
    stop.set()
    thread.join()
    listener.close()
    return {r.student_id: r for r in graded}, out, subs, good_text, accepted


def _zero(row, *words):
    assert row.score == 0 and row.max_score > 0, (row.score, row.status)
    for w in words:
        assert w in row.status, row.status


@needs_bwrap
def test_every_submission_has_a_row_and_feedback(hostile):
    rows, out, subs, _, _ = hostile
    assert set(rows) == {p.name for p in subs.iterdir()}
    for student in rows:
        assert (out / "feedback" / student / "01_projections.html").exists(), student


@needs_bwrap
@pytest.mark.parametrize("student", ["a_infinite_loop", "b_ignores_sigint", "f_fork_bomb"])
def test_a_cell_that_never_ends_is_killed_and_scores_zero(hostile, student):
    _zero(hostile[0][student], "head_dim timed out (limit 6 s per cell)", "kernel was stopped")


@needs_bwrap
@pytest.mark.parametrize("student", ["c_memory_bomb", "c_memory_growth"])
def test_a_memory_bomb_scores_zero(hostile, student):
    _zero(hostile[0][student], "head_dim ran out of memory (limit 1024 MiB)")


@needs_bwrap
def test_a_stopped_kernel_is_not_called_a_flood_of_output(hostile):
    """Killing a kernel closes its output channel; the page must not tell the learner they sent too much output."""
    rows, out, _, _, _ = hostile
    stopped = [s for s in ("a_infinite_loop", "c_memory_bomb", "d_os_exit", "e_segfault", "f_fork_bomb") if s in rows]
    for student in stopped:
        page = (out / rows[student].feedback).read_text()
        assert "the kernel was stopped" in page, student
        assert "[output lost" not in page, student


@needs_bwrap
def test_filling_the_disk_stops_the_notebook(hostile):
    _zero(hostile[0]["l_fills_disk"], "head_dim filled its work folder (more than 64 MiB written)")


@needs_bwrap
def test_os_exit_and_segfault_are_named(hostile):
    rows = hostile[0]
    _zero(rows["d_os_exit"], "head_dim ended the kernel (exit status 3")
    _zero(rows["e_segfault"], "head_dim crashed (segmentation fault)")


@needs_bwrap
def test_twenty_megabytes_in_one_print_are_cut(hostile):
    rows, out, _, _, _ = hostile
    row = rows["g_big_output"]
    assert row.status == "graded" and row.score == row.max_score
    assert (out / "feedback" / "g_big_output" / "01_projections.html").stat().st_size < 5_000_000


@needs_bwrap
def test_student_code_cannot_read_solutions_gradebook_or_other_students(hostile):
    rows = hostile[0]
    assert "head_dim raised FileNotFoundError" in rows["h_reads_solutions"].status
    assert "head_dim raised AssertionError" in rows["h_reads_gradebook"].status   # nothing found
    assert "head_dim raised FileNotFoundError" in rows["h_reads_other_student"].status
    for student in ("h_reads_solutions", "h_reads_gradebook", "h_reads_other_student"):
        assert rows[student].score < rows[student].max_score


@needs_bwrap
def test_student_code_cannot_write_outside_its_folder(hostile):
    rows, _, subs, good_text, _ = hostile
    assert "head_dim raised FileNotFoundError" in rows["i_writes_outside"].status
    assert (subs / "z_correct" / NB).read_text() == good_text


@needs_bwrap
def test_a_detached_daemon_dies_with_its_kernel(hostile):
    rows = hostile[0]
    assert rows["j_daemon"].status == "graded" and rows["j_daemon"].score == rows["j_daemon"].max_score
    alive = running("sleep", "3141")
    assert not alive, f"the daemon outlived its kernel: pids {alive}"


@needs_bwrap
def test_no_network(hostile):
    rows, _, _, _, accepted = hostile
    assert "head_dim raised ConnectionRefusedError" in rows["k_network"].status
    assert not accepted, "student code reached a port on the grading machine"


@needs_bwrap
def test_correct_submissions_around_them_get_full_marks(hostile):
    rows = hostile[0]
    middle, last = rows["m_correct_middle"], rows["z_correct"]
    for row in (middle, last):
        assert row.status == "graded" and row.score == row.max_score > 0 and not row.failed
    assert middle.cells == last.cells


@needs_bwrap
def test_the_notebook_time_limit_kills_a_slow_notebook(tmp_path):
    subs = tmp_path / "submissions"
    samples.write_submission(subs, "slow", NB, samples.fill(NB, {"head_dim": "import time\ntime.sleep(600)\n"}))
    rows = grading.grade(subs, tmp_path / "out", cell_timeout=300, progress=False,
                         limits=Limits(notebook_timeout=20, memory_mb=1024, processes=64), isolation="bwrap")
    _zero(rows[0], "head_dim ran past the notebook time limit (20 s)")


def test_without_bwrap_grading_warns_and_flags_every_row(tmp_path, capsys):
    subs = tmp_path / "submissions"
    samples.write_submission(subs, "amy", NB, samples.fill(NB))
    rows = grading.grade(subs, tmp_path / "out", cell_timeout=60, progress=False, isolation="none")
    assert "WITHOUT a sandbox" in capsys.readouterr().err
    assert rows[0].score == rows[0].max_score and "not sandboxed" in rows[0].flags
    report = write_report(rows, tmp_path / "out").read_text()
    assert "1 notebooks ran WITHOUT a sandbox" in report.replace("</b>", "").replace("<b>", "")
    assert "None: the scan flagged no code." in report  # the sandbox flag is the banner's, not a scan flag


HOLD = """
import multiprocessing as mp, os, select, time
def hold(k, mib, fd):
    block = bytearray(mib << 20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    os.write(fd, bytes([k]))   # this child holds all of its memory now
    time.sleep(60)
done, told = os.pipe()
children = [mp.get_context("fork").Process(target=hold, args=(k, 150, told)) for k in range(6)]
for child in children:
    child.start()
# wait until each child has written its memory or is gone, however loaded the machine is: a fixed sleep once
# counted six children still writing (and alive) on a busy CI machine
holding, deadline = set(), time.monotonic() + 30
while (any(k not in holding and c.is_alive() for k, c in enumerate(children))
       and time.monotonic() < deadline):
    if select.select([done], [], [], 0.2)[0]:
        holding.update(os.read(done, 64))
print("children holding their memory:", sum(children[k].is_alive() for k in holding))
for child in children:
    child.kill()
"""


@needs_bwrap
@pytest.mark.skipif(memlimit.kind() is None, reason="no memory cgroup can be made on this machine")
@pytest.mark.parametrize("kernels", ["fork", "fresh"])
def test_the_memory_limit_holds_for_all_of_a_notebooks_processes(tmp_path, kernels):
    """Six children of 150 MiB each fit the per-process limit (512 MiB) but not the notebook's: some of them
    (or the kernel) are killed, and the student after it is graded as usual."""
    subs = tmp_path / "subs"
    samples.write_submission(subs, "a_six_children", NB, samples.fill(NB, {"head_dim": HOLD + CORRECT}))
    samples.write_submission(subs, "b_correct_after", NB, samples.fill(NB))
    rows = {r.student_id: r for r in grading.grade(subs, tmp_path / "out", cell_timeout=40, progress=False,
                                                    jobs=1, kernels=kernels,
                                                    limits=Limits(notebook_timeout=120, memory_mb=512))}
    hog = rows["a_six_children"]
    page = (tmp_path / "out" / hog.feedback).read_text() if hog.feedback else ""
    assert "children holding their memory: 6" not in page
    assert "children holding their memory:" in page or "ran out of memory" in hog.status, hog.status
    assert rows["b_correct_after"].score == 8.0, rows["b_correct_after"].status


FLOOD = """
import resource, sys
from pathlib import Path
from autograder import grading, samples
if __name__ == "__main__":
    subs, out = Path(sys.argv[1]) / "subs", Path(sys.argv[1]) / "out"
    flood = "\\nimport sys\\nfor _ in range(300):\\n    sys.stdout.write('x' * (1 << 20))\\n"
    samples.write_submission(subs, "flood", "01_projections.ipynb", samples.fill("01_projections.ipynb", {
        "head_dim": samples.reference_answers("01_projections.ipynb")["head_dim"] + flood}))
    samples.write_submission(subs.parent / "quiet", "quiet", "01_projections.ipynb", samples.fill("01_projections.ipynb"))
    grading.grade(subs.parent / "quiet", out.parent / "quiet-out", progress=False, jobs=1, isolation="bwrap")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024   # the grader's peak on a quiet notebook
    row, = grading.grade(subs, out, progress=False, jobs=1, isolation="bwrap")
    print(row.score, row.max_score, row.status, sep="|")
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024 - before)
    print((out / row.feedback).read_text())
"""


@needs_bwrap
def test_300_megabytes_of_output_leave_the_grader_small_and_the_status_true(tmp_path):
    """The grader (jobs=1: the script's own process) receives the flood through a bounded channel (iopub.py):
    its peak memory grows far less than the 300 MB printed, measured against grading a quiet notebook first, nothing is called a timeout, the page says output was lost."""
    import subprocess
    import sys

    script = tmp_path / "flood.py"
    script.write_text(FLOOD)
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True,
                          cwd=Path(__file__).parent.parent, env={**__import__("os").environ, "PYTHONPATH": "."},
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    verdict, rss, page = done.stdout.split("\n", 2)
    assert verdict == "8.0|8.0|graded", verdict
    assert int(rss) < 150, f"the flood added {rss} MiB to the grader's peak"   # unbounded: about 800 MiB
    assert "[output lost: your code sent more than 2 MiB of output at once" in page
    assert len(page) < 5_000_000


@needs_bwrap
def test_a_venv_reached_through_a_link_runs_in_the_sandbox(tmp_path):
    # one venv shared by several checkouts, linked into each: the sandbox must mount the link's target too
    import subprocess
    import sys
    linked = tmp_path / "checkout" / ".venv"
    linked.parent.mkdir()
    linked.symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
    script = ("import subprocess, sys, tempfile\nfrom pathlib import Path\nfrom autograder import jail\n"
              "from autograder.options import Limits\n"
              "work = Path(tempfile.mkdtemp())\n"
              "cmd = jail.bwrap_args(work, Limits(), jail.kernel_env(work)) + [sys.executable, '-c', "
              "'import numpy, sys; print(sys.prefix)']\n"
              "print(subprocess.run(cmd, capture_output=True, text=True).stdout.strip())\n")
    out = subprocess.run([str(linked / "bin" / "python"), "-c", script], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1], timeout=60)
    assert out.stdout.strip() == str(linked), out.stderr
