"""How fast is `python -m autograder grade` against plain, sequential `nbgrader autograde`?

    python bench/grading_speed.py [--students 24] [--notebook 01_projections.ipynb] [--jobs 2] [--json out.json]

Makes one batch of submissions (three in four correct, the rest with a wrong answer), then times, on
the same batch:
  1. plain nbgrader: `nbgrader autograde mha --force` in a course made by `nbgrader generate_assignment`
     (generating is not timed: a course does it once), with its default Execute and no sandbox;
  2. the same plus `nbgrader generate_feedback mha --force`, which `grade` also does;
  3. `python -m autograder grade SUBS --out OUT --jobs N --quiet` for each N in --jobs: intake, repair,
     scan, sandboxed execution with every check run in the grader, feedback, grades.csv, gradebook, report; the
     whole command, start to end; kernels forked from a template per worker (the default), and for
     each N in --fresh-jobs also with `--kernels fresh` (a new sandbox and Python per notebook).
Prints wall times, notebooks per minute, the ratio to plain nbgrader, the busy CPU-seconds of the whole
machine per notebook (Linux), and what each notebook costs a worker beyond plain nbgrader's cost. Both graders run with MHA_FAST=1, as grading does.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder import samples  # noqa: E402
from autograder.paths import ASSIGNMENT, SOLUTIONS  # noqa: E402

WRONG_HEAD_DIM = "def head_dim(d_model, num_heads):\n    return d_model // num_heads\n"

NBGRADER_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "mha-course"
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
c.Exchange.root = "{root}/exchange"
c.Execute.timeout = 60
"""


def make_batch(folder: Path, students: int, notebook: str) -> None:
    for k in range(students):
        wrong = k % 4 == 3 and notebook.startswith("01")
        samples.write_submission(folder, f"s{k:03d}", notebook,
                                 samples.fill(notebook, {"head_dim": WRONG_HEAD_DIM} if wrong else None))


#: busy CPU-seconds of the whole machine during each command run, in order (Linux /proc/stat)
BUSY: list[float] = []


