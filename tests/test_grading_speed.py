"""The grading-speed benchmark runs end to end and reports both graders; the generated course is cached.

No timing is asserted (CI machines are too noisy); the figures are in the README, from
`python bench/grading_speed.py`. Here one student and no warm-up: only the commands and the table are checked.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder.nbcourse import build_course, cache_dir
from autograder.paths import SOLUTIONS

REPO = Path(__file__).resolve().parent.parent
NB = "01_projections.ipynb"


def test_grading_speed_bench_runs_both_graders(tmp_path):
    out = tmp_path / "speed.json"
    done = subprocess.run([sys.executable, "bench/grading_speed.py", "--students", "1", "--jobs", "1",
                           "--fresh-jobs", "1", "--no-warm-up", "--json", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for row in ("nbgrader autograde (plain, sequential)", "autograder grade --jobs 1 ", "x plain",
                "autograder grade --jobs 1 --kernels fresh"):
        assert row in done.stdout
    figures = json.loads(out.read_text())
    assert figures["students"] == 1 and figures["plain_autograde_s"] > 0
    assert figures["grade_s"]["--jobs 1"] > 0 and figures["grade_s"]["--jobs 1 --kernels fresh"] > 0


def test_the_generated_course_is_cached_until_the_solutions_change(tmp_path, monkeypatch):
    monkeypatch.setenv("MHA_CACHE", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache"
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    shutil.copy2(SOLUTIONS / NB, solutions / NB)
    first = build_course(tmp_path / "a", solutions)
    again = build_course(tmp_path / "b", solutions)
    assert len(list((tmp_path / "cache").iterdir())) == 1
    assert (again.release_dir() / NB).read_bytes() == (first.release_dir() / NB).read_bytes()
    assert (again.root / "gradebook.db").exists()

    nb = nbformat.read(solutions / NB, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("A new paragraph from the instructor."))
    nbformat.write(nb, solutions / NB)
    changed = build_course(tmp_path / "c", solutions)
    assert len(list((tmp_path / "cache").iterdir())) == 2
    assert "A new paragraph from the instructor." in (changed.release_dir() / NB).read_text()
