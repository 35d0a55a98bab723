"""The commands an instructor types: the README's demo, and the catalogue checker."""
import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import NOTEBOOKS

REPO = Path(__file__).resolve().parent.parent


def run(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True)


def test_demo_grades_the_sample_class(demo_run):
    done, out = demo_run
    assert done.returncode == 0, done.stderr[-3000:]
    with (out / "grades.csv").open() as f:
        rows = {(r["student_id"], r["notebook"]): r for r in csv.DictReader(f)}
    first = "01_projections.ipynb"
    assert rows[("ada", first)]["score"] == rows[("ada", first)]["max_score"]
    assert all(r["score"] == r["max_score"] for (s, _), r in rows.items() if s == "ada")
    assert rows[("dan", first)]["score"] == rows[("dan", first)]["max_score"]
    assert float(rows[("ben", first)]["score"]) < float(rows[("ben", first)]["max_score"])
    assert "mix tokens" in rows[("ben", first)]["failed_checks"]
    assert "must be divisible" in rows[("cleo", first)]["failed_checks"]
    assert rows[("eve", first)]["score"] == "0"
    # the cell is named as the feedback page shows it, not by a number the page never shows
    assert rows[("eve", first)]["status"] == "graded; the cell after check_split_heads_batched raised NotImplementedError"
    assert rows[("finn", first)]["score"] == "0" and "not valid JSON" in rows[("finn", first)]["status"]
    # finn's file was refused: a page says why and what to do, where the feedback page would be
    assert rows[("finn", first)]["feedback"] == "feedback/finn/01_projections.html"
    assert "not valid JSON" in (out / "feedback" / "finn" / "01_projections.html").read_text(encoding="utf-8")
    assert "ada" in done.stdout and "mix tokens" in done.stdout   # the table is printed
    # progress counts the readable notebooks (finn's is refused), one by one while ada's (all of them) run
    readable = sum(1 for r in rows.values() if "not valid JSON" not in r["status"])
    counts = {int(n) for n in re.findall(rf"(\d+)/{readable} \[", done.stderr)}
    assert "notebook" in done.stderr and 0 in counts and readable in counts, done.stderr[-2000:]
    assert counts & set(range(readable - 5, readable)), sorted(counts)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_solution_earns_full_marks_through_the_autograder(demo_run, notebook):
    """ada hands in every notebook's reference solution: full marks, a feedback page, nothing flagged."""
    from autograder.merge import read_details

    _, out = demo_run
    row = next(r for r in read_details(out) if r.student_id == "ada" and r.notebook == notebook)
    assert row.status == "graded" and row.max_score > 0, row.status
    assert row.score == row.max_score, row.failed
    assert not row.flags and not row.repairs, (row.flags, row.repairs)
    page = (out / "feedback" / "ada" / notebook.replace(".ipynb", ".html")).read_text(encoding="utf-8")
    assert "BEGIN HIDDEN TESTS" not in page and "def mha_cases_" not in page


