"""A grading worker that dies (a native crash in the grader, the machine's OOM killer) takes no one else's
grade with it: the units its pool still held are graded again, the ones it was running alone (pool.py), and
only the notebook whose grading process dies again is recorded as not graded, with a reason."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from autograder import grading, pool, samples
from conftest import NOTEBOOKS

REPO = Path(__file__).resolve().parent.parent
NB = NOTEBOOKS[0]
SLOW = "import time\ntime.sleep(30)\n" + samples.reference_answers(NB)["head_dim"]


def _kill_workers_grading(student: str, logs_dir, stop: threading.Event, sig=signal.SIGKILL) -> list[int]:
    """Send `sig` to every grading worker as soon as its log says it grades `student` (SIGKILL: as the OOM
    killer would; SIGSTOP: a grader that hangs)."""
    killed: list[int] = []
    while not stop.is_set():
        for log in logs_dir.glob("worker-*.log") if logs_dir.is_dir() else []:
            pid = int(re.findall(r"\d+", log.name)[0])
            if pid not in killed and f"{student}: grading" in log.read_text(errors="replace"):
                os.kill(pid, sig)
                killed.append(pid)
        time.sleep(0.1)
    return killed


def test_a_worker_that_dies_loses_no_one_elses_grade(tmp_path):
    subs = tmp_path / "subs"
    for student in ("ada", "ben", "cleo"):
        samples.write_submission(subs, student, NB, samples.fill(NB))
    samples.write_submission(subs, "killed", NB, samples.fill(NB, {"head_dim": SLOW}))
    out, rows, stop = tmp_path / "out", [], threading.Event()
    grader = threading.Thread(target=lambda: rows.extend(grading.grade(subs, out, progress=False, jobs=2)), daemon=True)
    grader.start()
    killed: list[int] = []
    killer = threading.Thread(target=lambda: killed.extend(_kill_workers_grading("killed", out / "logs", stop)))
    killer.start()
    grader.join(timeout=240)
    stop.set()
    killer.join()
    by_id = {r.student_id: r for r in rows}
    assert set(by_id) == {"ada", "ben", "cleo", "killed"}
    for student in ("ada", "ben", "cleo"):
        assert by_id[student].score == by_id[student].max_score == 8.0, by_id[student].status
    assert len(killed) == 2, killed   # in the batch, then alone
    assert by_id["killed"].score == 0.0 and by_id["killed"].outcome.value == "failed"
    assert by_id["killed"].status.startswith("not graded: the grading process died while grading this notebook, "
                                             "twice (the second time alone)"), by_id["killed"].status


def test_a_worker_that_hangs_is_ended_and_loses_no_one_elses_grade(tmp_path, monkeypatch):
    """The watchdog (pool.watchdog_s, in this process) ends a worker whose unit runs too long: here one that
    is stopped (SIGSTOP) each time it grades `stuck`, as a grader that hangs would be."""
    monkeypatch.setattr(pool, "watchdog_s", lambda limits: 12.0)
    subs = tmp_path / "subs"
    for student in ("ada", "ben"):
        samples.write_submission(subs, student, NB, samples.fill(NB))
    samples.write_submission(subs, "stuck", NB, samples.fill(NB))
    out, rows, stop = tmp_path / "out", [], threading.Event()
    grader = threading.Thread(target=lambda: rows.extend(grading.grade(subs, out, progress=False, jobs=2)), daemon=True)
    grader.start()
    stopped: list[int] = []
    stopper = threading.Thread(target=lambda: stopped.extend(
        _kill_workers_grading("stuck", out / "logs", stop, signal.SIGSTOP)))
    stopper.start()
    grader.join(timeout=240)
    stop.set()
    stopper.join()
    by_id = {r.student_id: r for r in rows}
    assert set(by_id) == {"ada", "ben", "stuck"}
    for student in ("ada", "ben"):
        assert by_id[student].score == by_id[student].max_score == 8.0, by_id[student].status
    assert len(stopped) == 2, stopped
    assert by_id["stuck"].outcome.value == "failed" and by_id["stuck"].status.startswith(
        "not graded: the grading process took too long (the grader ended it) while grading this notebook, twice"), \
        by_id["stuck"].status


def test_by_default_one_worker_per_core_this_command_may_use(tmp_path):
    """`grade` without --jobs starts one worker per core it may run on (a Slurm job's, `taskset`'s), not one per
    core of the machine: here it may use one, so one worker grades the two students."""
    subs = tmp_path / "subs"
    for student in ("ada", "ben"):
        samples.write_submission(subs, student, NB, samples.fill(NB))
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    done = subprocess.run(["taskset", "-c", str(min(os.sched_getaffinity(0))), sys.executable, "-m", "autograder",
                           "grade", str(subs), "--out", str(tmp_path / "out"), "--quiet"],
                          capture_output=True, text=True, timeout=300, env=env,
                          cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list((tmp_path / "out" / "logs").glob("worker-*.log"))) == 1
    assert (tmp_path / "out" / "grades.csv").read_text().count(",8,8") == 2


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_workers_end_when_the_command_is_killed(tmp_path):
    """`timeout` or `kill` ends `grade` with SIGTERM: its workers (and with them their kernel templates) end too.
    They used to wait for ever, each with its sandbox, for work from a command that was gone."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    for student in ("ada", "ben", "cal"):
        samples.write_submission(subs, student, NB, samples.fill(NB, {"head_dim": SLOW}))
    command = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out), "--quiet",
                                "--jobs", "2"], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, grading = time.monotonic() + 120, []
    while len(grading) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        grading = [int(re.findall(r"\d+", log.name)[0]) for log in (out / "logs").glob("worker-*.log")
                   if ": grading" in log.read_text(errors="replace")] if (out / "logs").is_dir() else []
    assert len(grading) == 2 and all(_running(pid) for pid in grading), "two workers should be grading by now"
    command.terminate()
    command.wait(timeout=30)
    deadline = time.monotonic() + 15
    while any(_running(pid) for pid in grading) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in grading if _running(pid)], "a worker outlived the command"


