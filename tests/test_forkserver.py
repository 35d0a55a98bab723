"""Kernels forked from one template per worker (forkserver.py) keep students apart like fresh ones do.

One worker (jobs=1) grades its students one after another from the same template: what a student
leaves behind (files, a daemon, a patched module) is gone for the next one, a student who kills or
stops the template loses only their own notebook, and the template's memory is out of reach. The
fresh-kernel mode (`kernels="fresh"`) still grades the hostile cases as before. Needs bubblewrap.
"""
import os
import re
from pathlib import Path

import nbformat
import pytest

from autograder import forkserver, grading, preload, samples, sandbox
from autograder.paths import COURSE
from autograder.sandbox import Limits
from conftest import NOTEBOOKS, running

NB = NOTEBOOKS[0]
LIMITS = Limits(notebook_timeout=120, memory_mb=1024, processes=64)
CORRECT = samples.reference_answers(NB)["head_dim"]
RANDOM = "import numpy\nprint(f'RANDOM {numpy.random.rand():.12f}')\n"

needs_bwrap = pytest.mark.skipif(not sandbox.bwrap_works(), reason="bubblewrap is not installed (apt-get install bubblewrap)")

SEQUENCE = {   # graded in this order by one worker
    "a_leaves_traces": ("import os, sys\nopen('leak.txt', 'w').write('secret')\n"
                        "sys.modules['numpy'].leaked_by = 'a'\n"
                        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                        "        os.execvp('sleep', ['sleep', '2718'])\n    os._exit(0)\n" + RANDOM + CORRECT),
    "a2_locks_its_folder": ("import os\nos.makedirs('d/e')\nopen('d/e/f', 'w').write('x')\n"
                            "for path in ('d/e', 'd', '.'):\n    os.chmod(path, 0o500)\n" + CORRECT),
    "b_finds_nothing": ("import os, numpy\n"
                        "assert not os.path.exists('leak.txt'), 'a file of the previous student is here'\n"
                        "assert not os.path.exists('d'), 'a folder of the previous student is here'\n"
                        "open('mine.txt', 'w').write('my folder is writable')\n"
                        "assert not hasattr(numpy, 'leaked_by'), \"the previous student's numpy is here\"\n"
                        "alive = [p for p in os.listdir('/proc') if p.isdigit()\n"
                        "         and open(f'/proc/{p}/cmdline', 'rb').read().startswith(b'sleep')]\n"
                        "assert not alive, f'a process of the previous student is alive: {alive}'\n"
                        # the template pauses and freezes its garbage collector while it imports: not the kernel's
                        "import gc\nassert gc.isenabled() and gc.get_threshold() == (700, 10, 10), 'gc is off'\n"
                        # nor its way of waking when a kernel ends (a SIGCHLD handler writing to a pipe)
                        "import signal\nassert signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL, 'SIGCHLD'\n"
                        "assert signal.set_wakeup_fd(-1) == -1, 'a wakeup fd is set'\n"
                        + RANDOM + CORRECT),
    "c_kills_template": "import os, signal, time\nos.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(5)\n" + CORRECT,
    "d_after_kill": CORRECT,
    "e_stops_template": "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n" + CORRECT,
    "f_after_stop": CORRECT,
    "g_reads_template_memory": "import os\nopen(f'/proc/{os.getppid()}/mem', 'rb').read(1)\n" + CORRECT,
    "h_last": CORRECT,
}


def _write(subs: Path, cases: dict[str, str]) -> None:
    """One notebook-01 submission per student, with `cases[student]` as its head_dim cell."""
    for student, source in cases.items():
        samples.write_submission(subs, student, NB, samples.fill(NB, {"head_dim": source}))


def test_imports_of_lists_top_level_imports(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\nfrom matplotlib import pyplot as plt\nimport os.path"),
        nbformat.v4.new_code_cell("%matplotlib inline"),             # not Python: skipped
        nbformat.v4.new_code_cell("def f():\n    import torch\n"),   # not at top level: not preloaded
        nbformat.v4.new_code_cell("from . import sibling"),          # relative: skipped
        nbformat.v4.new_markdown_cell("import pandas"),
    ])
    nbformat.write(nb, tmp_path / "x.ipynb")
    assert preload.imports_of([tmp_path / "x.ipynb"]) == ["matplotlib", "numpy", "os.path"]


