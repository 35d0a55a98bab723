"""A notebook's own demonstration cells (not graded) accept what its checks accept: an answer that earns full marks
must not be told by a later cell to fix it."""
import json

import matplotlib
import numpy as np

from autograder.paths import SOLUTIONS

matplotlib.use("Agg")

# grouped_query_attention computed in float32: the checks accept it (atol 1e-6); found by attacking the grader,
# the decoding demo of section 8 compared it with float64 at NumPy's default atol of 1e-8, and said
# "fix Exercise 3 first" (the notebook's status: "the cell after check_quiz_gqa raised AssertionError")
FLOAT32 = ("_gqa_float64 = grouped_query_attention\n"
           "def grouped_query_attention(*args, **kwargs):\n"
           "    return _gqa_float64(*[a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype == np.float64\n"
           "                          else a for a in args], **kwargs)\n")


def run_until(notebook: str, last: str, answers: dict[str, str]) -> dict:
    """Run the code cells of a reference notebook in this process, each answer cell followed by the source given for
    it in `answers`, up to and including the first cell that contains `last`. Returns the namespace."""
    namespace = {"__name__": "__main__"}
    for cell in json.loads((SOLUTIONS / notebook).read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        source += "\n" + answers.get(cell["metadata"].get("nbgrader", {}).get("grade_id", ""), "")
        exec(compile(source, notebook, "exec"), namespace)
        if last in source:
            return namespace
    raise AssertionError(f"no cell of {notebook} contains {last!r}")


def test_notebook_07s_decoding_demo_accepts_a_float32_answer(monkeypatch):
    monkeypatch.setenv("MHA_FAST", "1")
    ns = run_until("07_grouped_query_attention.ipynb", "def decode_step", {"grouped_query_attention": FLOAT32})
    rng = np.random.default_rng(0)   # the answer tried is float32's precision, within the checks' tolerance
    args = (*rng.standard_normal((3, 5, 8)), *rng.standard_normal((2, 8, 8)), *rng.standard_normal((2, 8, 4)))
    W_Q, W_O, W_K, W_V = args[3:]
    float32, float64 = (ns[f](*args[:3], W_Q, W_K, W_V, W_O, 4, 2)[0] for f in ("grouped_query_attention", "_gqa_float64"))
    assert np.allclose(float32, float64, atol=1e-6) and not np.allclose(float32, float64, rtol=0, atol=1e-8)
