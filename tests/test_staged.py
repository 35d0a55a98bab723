"""A staged term: `release --upto NN` publishes the notebooks up to NN and records them (RELEASED.json); `grade`
warns when the answers of what it grades are in a notebook of that record (the "earlier pieces" cells of later
notebooks). A full release records nothing, and grade is silent: this repository's course/ is one."""
import argparse
import json

import pytest

from autograder import cli, release, staged
from autograder.outcome import Outcome, Result
from autograder.paths import COURSE, notebook_names
from autograder.errors import CourseError
from conftest import NOTEBOOKS


def test_upto_names_a_notebook_by_number_stem_or_file():
    for last in ("3", "03", "03_concat_vs_sum", "03_concat_vs_sum.ipynb"):
        assert staged.upto(NOTEBOOKS, last) == NOTEBOOKS[:3]
    assert staged.upto(NOTEBOOKS, "07") == NOTEBOOKS[:7]
    assert staged.upto(NOTEBOOKS, NOTEBOOKS[-1]) == NOTEBOOKS
    with pytest.raises(CourseError, match="no such notebook"):
        staged.upto(NOTEBOOKS, "99")


def test_later_notebooks_hold_earlier_answers():
    leaks = staged.exposed(COURSE)
    # 02's earlier pieces are 01's head_dim and split_heads: the reference solutions, code for code
    ref, pieces = staged.reference_defs(NOTEBOOKS[0]), staged.earlier_pieces(COURSE / NOTEBOOKS[1])
    assert leaks[NOTEBOOKS[0]][NOTEBOOKS[1]] == ["head_dim", "split_heads"]
    assert all(pieces[name] == ref[name] for name in ("head_dim", "split_heads"))
    assert "score_cost" in ref and "score_cost" not in pieces   # 01's last exercise (1 point) is not given away
    assert NOTEBOOKS[-1] not in leaks                              # nothing comes after 07


def test_staged_release_then_the_full_one(tmp_path, capsys):
    course = tmp_path / "course"
    assert release.release(course, upto="03") == 0
    assert notebook_names(course) == NOTEBOOKS[:3]
    out = capsys.readouterr().out
    assert "answers of 01_projections.ipynb, 02_scaled_attention.ipynb; grade those first" in out
    assert f"recorded what learners now have in {course / 'RELEASED.json'}" in out
    record = json.loads((course / "RELEASED.json").read_text())
    assert record["notebooks"] == NOTEBOOKS[:3] and record["upto"] == NOTEBOOKS[2] and record["released"]
    assert release.release(course, check=True, upto="03") == 0
    full = release.released_notebooks()
    assert all((course / n).read_text(encoding="utf-8") == full[n] for n in NOTEBOOKS[:3])
    # what is released up to 03 gives away 01 and 02, not 03
    assert set(staged.exposed(course)) == set(NOTEBOOKS[:2])
    assert release.release(course, check=True) == 1   # the full release is still checked as before
    out = capsys.readouterr().out
    assert f"stale: course/{NOTEBOOKS[3]}" in out and "RELEASED.json records a staged release" in out
    assert release.release(course) == 0 and notebook_names(course) == NOTEBOOKS
    assert "removed RELEASED.json: the whole course is released" in capsys.readouterr().out
    assert not (course / "RELEASED.json").exists()   # a full release is no staged term: nothing recorded
    assert release.release(course, check=True) == 0
    assert release.release(course, check=True, upto="02") == 1   # 03-07 are extra for a release up to 02
    out = capsys.readouterr().out
    assert f"extra: course/{NOTEBOOKS[2]} comes after --upto 02" in out
    assert "RELEASED.json does not list the notebooks up to 02" in out
    assert release.release(course, upto="02") == 0 and notebook_names(course) == NOTEBOOKS[:2]
    assert json.loads((course / "RELEASED.json").read_text())["notebooks"] == NOTEBOOKS[:2]


def test_releasing_the_same_notebooks_again_keeps_their_day(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "RELEASED.json").write_text(json.dumps({"notebooks": NOTEBOOKS[:2], "upto": NOTEBOOKS[1],
                                                      "released": "2026-09-07"}))
    staged.record(course, NOTEBOOKS[:2], NOTEBOOKS[1])
    assert json.loads((course / "RELEASED.json").read_text())["released"] == "2026-09-07"
    staged.record(course, NOTEBOOKS[:3], NOTEBOOKS[2])   # week 3: a new day
    assert json.loads((course / "RELEASED.json").read_text())["released"] != "2026-09-07"