# Found by attacking the grader: zmq bounds each part of a message from the kernel (2 MiB), not how many parts one
# has. Called by its check, this head_dim sends two output messages of 450 parts (900 MB each, one buffer in the
# kernel): a grading worker held 2 GB of them.
MANY_PARTS = samples.reference_answers(NB)["head_dim"] + '''
_head_dim = head_dim
def head_dim(d_model, num_heads):
    if not globals().get("_sent"):
        globals()["_sent"] = True
        k = get_ipython().kernel
        part = b"x" * ((2 << 20) - 4096)
        for _ in range(2):
            k.session.send(k.iopub_socket, "display_data", {"data": {"text/plain": "hi"}, "metadata": {}},
                           buffers=[part] * 450)
        import time
        time.sleep(3)
    return _head_dim(d_model, num_heads)
'''


def test_grading_in_this_process_is_bounded_too_and_the_limit_restored(tmp_path, monkeypatch):
    """`--jobs 1` (and a single student) grades in the command's own process: there the limit is what it has plus
    pool.WORKER_DATA_MB while it grades, and the limit it had before comes back after."""
    import resource

    monkeypatch.setattr(pool, "WORKER_DATA_MB", 700)
    samples.write_submission(tmp_path / "subs", "many_parts", NB, samples.fill(NB, {"head_dim": MANY_PARTS}))
    before = resource.getrlimit(resource.RLIMIT_DATA)
    [row] = grading.grade(tmp_path / "subs", tmp_path / "out", progress=False, jobs=1)
    assert resource.getrlimit(resource.RLIMIT_DATA) == before
    assert row.score == row.max_score == 8.0 and row.outcome.value == "graded", row.status
    assert "[output lost: your code sent more than 2 MiB of output at once" in (tmp_path / "out" / row.feedback).read_text()


def test_a_kernel_cant_make_a_grading_worker_hold_more_than_its_memory_limit(tmp_path, monkeypatch):
    """Past a worker's limit (pool.WORKER_DATA_MB, 700 MiB here: a worker grading notebook 01 takes about 250)
    zmq can't take the message and drops the connection: the output is lost, with a note, and the grading goes on.
    Without the limit that worker peaked at 2 GB and showed no note."""
    monkeypatch.setattr(pool, "WORKER_DATA_MB", 700)
    subs = tmp_path / "subs"
    for student in ("ada", "ben"):
        samples.write_submission(subs, student, NB, samples.fill(NB))
    samples.write_submission(subs, "many_parts", NB, samples.fill(NB, {"head_dim": MANY_PARTS}))
    out = tmp_path / "out"
    by_id = {r.student_id: r for r in grading.grade(subs, out, progress=False, jobs=2)}
    assert set(by_id) == {"ada", "ben", "many_parts"}
    for row in by_id.values():
        assert row.score == row.max_score == 8.0 and row.outcome.value == "graded", (row.student_id, row.status)
    assert "[output lost: your code sent more than 2 MiB of output at once" in (out / by_id["many_parts"].feedback).read_text()