def busy_cpu_seconds() -> float:
    """CPU time spent by the whole machine, all cores, outside idle and iowait (Linux only)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return float("nan")
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _run(cmd: list[str], cwd: Path, env: dict) -> float:
    start, busy = time.perf_counter(), busy_cpu_seconds()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    BUSY.append(busy_cpu_seconds() - busy)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return took


def plain_nbgrader(subs: Path, notebook: str, env: dict) -> tuple[float, float]:
    """(autograde seconds, generate_feedback seconds) of a plain nbgrader course on the same batch."""
    nbgrader = [sys.executable, "-m", "nbgrader"]
    with tempfile.TemporaryDirectory(prefix="plain-nbgrader-") as tmp:
        root = Path(tmp)
        (root / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(root=root))
        (root / "source" / ASSIGNMENT).mkdir(parents=True)
        (root / "source" / ASSIGNMENT / notebook).write_bytes((SOLUTIONS / notebook).read_bytes())
        _run([*nbgrader, "generate_assignment", ASSIGNMENT, "--force"], root, env)
        for student in sorted(p.name for p in subs.iterdir()):
            target = root / "submitted" / student / ASSIGNMENT
            target.mkdir(parents=True)
            (target / notebook).write_bytes((subs / student / notebook).read_bytes())
        autograde = _run([*nbgrader, "autograde", ASSIGNMENT, "--force", "--create"], root, env)
        feedback = _run([*nbgrader, "generate_feedback", ASSIGNMENT, "--force"], root, env)
    return autograde, feedback


def ours(subs: Path, jobs: int, env: dict, kernels: str = "fork") -> float:
    with tempfile.TemporaryDirectory(prefix="ours-") as tmp:
        return _run([sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(Path(tmp) / "out"),
                     "--jobs", str(jobs), "--kernels", kernels, "--quiet"], REPO, env)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=24)
    p.add_argument("--notebook", default="01_projections.ipynb")
    p.add_argument("--jobs", default="1,2", help="comma-separated worker counts to time (default 1,2)")
    p.add_argument("--fresh-jobs", default="2", help="worker counts to time with --kernels fresh too "
                   "(a new sandbox and Python per notebook; default 2; '' for none)")
    p.add_argument("--json", type=Path, help="also write the figures here")
    p.add_argument("--no-warm-up", action="store_true", help="skip the untimed warm-up run (it fills the generated "
                   "course's cache and Python's bytecode caches, so that the first timed command doesn't pay for them)")
    p.add_argument("--no-plain", action="store_true", help="skip plain nbgrader (for long notebooks: it grades "
                   "them one after another)")
    args = p.parse_args(argv)
    env = {**os.environ, "MHA_FAST": "1", "PYTHONWARNINGS": "ignore"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    n = args.students
    with tempfile.TemporaryDirectory(prefix="speed-") as tmp:
        subs = Path(tmp) / "submissions"
        make_batch(subs, n, args.notebook)
        if not args.no_warm_up:
            warm = Path(tmp) / "warm-up"
            make_batch(warm, 1, args.notebook)
            ours(warm, 1, env)   # warm-up: the generated course cache, Python's bytecode caches
        load_before = os.getloadavg()[0]
        autograde, feedback = (float("nan"), float("nan")) if args.no_plain else plain_nbgrader(subs, args.notebook, env)
        timed = {f"--jobs {j}": ours(subs, j, env) for j in map(int, args.jobs.split(","))}
        timed.update({f"--jobs {j} --kernels fresh": ours(subs, j, env, "fresh")
                      for j in map(int, filter(None, args.fresh_jobs.split(",")))})
        load_after = os.getloadavg()[0]
    per_nb = autograde / n
    rows = [("nbgrader autograde (plain, sequential)", autograde),
            ("nbgrader autograde + generate_feedback", autograde + feedback),
            *((f"autograder grade {j}", t) for j, t in timed.items())]
    print(f"{n} submissions of {args.notebook}, {os.cpu_count()} cores, load average {load_before:.2f} before "
          f"and {load_after:.2f} after\n")
    if args.no_plain:   # only our runs were timed: one BUSY entry each, the last ones
        rows = rows[2:]
        cpu = BUSY[-len(rows):]
    else:
        busy = BUSY[-len(rows) - 1:]   # generate_assignment, autograde, feedback, then ours
        cpu = [busy[1], busy[1] + busy[2], *busy[3:]]
    print(f"{'command':48} | {'wall s':>7} | {'notebooks/min':>13} | {'x plain':>7} | {'busy CPU s/nb':>13}")
    print("-" * 101)
    for (name, t), c in zip(rows, cpu):
        ratio = "-" if args.no_plain else f"{autograde / t:.2f}"
        print(f"{name:48} | {t:7.1f} | {60 * n / t:13.1f} | {ratio:>7} | {c / n:13.2f}")
    for name, t in (() if args.no_plain else timed.items()):
        # the cost of one notebook in a run of `jobs` workers, beyond what plain nbgrader spends on it
        j = int(name.split()[1])
        print(f"\n{name}: {autograde / t:.2f}x plain nbgrader; each notebook costs {t * j / n:.2f} s of a "
              f"worker against {per_nb:.2f} s in plain nbgrader ({t * j / n - per_nb:+.2f} s)")
    if args.json:
        args.json.write_text(json.dumps({
            "students": n, "notebook": args.notebook, "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "load_average_before": load_before, "load_average_after": load_after,
            "plain_autograde_s": None if args.no_plain else autograde,
            "plain_feedback_s": None if args.no_plain else feedback,
            "grade_s": dict(timed),
            "busy_cpu_s": dict(zip([name for name, _ in rows], cpu)),
            "command": "python bench/grading_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        }, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
