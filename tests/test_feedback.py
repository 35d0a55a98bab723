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

    from autograder.execute import cell_label

    cells = nbformat.read(COURSE / "01_projections.ipynb", as_version=4).cells
    labels = [cell_label(cells, i) for i, c in enumerate(cells) if c.cell_type == "code"]
    assert "check_split_heads" in labels and "the cell after check_split_heads_batched" in labels
    assert "the cell before environment" in labels or labels[0] == "environment"
    assert not [x for x in labels if x.startswith(("cell ", "code cell"))], labels
