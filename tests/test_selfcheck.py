"""The learner's self-check cell (added at release) reports passing and failing checks without nbgrader."""
import nbformat
import pytest
from nbclient import NotebookClient

from autograder import samples
from autograder.checker import HELPER_CELLS
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
    checks = [c for c in graded if c.metadata["nbgrader"]["grade_id"] not in HELPER_CELLS]
    assert all(repr(c.metadata["nbgrader"]["grade_id"]) in nb.cells[-1].source for c in checks)
    # the cell of the checks' hidden helpers is not a check: nothing visible to re-run
    assert not any(repr(gid) in nb.cells[-1].source for gid in HELPER_CELLS)


def test_self_check_says_ready_when_everything_passes():
    out = run_last_cell_output(samples.fill(NB))
    assert "4/4 checks pass. Ready to hand in." in out


def test_self_check_lists_what_to_fix():
    wrong = "def split_heads(X, num_heads):\n    return X.reshape(num_heads, X.shape[-2], -1)\n"
    out = run_last_cell_output(samples.fill(NB, {"split_heads": wrong}))
    assert "[passes] check_head_dim" in out
    assert "[to fix] check_split_heads: AssertionError: your heads mix tokens" in out
    assert "2/4 checks pass. Fix the ones above" in out


def test_self_check_gives_the_check_cells_verdict_after_later_cells_change_the_globals():
    """Issue 15: notebook 02's section 6 sets d_model = 16 after the checks. A learner who divides by the global
    sqrt(d_model) must read the same message in the check cell and in the self-check at the end."""
    wrong = ("def scaled_dot_product_attention(Q, K, V, mask=None):\n"
             "    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d_model)\n"
             "    if mask is not None:\n"
             "        scores = np.where(mask, scores, -np.inf)\n"
             "    weights = softmax(scores)\n"
             "    return weights @ V, weights\n")
    nb = samples.fill("02_scaled_attention.ipynb", {"scaled_dot_product_attention": wrong})
    out = run_last_cell_output(nb)
    check = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "check_attention")
    (error,) = [o for o in check.outputs if o.output_type == "error"]
    assert "d_model" in error["evalue"] and "sqrt(d_k)" in error["evalue"]
    assert f"[to fix] check_attention: AssertionError: {error['evalue']}" in out
