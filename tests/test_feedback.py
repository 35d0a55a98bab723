"""Feedback tells the learner which check failed and why, and gives the hidden tests away nowhere."""
from pathlib import Path

from autograder.paths import COURSE, SOLUTIONS


def _hidden_snippets(notebook: str) -> list[str]:
    """Distinctive lines from the hidden test blocks of a solution notebook."""
    import nbformat
    nb = nbformat.read(SOLUTIONS / notebook, as_version=4)
    lines = []
    for cell in nb.cells:
        text = cell.source
        while "### BEGIN HIDDEN TESTS" in text:
            start = text.index("### BEGIN HIDDEN TESTS")
            end = text.index("### END HIDDEN TESTS", start)
            lines += [ln.strip() for ln in text[start:end].splitlines()[1:] if len(ln.strip()) > 25]
            text = text[end + 1:]
    released = (COURSE / notebook).read_text(encoding="utf-8")
    return [ln for ln in lines if ln.replace('"', '\\"') not in released]   # not also a visible line


def test_no_feedback_file_shows_hidden_tests(batch):
    _, _, out = batch
    files = list((Path(out) / "feedback").rglob("*.html"))
    assert files
    for html in files:
        text = html.read_text(encoding="utf-8")
        assert "BEGIN HIDDEN TESTS" not in text, html


def test_a_hidden_check_failure_shows_its_message_but_not_its_code(batch):
    _, _, out = batch
    html = (Path(out) / "feedback" / "wrong-head_dim_no_num_heads_check" / "01_projections.html").read_text()
    assert "returned -4 instead of raising ValueError: num_heads must be at least 1" in html
    assert "hidden checks run here when your notebook is graded" in html
    import html as h
    plain = h.unescape(html)
    leaked = [s for s in _hidden_snippets("01_projections.ipynb") if s in plain]
    assert not leaked, leaked[:3]


def test_a_cell_without_a_grade_id_is_named_by_its_neighbour():
    import nbformat

    from autograder.outcome import cell_label

    cells = nbformat.read(COURSE / "01_projections.ipynb", as_version=4).cells
    labels = [cell_label(cells, i) for i, c in enumerate(cells) if c.cell_type == "code"]
    assert "check_split_heads" in labels and "the cell after check_split_heads_batched" in labels
    assert "the cell before environment" in labels or labels[0] == "environment"
    assert not [x for x in labels if x.startswith(("cell ", "code cell"))], labels


def test_math_becomes_mathml_at_export():
    from nbconvert.filters.markdown_mistune import MarkdownWithMath

    from autograder.feedback import MathMLRenderer

    html = MarkdownWithMath(renderer=MathMLRenderer(escape=False)).render(
        "Scores $$\\frac{QK^\\top}{\\sqrt{d_k}}$$ per head, with $d_k = d_{model} / h$.\n\n"
        "| name | formula |\n|---|---|\n| query | $Q = X W_Q$ |\n")
    assert html.count("<math") == 3 and 'display="block"' in html and "<msqrt>" in html
    assert "$" not in html   # nothing is left for MathJax


def test_every_cell_the_grader_ran_gets_a_run_number_of_its_own():
    import nbformat

    from autograder.feedback import NumberRunCells

    v4 = nbformat.v4
    check = v4.new_code_cell("assert f(1) == 2", outputs=[v4.new_output("error", ename="AssertionError",
                                                                       evalue="no", traceback=[])])
    check.metadata["nbgrader"] = {"grade": True, "grade_id": "check_f", "points": 1}
    nb = v4.new_notebook(cells=[v4.new_code_cell("x = 1", execution_count=8), check,
                                v4.new_code_cell("y = 2", execution_count=8), v4.new_markdown_cell("text"),
                                v4.new_code_cell("z = 3", execution_count=9), v4.new_code_cell("never ran")])
    nb, _ = NumberRunCells().preprocess(nb, {})
    assert [c.get("execution_count") for c in nb.cells] == [1, 2, 3, None, 4, None]
