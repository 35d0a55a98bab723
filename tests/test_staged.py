"""A staged term: `release --upto NN` publishes the notebooks up to NN; `grade` warns when the answers of
what it grades are in a notebook already released (the "earlier pieces" cells of later notebooks)."""
import argparse

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
    assert release.release(course, check=True, upto="03") == 0
    full = release.released_notebooks()
    assert all((course / n).read_text(encoding="utf-8") == full[n] for n in NOTEBOOKS[:3])
    # what is released up to 03 gives away 01 and 02, not 03
    assert set(staged.exposed(course)) == set(NOTEBOOKS[:2])
    assert release.release(course, check=True) == 1   # the full release is still checked as before
    assert f"stale: course/{NOTEBOOKS[3]}" in capsys.readouterr().out
    assert release.release(course) == 0 and notebook_names(course) == NOTEBOOKS
    assert release.release(course, check=True) == 0
    assert release.release(course, check=True, upto="02") == 1   # 03-07 are extra for a release up to 02
    assert f"extra: course/{NOTEBOOKS[2]} comes after --upto 02" in capsys.readouterr().out
    assert release.release(course, upto="02") == 0 and notebook_names(course) == NOTEBOOKS[:2]


def _graded(notebook: str) -> Result:
    return Result("amy", notebook, 8.0, 8.0, "graded", outcome=Outcome.GRADED)


def test_grade_warns_when_the_answers_are_already_released(tmp_path, monkeypatch, capsys):
    course = tmp_path / "course"
    assert release.release(course, upto="02") == 0
    capsys.readouterr()
    monkeypatch.setattr(cli, "COURSE", course)
    monkeypatch.setattr(cli, "_grade_and_report", lambda *a, **k: [_graded(NOTEBOOKS[0]), _graded(NOTEBOOKS[1])])
    args = argparse.Namespace(submissions=tmp_path, out=tmp_path / "out", timeout=60, quiet=True, jobs=1)
    assert cli.cmd_grade(args) == 0
    err = capsys.readouterr().err
    assert f"the answers of {NOTEBOOKS[0]} are in notebooks already released" in err
    assert f"{NOTEBOOKS[1]} (head_dim, split_heads)" in err
    assert f"the answers of {NOTEBOOKS[1]}" not in err   # 03 is not out yet: grading 02 is safe
    monkeypatch.setattr(cli, "_grade_and_report", lambda *a, **k: [_graded(NOTEBOOKS[1])])
    assert cli.cmd_grade(args) == 0 and "warning" not in capsys.readouterr().err
