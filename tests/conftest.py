"""Shared fixtures: one grading batch per test session, because every graded notebook starts a kernel."""
from __future__ import annotations

import os

# the suite runs 3 test processes on 2 cores (-n 3): one thread each for PyTorch and BLAS, here and in every
# kernel they start (the grader keeps a caller's OMP_NUM_THREADS; test_forkserver.py tests the share it picks)
os.environ.setdefault("OMP_NUM_THREADS", "1")

import gc  # noqa: E402
import subprocess  # noqa: E402
from concurrent.futures import ThreadPoolExecutor
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder import checklevel, grading, samples
from autograder.paths import COURSE, notebook_names

gc.freeze()   # as `python -m autograder` does: pytest and the imported grader live as long as the process

CATALOGUE_DIR = Path(__file__).parent / "catalogue"
NOTEBOOKS = notebook_names(COURSE)


def running(*argv: str) -> list[str]:
    """Pids on this machine whose command line starts with `argv` (a daemon that outlived its kernel)."""
    want = [a.encode() for a in argv]
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes().split(b"\0")[:len(want)] == want:
                found.append(cmdline.parent.name)
        except OSError:
            pass
    return found


def pytest_configure(config):
    """The grader's bytecode, written once before the test processes start: where PYTHONDONTWRITEBYTECODE is set
    (as on this project's machines), each Python the suite starts that imports the grader (commands, workers,
    forkservers) would compile it again, about 0.1 CPU-s each."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        import compileall
        compileall.compile_dir(Path(__file__).resolve().parent.parent / "autograder", quiet=1)


#: test files that read a suite-wide grading run: they share a test process (see pytest_xdist_make_scheduler)
SHARED = {"tests/test_catalogue.py": "batch", "tests/test_feedback.py": "batch", "tests/test_solutions.py": "batch",
          "tests/test_scan.py": "batch",
          "tests/test_cli.py": "demo", "tests/test_browser.py": "demo"}


#: the test files (and SHARED groups) that take longest, longest first: they start first
LONGEST = ["batch", "tests/test_tampering.py", "demo", "tests/test_isolation.py", "tests/test_fake_cuda.py",
           "tests/test_mixed_batch.py", "tests/test_pool.py", "tests/test_forkserver.py", "tests/test_grading_speed.py",
           "tests/test_attacks.py", "tests/test_bench.py", "tests/test_shard.py", "tests/test_nbexport.py",
           "tests/test_lifecycle_attacks.py", "tests/test_scheduler.py", "tests/test_check_helpers.py",
           "tests/test_selfcheck.py", "tests/test_gradescope.py", "tests/test_options.py", "tests/test_intake_hostile.py",
           "tests/test_intake_lms.py", "tests/test_gradebook.py"]


def pytest_xdist_make_scheduler(config, log):
    """The suite runs in 3 processes on 2 cores (pytest-xdist; `-n 3` in pyproject.toml): much of a test's time
    is a kernel or a browser working, or a timeout running out, while a core waits; a fourth process kept the
    cores no busier and spent 5-10% more CPU on the same work (bench/README.md). Each test file runs whole in one
    process, so its module-scoped grading runs once, and the files that read the suite-wide `batch` or `demo_run`
    share one process each, so those run once too. (xdist's own `--dist loadgroup` ignores groups under pytest 9.2:
    pytest-dev/pytest-xdist#1386.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return SHARED.get(file, file)

        def _assign_work_unit(self, node) -> None:
            # the longest first (LONGEST), so that no long one starts last while the other process idles
            rank = {scope: i for i, scope in enumerate(LONGEST)}
            for scope in sorted(self.workqueue, key=lambda s: rank.get(s, len(rank))):
                self.workqueue.move_to_end(scope)
            super()._assign_work_unit(node)

    return ByFile(config, log)


def pytest_collection_modifyitems(config, items):
    """A test that reads `batch` or `demo_run` must be in a file that SHARED lists, or it runs them again."""
    for item in items:
        file = item.nodeid.split("::", 1)[0]
        params = getattr(getattr(item, "callspec", None), "params", {})   # `batch` can be a parameter's name too
        for fixture in ("batch", "demo_run"):
            if fixture in getattr(item, "fixturenames", ()) and fixture not in params \
                    and SHARED.get(file) != fixture.split("_")[0]:
                raise pytest.UsageError(f"{item.nodeid} uses `{fixture}`: list {file} in SHARED in tests/conftest.py")


def catalogue_files() -> list[Path]:
    return sorted(CATALOGUE_DIR.glob("nb*.py"))


#: Lines of notebooks 05, 06 and 08 that set how long their demonstrations time and train. The cells are not
#: locked: a learner may shorten them, and the grader grades what was handed in. The suite's whole-notebook gradings
#: of a wrong or hostile 05/06/08 (the catalogue's sample, test_tampering) hand them in shortened: no check reads
#: what the timings and trainings make, and the demo grades the notebooks as released (ada's full marks, 08's loss
#: below the unigram baseline).
SHORTER_RUNS = {
    "05_gpu_speed.ipynb": {"MIN_RUN_TIME, MAX_RUN_TIME = (0.005, 0.03) if FAST":
                           "MIN_RUN_TIME, MAX_RUN_TIME = (0.001, 0.002) if FAST",
                           "ROUNDS, ROUND_TIME = (3, 0.005) if FAST": "ROUNDS, ROUND_TIME = (1, 0.001) if FAST"},
    "06_heads_in_action.ipynb": {"STEPS = 500 if FAST else 1000": "STEPS = 50 if FAST else 1000"},
    "08_transformer_capstone.ipynb": {"STEPS = 80 if FAST else 1500": "STEPS = 12 if FAST else 1500",
                                      "GQA_STEPS = 30 if FAST else 300": "GQA_STEPS = 3 if FAST else 300",
                                      'assert history["val"][-1] < UNIGRAM_LOSS, (':
                                          'assert history["val"][-1] < history["val"][0], ('}}


def shorter_runs(notebook: str, nb):
    """`nb` (notebook `notebook`, filled) with SHORTER_RUNS's lines changed, as a learner in a hurry would."""
    for old, new in SHORTER_RUNS.get(notebook, {}).items():
        cells = [cell for cell in nb.cells if cell.cell_type == "code" and old in cell.source]
        assert len(cells) == 1, f"{notebook}'s line {old!r} changed: update SHORTER_RUNS in tests/conftest.py"
        cells[0].source = cells[0].source.replace(old, new)
    return nb


#: the blank notebooks graded whole too (the others at check level): one without a question, one with one
WHOLE_BLANKS = ("01_projections.ipynb", "03_concat_vs_sum.ipynb")


@dataclass
class Batch:
    """What the suite-wide grading produced (see `batch`)."""
    by_student: dict[str, list]       # every student's Results: whole-notebook or check-level
    cases: dict[str, dict]            # catalogue cases by student id (with "kind")
    out: Path                         # the whole-notebook grading's output folder (feedback pages, ...)
    both: dict[tuple[str, str], tuple]  # graded both ways: {(student, notebook): (whole Result, check-level Result)}
    whole: set[str]                   # catalogue cases that needed the whole notebook (checklevel.needs_whole_notebook)

    def __iter__(self):               # `by_student, cases, out = batch`
        return iter((self.by_student, self.cases, self.out))


@pytest.fixture(scope="session")
def batch(tmp_path_factory):
    """Every notebook's blank copy and every catalogue case, graded at the level of checks
    (autograder/checklevel.py: one kernel per notebook), except the cases that need the whole notebook; and,
    to compare (test_catalogue.py), graded both ways: the first wrong case of each notebook and WHOLE_BLANKS."""
    root = tmp_path_factory.mktemp("batch")
    subs = root / "submissions"
    cases, quick, whole = {}, {}, set()
    for name in NOTEBOOKS:   # the solutions are graded whole by the demo (ada: tests/test_cli.py)
        blank = samples.fill(name, blank=True)
        needs_whole = bool(checklevel.needs_whole_notebook(samples.fill(name), blank))
        if name in WHOLE_BLANKS or needs_whole:
            samples.write_submission(subs, "blank", name, blank)
        if name in WHOLE_BLANKS or not needs_whole:
            quick.setdefault(name, {})["blank"] = samples.reference_answers(name, COURSE)   # the stubs
    sampled = {("wrong-head_dim_no_num_heads_check", NOTEBOOKS[0])}   # its feedback page: test_feedback.py
    sampled |= {("blank", name) for name in WHOLE_BLANKS}
    for path in catalogue_files():
        cat = samples.load_catalogue(path)
        nb, base = cat["NOTEBOOK"], samples.fill(cat["NOTEBOOK"])
        sampled.add((f"wrong-{cat['WRONG'][0]['name']}", nb))
        for kind in ("WRONG", "CORRECT"):
            for case in cat[kind]:
                student = f"{kind.lower()}-{case['name']}"
                cases[student] = {**case, "kind": kind}
                filled = samples.fill(nb, case["answers"])
                if (student, nb) not in sampled and checklevel.needs_whole_notebook(base, filled):
                    whole.add(student)
                else:
                    quick.setdefault(nb, {})[student] = case["answers"]
                if (student, nb) in sampled or student in whole:
                    samples.write_submission(subs, student, nb, shorter_runs(nb, filled))
    # the check-level sessions (one worker process, one notebook after another) run while the whole notebooks grade
    # in this process: fewer processes ready to run at once spend less CPU switching between them (bench/README.md;
    # the sessions in a thread of this process would share its sys.stdout, which a check redirects while it runs)
    with ThreadPoolExecutor(1) as side:
        quick_results = side.submit(checklevel.grade_many, quick, 1)
        results = grading.grade(subs, root / "out", progress=False, jobs=1)
        quick_results = quick_results.result()
    by_student: dict[str, list] = {}
    for r in results:
        by_student.setdefault(r.student_id, []).append(r)
    both = {}
    for r in quick_results:
        if (r.student_id, r.notebook) in sampled:
            both[(r.student_id, r.notebook)] = (next(w for w in by_student[r.student_id] if w.notebook == r.notebook), r)
        else:
            by_student.setdefault(r.student_id, []).append(r)
    return Batch(by_student, cases, root / "out", both, whole)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The README's first command, `python -m autograder demo`, run once for every test that reads what it
    printed or wrote: (the finished process, its --out folder)."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    done = subprocess.run([sys.executable, "-m", "autograder", "demo", "--out", str(out)],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=900)
    return done, out

