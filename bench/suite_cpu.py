"""Where the test suite's time goes: each test file run alone, with the CPU time the machine spent on it.

The suite runs in 3 processes on 2 cores (pyproject.toml) and keeps both cores busy nearly all the time, so its
wall time is about its CPU time / 2: CPU time is the figure to cut. Files that share a suite-wide fixture
(`SHARED` in tests/conftest.py) run together, as they do in the suite. Each run is measured machine-wide from
/proc/stat (Linux; the grading workers and kernels are not this process's children, so `getrusage` misses
them): run it on an otherwise quiet machine.

The same commit takes up to 1.5x more CPU on one day than on another (the host's load). A fixed Python loop is
timed first and last; compare two days by `CPU / loop`, not by seconds.

    python bench/suite_cpu.py                                # every file, about as long as `pytest -n 0`
    python bench/suite_cpu.py tests/test_pool.py --json out.json
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from grading_speed import busy_cpu_seconds  # noqa: E402  (the machine's busy CPU, from /proc/stat)


def calibration_s(steps: int = 20_000_000) -> float:
    """CPU seconds of a fixed pure-Python loop: this machine's speed now."""
    start, total = time.process_time(), 0
    for i in range(steps):
        total += i
    return time.process_time() - start


def groups(files: list[str]) -> list[list[str]]:
    """The files, those that share a suite-wide fixture together (as the suite runs them)."""
    tree = ast.parse((REPO / "tests" / "conftest.py").read_text())   # read, not imported: it imports the grader
    shared = next(ast.literal_eval(node.value) for node in tree.body
                  if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == ["SHARED"])
    together: dict[str, list[str]] = {}
    for file in files:
        together.setdefault(shared.get(file, file), []).append(file)
    return list(together.values())


def run(files: list[str]) -> dict:
    """Run `files` alone in one pytest process: wall and machine-wide busy CPU seconds, and pytest's summary."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env.setdefault("OMP_NUM_THREADS", "1")
    cpu, wall = busy_cpu_seconds(), time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", *files],
                          cwd=REPO, env=env, capture_output=True, text=True)
    wall, cpu = time.monotonic() - wall, busy_cpu_seconds() - cpu
    lines = done.stdout.strip().splitlines()
    summary = re.sub(r"=+", "", lines[-1]).strip() if lines else done.stderr.strip()[-200:]
    return {"files": files, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "summary": summary,
            "ok": done.returncode == 0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="*", help="test files (default: every tests/test_*.py)")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    if not Path("/proc/stat").exists():
        print("suite_cpu.py reads /proc/stat: run it on Linux", file=sys.stderr)
        return 2
    files = args.files or sorted(str(f.relative_to(REPO)) for f in (REPO / "tests").glob("test_*.py"))
    loop_before = calibration_s()
    rows = []
    for group in groups(files):
        rows.append(run(group))
        print(f"{rows[-1]['cpu_s']:8.1f} CPU-s {rows[-1]['wall_s']:7.1f} s  {' '.join(group)}: {rows[-1]['summary']}",
              flush=True)
    loop = (loop_before + calibration_s()) / 2
    total = sum(r["cpu_s"] for r in rows)
    print(f"\n{'CPU-s':>8} {'share':>6} {'CPU/loop':>9}  files (largest first)")
    for r in sorted(rows, key=lambda r: -r["cpu_s"]):
        print(f"{r['cpu_s']:8.1f} {r['cpu_s'] / total:6.1%} {r['cpu_s'] / loop:9.1f}  {' '.join(r['files'])}"
              + ("" if r["ok"] else "  (FAILED)"))
    print(f"{total:8.1f} {1:6.0%} {total / loop:9.1f}  all; loop {loop:.2f} CPU-s (20M Python steps)")
    print("(each file here pays its own pytest start-up, about 3 CPU-s, which the suite pays once per process;"
          " the suite's wall time on 2 cores is about half its CPU time)")
    if args.json:
        args.json.write_text(json.dumps({"loop_cpu_s": round(loop, 3), "total_cpu_s": round(total, 1),
                                         "rows": rows}, indent=1))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