def test_the_template_also_loads_what_torch_nn_imports_on_first_use(tmp_path):
    """PyTorch's optimizers import torch._dynamo (and sympy) when first made: about a second in every kernel of
    notebooks 04, 06 and 08 unless the template has it; a notebook without torch.nn doesn't pay for it."""
    import subprocess
    import sys

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import torch\nimport torch.nn as nn")])
    nbformat.write(nb, tmp_path / "x.ipynb")
    assert preload.imports_of([tmp_path / "x.ipynb"]) == ["torch", "torch._dynamo", "torch.nn"]
    # the grader's own processes (workers.context) import only what the cells import: no optimizer runs there
    assert preload.imports_of([tmp_path / "x.ipynb"], first_use=False) == ["torch", "torch.nn"]
    assert "torch._dynamo" not in preload.imports_of([COURSE / NB])
    # what ON_FIRST_USE says is true of the installed PyTorch: making an optimizer imports torch._dynamo
    probe = ("import sys, torch, torch.nn as nn\nassert 'torch._dynamo' not in sys.modules\n"
             "torch.optim.Adam(nn.Linear(2, 2).parameters())\nprint('torch._dynamo' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "True"


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    if not sandbox.bwrap_works():
        pytest.skip("bubblewrap is not installed")
    root = tmp_path_factory.mktemp("forked")
    subs = root / "submissions"
    _write(subs, SEQUENCE)
    rows = grading.grade(subs, root / "out", cell_timeout=20, progress=False, jobs=1, limits=LIMITS,
                         isolation="bwrap", kernels="fork")
    return {r.student_id: r for r in rows}, root / "out"


def _full(row):
    assert row.status == "graded" and row.score == row.max_score > 0, (row.score, row.status, row.failed)


@needs_bwrap
def test_nothing_of_one_student_is_left_for_the_next(sequence):
    rows, out = sequence
    _full(rows["a_leaves_traces"])
    _full(rows["a2_locks_its_folder"])
    _full(rows["b_finds_nothing"])
    drawn = [re.search(r"RANDOM (\d\.\d+)", (out / "feedback" / s / "01_projections.html").read_text()).group(1)
             for s in ("a_leaves_traces", "b_finds_nothing")]
    assert drawn[0] != drawn[1], "two forked kernels drew the same unseeded random numbers"
    assert not running("sleep", "2718"), "the daemon outlived its notebook"


@needs_bwrap
def test_killing_or_stopping_the_template_costs_only_that_notebook(sequence):
    rows, _ = sequence
    killer = rows["c_kills_template"]
    assert killer.score == 0 and "head_dim" in killer.status and "kernel" in killer.status, killer.status
    _full(rows["d_after_kill"])
    _full(rows["e_stops_template"])   # its own kernel runs on; the stopped template is replaced after it
    _full(rows["f_after_stop"])
    _full(rows["h_last"])


@needs_bwrap
def test_the_template_memory_is_out_of_reach(sequence):
    row = sequence[0]["g_reads_template_memory"]
    assert "head_dim raised PermissionError" in row.status and row.score < row.max_score, row.status


@needs_bwrap
def test_fresh_kernels_still_grade_hostile_code(tmp_path):
    cases = {"d_os_exit": "import os\nos._exit(3)\n", "e_segfault": "import ctypes\nctypes.string_at(0)\n",
             "j_daemon": ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                          "        os.execvp('sleep', ['sleep', '2719'])\n    os._exit(0)\n"
                          "time.sleep(0.5)\n" + CORRECT), "z_correct": CORRECT}
    subs = tmp_path / "submissions"
    _write(subs, cases)
    rows = {r.student_id: r for r in grading.grade(subs, tmp_path / "out", progress=False, jobs=1, limits=LIMITS,
                                                      isolation="bwrap", kernels="fresh")}
    assert rows["d_os_exit"].score == 0 and "head_dim ended the kernel (exit status 3" in rows["d_os_exit"].status
    assert rows["e_segfault"].score == 0 and "head_dim crashed (segmentation fault)" in rows["e_segfault"].status
    _full(rows["j_daemon"])
    _full(rows["z_correct"])
    assert not running("sleep", "2719"), "the daemon outlived its kernel"


