"""The released stubs earn nothing through the autograder (the solutions earn full marks: tests/test_cli.py,
the demo's ada)."""
import pytest

from conftest import NOTEBOOKS


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