def test_catalogue_command_reports_misbehaving_cases(tmp_path):
    cat = tmp_path / "nbtest.py"
    cat.write_text(
        "NOTEBOOK = '01_projections.ipynb'\n"
        "WRONG = [dict(name='floor', answers={'head_dim': 'def head_dim(d_model, num_heads):\\n"
        "    return d_model // num_heads\\n'}, fails={'check_head_dim': 'must be divisible'}),\n"
        "         dict(name='mislabelled', answers={}, fails={'check_head_dim': 'anything'})]\n"
        "CORRECT = []\n")
    done = run("catalogue", str(cat), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "wrong-mislabelled: a wrong answer kept full marks" in done.stdout
    assert "wrong-floor" not in done.stdout.replace("1/2", "")
    assert "1/2 catalogue cases behave as expected" in done.stdout


def test_grade_refuses_a_missing_folder(tmp_path):
    done = run("grade", str(tmp_path / "missing"), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "missing does not exist: give the folder of submissions" in done.stderr, done.stderr
    assert "\nerror: " in "\n" + done.stderr and "Traceback" not in done.stderr   # errors.CourseError, said once


def test_grade_refuses_an_out_inside_the_submissions_or_a_file(tmp_path):
    """Found by a helper: --out inside SUBMISSIONS graded its own output as submissions the next run (10 junk rows,
    a student's folder full of the class's pages); --out naming a file ended in a traceback."""
    from autograder import grading
    from autograder.errors import CourseError

    (tmp_path / "subs" / "amy").mkdir(parents=True)
    (tmp_path / "a_file").write_text("x")
    for out in (tmp_path / "subs", tmp_path / "subs" / "amy"):
        with pytest.raises(CourseError, match="is inside the submissions folder .*--out .*subs-graded"):
            grading.grade(tmp_path / "subs", out, progress=False)
    with pytest.raises(CourseError, match="is a file: give a folder for the grades"):
        grading.grade(tmp_path / "subs", tmp_path / "a_file", progress=False)
    done = run("grade", str(tmp_path / "subs"), "--out", str(tmp_path / "subs" / "out"))
    assert done.returncode == 2 and "is inside the submissions folder" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in (tmp_path / "subs").rglob("*")) == ["amy"], "nothing written into SUBMISSIONS"


def test_grade_says_why_when_the_folder_holds_nothing(tmp_path):
    (tmp_path / "subs").mkdir()
    done = run("grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "nothing to grade in" in done.stderr and "<student_id>/<notebook>.ipynb" in done.stderr, done.stderr
    assert "student  notebook" not in done.stdout   # no empty table


def test_help_lists_every_command():
    from autograder.cli import parser

    p = parser()
    commands = next(a for a in p._actions if a.dest == "command").choices
    text = p.format_help()
    assert "merge" in commands and "catalogue" in commands
    for group in __import__("re").findall(r"\{([a-z,]+)\}", text):   # every {a,b,...} list names them all
        assert set(group.split(",")) == set(commands), (group, text)
    for name in commands:
        assert f"    {name}" in text, text


def test_grade_keeps_a_log_and_shows_it_with_v(tmp_path):
    from autograder import samples

    samples.write_submission(tmp_path / "subs", "s", "01_projections.ipynb", samples.fill("01_projections.ipynb"))
    # what two earlier runs into this OUT left: the last run's logs, and the one before it under earlier/
    old = tmp_path / "out" / "logs"
    (old / "earlier").mkdir(parents=True)
    (old / "earlier" / "worker-5.log").write_text("two runs ago\n")
    (old / "grade.log").write_text("the last run\n")
    (old / "worker-7.log").write_text("the last run's worker\n")
    done = run("grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--quiet", "-v")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "INFO autograder.grading: s 01_projections.ipynb: 8/8, graded" in done.stderr
    assert "already released" not in done.stderr   # course/ is the full release, no staged term (test_staged.py)
    logs = {p.name: p.read_text() for p in old.glob("*.log")}
    assert "grading 1 files from" in logs["grade.log"] and "the last run" not in logs["grade.log"]
    assert any("s 01_projections.ipynb: 8/8, graded" in text for name, text in logs.items() if name.startswith("worker-"))
    assert "worker-7.log" not in logs   # this run's logs only: an earlier worker's file is not appended to
    earlier = {p.name: p.read_text() for p in (old / "earlier").iterdir()}
    assert earlier == {"grade.log": "the last run\n", "worker-7.log": "the last run's worker\n"}


def test_a_grader_failure_keeps_its_traceback_in_the_log(tmp_path):
    """The grade table has one line for a failure of the grader itself; the worker's log has the traceback."""
    import os

    from autograder import logs, pool, samples
    from autograder.intake import Submission

    log = logs.to_file(tmp_path, f"worker-{os.getpid()}")
    pool._worker.update(course=None, out=tmp_path, feedback=None, events=None)   # a grader that breaks
    sub = Submission("s", "01_projections.ipynb", tmp_path / "x.ipynb", samples.fill("01_projections.ipynb"))
    (row,) = pool._grade_in_worker("s", [sub])
    assert row.status.startswith("not graded: grader error (AttributeError") and f"worker-{os.getpid()}.log" in row.status
    text = log.read_text()
    assert "s: the grader failed" in text and "Traceback (most recent call last)" in text
    pool._worker.clear()
