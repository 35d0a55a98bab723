"""The solution notebooks earn full marks through the autograder; the released stubs earn nothing."""
import pytest

from conftest import NOTEBOOKS


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_solution_earns_full_marks(batch, notebook):
    by_student, _, out = batch
    row = next(r for r in by_student["solution"] if r.notebook == notebook)
    assert row.status == "graded", row.status
    assert row.max_score > 0
    assert row.score == row.max_score, row.failed
    assert (out / "feedback" / "solution" / notebook.replace(".ipynb", ".html")).exists()


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_released_notebook_earns_zero(batch, notebook):
    by_student, _, _ = batch
    row = next(r for r in by_student["blank"] if r.notebook == notebook)
    assert row.status.startswith("graded"), row.status
    assert row.score == 0 and row.max_score > 0
    # every graded check failed, and the learner is told the exercise isn't done yet
    assert set(row.failed) == set(row.cells)
    hints = ("not done yet", "not written yet", "not answered yet", "NotImplementedError")
    assert any(h in msg for msg in row.failed.values() for h in hints), row.failed
