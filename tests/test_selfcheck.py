"""The learner's self-check cell (added at release) reports passing and failing checks without nbgrader."""
import nbformat
import pytest
from nbclient import NotebookClient

from autograder import samples
from conftest import NOTEBOOKS

NB = NOTEBOOKS[0]


def run_last_cell_output(nb) -> str:
    NotebookClient(nb, timeout=60, allow_errors=True, kernel_name="python3").execute()
    return "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_released_notebook_ends_with_the_self_check(name):
    from autograder.paths import COURSE
    nb = nbformat.read(COURSE / name, as_version=4)
    assert nb.cells[-1].id == "self-check" and "self_check()" in nb.cells[-1].source
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert all(repr(c.metadata["nbgrader"]["grade_id"]) in nb.cells[-1].source for c in graded)


def test_self_check_says_ready_when_everything_passes():
    out = run_last_cell_output(samples.fill(NB))
    assert "4/4 checks pass. Ready to hand in." in out


def test_self_check_lists_what_to_fix():
    wrong = "def split_heads(X, num_heads):\n    return X.reshape(num_heads, X.shape[-2], -1)\n"
    out = run_last_cell_output(samples.fill(NB, {"split_heads": wrong}))
    assert "[passes] check_head_dim" in out
    assert "[to fix] check_split_heads: AssertionError: your heads mix tokens" in out
    assert "2/4 checks pass. Fix the ones above" in out