@needs_bwrap
def test_a_template_that_does_not_start_falls_back_to_fresh_kernels(tmp_path, monkeypatch):
    started = []

    class Counted(forkserver.Template):
        def __init__(self, *args):
            started.append(1)
            super().__init__(*args)

    monkeypatch.setattr(forkserver, "SOURCE", "import time\ntime.sleep(600)\n")   # never says it is ready
    monkeypatch.setattr(forkserver, "READY_TIMEOUT", 2)
    monkeypatch.setattr(forkserver, "Template", Counted)
    monkeypatch.setattr(forkserver, "_templates", {})
    monkeypatch.setattr(forkserver, "_unstartable", set())
    subs = tmp_path / "submissions"
    _write(subs, {"amy": CORRECT, "bob": "def head_dim(d_model, num_heads):\n    return d_model // num_heads\n",
                  "cal": CORRECT})
    rows = {r.student_id: r for r in grading.grade(subs, tmp_path / "out", progress=False, jobs=1, limits=LIMITS,
                                                      isolation="bwrap", kernels="fork")}
    _full(rows["amy"])
    assert rows["bob"].score < rows["bob"].max_score and "check_head_dim" in rows["bob"].failed
    _full(rows["cal"])
    assert len(started) == 1, "the worker kept starting templates that never got ready"


@needs_bwrap
def test_what_the_template_says_on_stderr_is_in_the_log(tmp_path):
    """A module the template could not preload is named in the worker's log (its stderr is kept, bounded)."""
    from autograder import logs

    log = logs.to_file(tmp_path, "worker-test")
    template = forkserver.Template(LIMITS, ["json", "no_such_module_for_the_log"])
    assert template.wait_ready()
    template.close()
    text = log.read_text()
    assert "stderr of the kernel template, at its end:" in text
    assert "preloading no_such_module_for_the_log failed: ModuleNotFoundError" in text, text


def test_a_flood_on_stderr_is_kept_to_its_head_and_tail():
    import os

    from autograder.stderrlog import StderrTail

    tail = StderrTail(keep=100)
    with os.fdopen(os.dup(tail.fd), "wb") as w:
        w.write(b"first words " + b"x" * 1_000_000 + b" last words")
    tail.close_writer()
    assert tail.wait_closed(10)
    text = tail.take()
    assert text.startswith("first words") and text.endswith("last words") and len(text) < 300, text[:400]
    assert "bytes left out" in text


def test_a_new_kernel_with_the_pid_of_an_earlier_one_is_not_taken_for_dead():
    """PIDs come round again in the template's sandbox (a notebook can run through them with threads). The exit
    the template reported for an earlier kernel must not make a later kernel with the same pid look dead: that
    student's notebook would stop at its first cell."""
    import json
    import os
    import threading

    class Running:   # the template process, as Template reads it: replies on stdout, never exiting
        def __init__(self, fd: int) -> None:
            self.stdout = os.fdopen(fd, "rb")

        def poll(self):
            return None

    template = forkserver.Template.__new__(forkserver.Template)
    read_end, write_end = os.pipe()
    template.proc = Running(read_end)
    template._cond, template._replies, template._exits = threading.Condition(), {}, {}
    template._ready = template._dead = False
    reader = threading.Thread(target=template._read, daemon=True)
    reader.start()
    for message in ({"ready": 1}, {"exit": 4242, "status": -9}, {"id": 7, "pid": 4242}):   # old kernel, new one
        os.write(write_end, (json.dumps(message) + "\n").encode())
    with template._cond:
        assert template._cond.wait_for(lambda: 7 in template._replies, 5)
    assert template.returncode(4242) is None, "the new kernel is running"
    os.write(write_end, (json.dumps({"exit": 4242, "status": 0}) + "\n").encode())
    with template._cond:
        assert template._cond.wait_for(lambda: 4242 in template._exits, 5)
    assert template.returncode(4242) == 0
    os.close(write_end)
    reader.join(5)


