"""The feedback writer remembers rendered markdown and highlighted code across students (feedback.py): what it
remembers depends on everything that changes the result, and a huge cell is not kept."""
from autograder import feedback

PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def _exporter():
    return feedback.FeedbackWriter("sqlite:///:memory:").exporter


def test_the_same_markdown_with_other_attachments_renders_each_ones_own_image():
    exporter = _exporter()
    source = "My plot: ![plot](attachment:plot.png)"
    mine = {"cell": {"attachments": {"plot.png": {"image/png": PNG}}}}
    theirs = {"cell": {"attachments": {"plot.png": {"image/png": PNG.replace("AAAA", "AAAB", 1)}}}}
    first, second = exporter.markdown2html(mine, source), exporter.markdown2html(theirs, source)
    assert PNG in first and PNG not in second and "data:image/png;base64," in second
    assert exporter.markdown2html(mine, source) == first


def test_math_is_rendered_once_and_the_same_every_time():
    exporter = _exporter()
    page = exporter.markdown2html({"cell": {}}, r"Scale by $\sqrt{d_k}$.")
    assert "<math" in page and exporter.markdown2html({"cell": {}}, r"Scale by $\sqrt{d_k}$.") == page
    assert len(exporter._rendered) == 1


def test_a_huge_cell_is_rendered_but_not_kept():
    exporter = _exporter()
    huge = "word " * (feedback.LONGEST // 5 + 10)
    assert "word" in exporter.markdown2html({"cell": {}}, huge)
    assert exporter._rendered == {}


def test_highlighting_depends_on_the_language_and_the_magics_language():
    highlight = feedback.RememberedHighlight(pygments_lexer="ipython3")
    code = "x = 1  # a comment"
    python = highlight(code)
    assert highlight(code) == python and 'class="c1"' in python
    assert highlight(code, metadata={"magics_language": "bash"}) != python