def _graded(notebook: str) -> Result:
    return Result("amy", notebook, 8.0, 8.0, "graded", outcome=Outcome.GRADED)


def _grade_args(tmp_path, released=None) -> argparse.Namespace:
    return argparse.Namespace(submissions=tmp_path, out=tmp_path / "out", timeout=60, quiet=True, jobs=1,
                              released=released)


def _grading(monkeypatch, *notebooks: str) -> None:
    monkeypatch.setattr(cli, "_grade_and_report", lambda *a, **k: [_graded(n) for n in notebooks])


def test_grade_warns_when_the_answers_are_already_released(tmp_path, monkeypatch, capsys):
    """`release --upto 02 --to DIR`, then `grade --released DIR`: 01's answers are in 02, which learners have."""
    course = tmp_path / "students" / "course"
    assert release.release(course, upto="02") == 0
    capsys.readouterr()
    _grading(monkeypatch, NOTEBOOKS[0], NOTEBOOKS[1])
    assert cli.cmd_grade(_grade_args(tmp_path, released=course)) == 0
    err = capsys.readouterr().err
    assert f"the answers of {NOTEBOOKS[0]} are in notebooks already released in {course}" in err
    assert f"{NOTEBOOKS[1]} (head_dim, split_heads)" in err
    assert f"the answers of {NOTEBOOKS[1]}" not in err   # 03 is not out yet: grading 02 is safe
    _grading(monkeypatch, NOTEBOOKS[1])
    assert cli.cmd_grade(_grade_args(tmp_path, released=course)) == 0 and "warning" not in capsys.readouterr().err


def test_a_staged_release_into_course_warns_without_being_named(tmp_path, monkeypatch, capsys):
    course = tmp_path / "course"
    assert release.release(course, upto="03") == 0
    monkeypatch.setattr(cli, "COURSE", course)
    _grading(monkeypatch, NOTEBOOKS[0])
    assert cli.cmd_grade(_grade_args(tmp_path)) == 0
    err = capsys.readouterr().err
    assert f"the answers of {NOTEBOOKS[0]} are in notebooks already released in {course}: " \
           f"{NOTEBOOKS[1]} (head_dim, split_heads); {NOTEBOOKS[2]} (head_dim, split_heads)." in err


def test_grading_in_this_repository_says_nothing(tmp_path, monkeypatch, capsys):
    """The repository's course/ is the full release, public as a whole and with no record: no staged term, so no
    warning, whatever is graded (the demo's grading included)."""
    assert notebook_names(COURSE) == NOTEBOOKS and not (COURSE / "RELEASED.json").exists()
    _grading(monkeypatch, *NOTEBOOKS)
    assert cli.cmd_grade(_grade_args(tmp_path)) == 0
    assert capsys.readouterr().err == ""
    args = cli.parser().parse_args(["grade", "SUBS", "--out", "OUT"])
    assert args.released is None


def test_a_folder_named_without_a_record_counts_what_is_in_it(tmp_path, monkeypatch, capsys):
    """A folder given to learners by hand (or released before releases were recorded): its notebooks are out."""
    handed = tmp_path / "handed-out"
    handed.mkdir()
    for name in NOTEBOOKS[:2]:
        (handed / name).write_bytes((COURSE / name).read_bytes())
    _grading(monkeypatch, NOTEBOOKS[0])
    assert cli.cmd_grade(_grade_args(tmp_path, released=handed)) == 0
    assert f"the answers of {NOTEBOOKS[0]} are in notebooks already released in {handed}: {NOTEBOOKS[1]}" \
        in capsys.readouterr().err
    with pytest.raises(CourseError, match="no such folder"):
        cli.cmd_grade(_grade_args(tmp_path, released=tmp_path / "nowhere"))
    (handed / "RELEASED.json").write_text("{not json")
    with pytest.raises(CourseError, match="not a release record"):
        cli.cmd_grade(_grade_args(tmp_path, released=handed))