@pytest.mark.skipif(not sandbox.bwrap_works(), reason="bubblewrap is not installed")
def test_workers_take_the_callers_environment_and_leave_no_sandbox(monkeypatch):
    """Grading workers are forked from one process that imported the grader (autograder/workers.py), not started
    anew: each still takes the environment of the process that grades (here TMPDIR, where sandboxes are made), and
    removes its kernel template's sandbox when it ends (a forked worker runs no atexit)."""
    import tempfile

    import nbformat

    from autograder import workers

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)   # as an instructor runs it (conftest.py sets it)
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="w-") as tmp:
        monkeypatch.setenv("TMPDIR", tmp)
        subs = Path(tmp) / "subs"
        for student in ("amy", "bob"):
            nb = samples.fill(NB)
            nb.cells.append(nbformat.v4.new_code_cell("import os\nprint('threads:', os.environ['OMP_NUM_THREADS'])"))
            samples.write_submission(subs, student, NB, nb)
        rows = grading.grade(subs, Path(tmp) / "out", progress=False, jobs=2, limits=LIMITS)
        assert [r.score for r in rows] == [8.0, 8.0], [r.status for r in rows]
        assert (Path(tmp) / "mha-sandboxes").is_dir(), "the workers made their sandboxes somewhere else"
        assert not list((Path(tmp) / "mha-sandboxes").iterdir())
        # two workers share the cores: each kernel's PyTorch and BLAS start half of them, not all
        share = max(1, workers.cores() // 2)
        for row in rows:
            assert f"threads: {share}" in (Path(tmp) / "out" / row.feedback).read_text()


def test_an_instructors_thread_count_is_kept(monkeypatch):
    from autograder import workers

    monkeypatch.setattr(workers, "cores", lambda: 8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert workers.here(2)[0]["OMP_NUM_THREADS"] == "4" and workers.here(16)[0]["OMP_NUM_THREADS"] == "1"
    assert "OMP_NUM_THREADS" not in workers.here(1)[0]   # one worker (or --jobs 1): PyTorch's own default
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert workers.here(2)[0]["OMP_NUM_THREADS"] == "3"


@pytest.mark.skipif(not sandbox.bwrap_works(), reason="bubblewrap is not installed")
def test_a_long_tmpdir_still_grades(tmp_path, monkeypatch):
    """Found while testing the workers: under a TMPDIR of 70 characters or so the grader's socket for the checks
    could not be made (a unix socket's path has at most 107 bytes), and every notebook was "not graded"."""
    import tempfile

    long = tmp_path / ("x" * 60)
    long.mkdir()
    monkeypatch.setenv("TMPDIR", str(long))
    monkeypatch.setattr(tempfile, "tempdir", None)
    samples.write_submission(tmp_path / "subs", "amy", NB, samples.fill(NB))
    row, = grading.grade(tmp_path / "subs", tmp_path / "out", progress=False, jobs=1, limits=LIMITS)
    assert row.score == row.max_score == 8.0, row.status


def test_grading_workers_start_with_the_notebooks_modules_imported(tmp_path):
    """The process that grading workers are forked from has imported what the graded notebooks import (a worker's
    checker runs their locked cells: `import torch` there is a second per worker otherwise) and the gradebook's
    SQLite dialect; one that fails to import costs nothing more. In a new Python, as its forkserver starts with the
    first pool of a process."""
    import subprocess
    import sys

    (tmp_path / "probe.py").write_text(
        "import sys\n\ndef seen():\n"
        "    return [m for m in ('colorsys', 'sqlalchemy.dialects.sqlite') if m in sys.modules]\n")
    # a notebook module that fails on import with something else than ImportError (a broken install's OSError)
    (tmp_path / "broken_install.py").write_text("raise OSError('libcudart.so: cannot open shared object file')\n")
    main = ("from concurrent.futures import ProcessPoolExecutor\nimport probe\nfrom autograder import workers\n"
            "with ProcessPoolExecutor(1, mp_context=workers.context(['broken_install', 'colorsys'])) as pool:\n"
            "    print(pool.submit(probe.seen).result())\n")
    done = subprocess.run([sys.executable, "-c", main], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['colorsys', 'sqlalchemy.dialects.sqlite']", done.stdout


def test_kernels_start_with_the_graders_font_list(tmp_path):
    """Each template and fresh kernel gets Matplotlib's list of the system's fonts from the grader
    (jail.seed_font_cache) and uses it as it is, instead of scanning the fonts again (a rebuilt list is
    written back to the same file)."""
    import subprocess
    import sys

    import matplotlib.font_manager  # noqa: F401 - makes this machine's list if it has none yet
    from autograder import jail

    work = tmp_path / "work"
    work.mkdir()
    jail.seed_font_cache(work)
    assert jail.kernel_env(work)["MPLCONFIGDIR"] == str(work / ".matplotlib")
    [copied] = (work / ".matplotlib").glob("fontlist-v*.json")
    os.utime(copied, (0, 0))
    draw = "import matplotlib.pyplot as plt\nplt.text(0, 0, 'x')\nplt.savefig('x.png')\n"
    done = subprocess.run([sys.executable, "-c", draw], cwd=work, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MPLCONFIGDIR": str(work / ".matplotlib"), "MPLBACKEND": "agg"})
    assert done.returncode == 0, done.stderr
    assert (work / "x.png").exists()
    assert copied.stat().st_mtime == 0, "the kernel scanned the fonts again and rewrote the list"
