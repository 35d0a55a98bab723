"""Feedback that tells a learner what failed without giving away the hidden tests.

nbgrader's feedback shows each test cell's full source and traceback; both contain the hidden tests.
`HideHiddenTests` (also run by `nbgrader generate_feedback`, see nbcourse.py) removes the hidden block
from the source and reduces a failing test cell's traceback to its last line, the sentence that names
the mistake (and the learner's own frames, when the learner's code raised). `FeedbackWriter` writes the page with nbgrader's own template and preprocessors.

The page works offline: math is turned into MathML when the page is written (latex2mathml; browsers draw
MathML themselves), instead of nbgrader's MathJax from a CDN. Its summary and headings name the checks and
exercises, long messages wrap, and every cell the grader ran has a run number of its own.
"""
from __future__ import annotations

import html as htmllib
import json
import os
import re

import nbgrader
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor, Preprocessor
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbgrader.preprocessors import GetGrades
from jinja2 import pass_context
from latex2mathml.converter import convert as latex_to_mathml
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from traitlets import Bool

from .checker import HELPER_CELLS

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.S | re.M)
NOTE = "# (hidden checks run here when your notebook is graded)\n"
LEARNER_FRAMES = "Raised in your code:"


class HideHiddenTests(Preprocessor):
    """The hidden blocks of test cells replaced by NOTE. The cell of the checks' shared helpers
    (checker.HELPER_CELLS) keeps only its visible comment and is shown as a plain cell: it is not a check,
    so it has no score line and no entry in the page's list of checks."""
    enabled = Bool(True)   # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and meta.get("grade_id") in HELPER_CELLS:
            cell.source = HIDDEN.sub("", cell.source).rstrip("\n")
            meta["grade"] = False
            cell.outputs = []
        elif cell.cell_type == "code" and meta.get("grade"):
            cell.source = HIDDEN.sub(NOTE, cell.source)
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":   # the checker adds the learner's own frames, if any
                    mine = [t for t in out.get("traceback", []) if str(t).startswith(LEARNER_FRAMES)]
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}", *mine]
        return cell, resources


class Sanitize(SanitizeHTML):
    """nbconvert's SanitizeHTML, on (for `nbgrader generate_feedback` too): learner HTML outputs and markdown
    lose scripts, event-handler attributes and iframes; an instructor opens these pages, often in formgrader."""
    enabled = Bool(True)


class NumberRunCells(Preprocessor):
    """`In [n]` once per cell, in the order the grader ran them: the checks run in the grader, not the kernel, so
    their cells have no run number of their own. A cell that never ran (after a stop) keeps none."""
    enabled = Bool(True)

    def preprocess(self, nb, resources):
        n = 0
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            ran = cell.get("execution_count") is not None or (
                cell.metadata.get("nbgrader", {}).get("grade") and cell.get("outputs"))
            stub = any(o.get("ename") == "NotRun" for o in cell.get("outputs", []))
            n += bool(ran and not stub)
            cell.execution_count = n if ran and not stub else None
            for out in cell.get("outputs", []):
                if "execution_count" in out:
                    out["execution_count"] = cell.execution_count
        return nb, resources


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer with `$...$`, `$$...$$` and `\\begin{...}` turned into MathML at export,
    so the page needs no MathJax (nor a network). TeX that latex2mathml can't read stays as code."""

    def _math(self, tex: str, display: str) -> str:
        tex = htmllib.unescape(tex)   # the sanitizer may have escaped `<` in the markdown source
        try:
            return latex_to_mathml(tex, display=display)
        except Exception:  # noqa: BLE001 - show the TeX rather than lose the cell
            return f"<code>{htmllib.escape(tex)}</code>"

    def block_math(self, body: str) -> str:
        return self._math(body, "block")

    def inline_math(self, body: str) -> str:
        return self._math(body, "inline")

    def latex_environment(self, name: str, body: str) -> str:
        return self._math(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block")


NO_ALT = re.compile(r"<img(?![^>]*\salt=)")
ALT = '<img alt="No description has been provided for this image"'
MATHJAX = re.compile(r"<!-- Loading mathjax macro -->\s*<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
TOC_LINK = re.compile(r'<li><a href="#([^"]+)">Test cell</a>')
ANSWER = re.compile(r'(<a name="comment-([^"]+)"></a><div class="panel-heading"><span class="nbgrader-label">)'
                    r"Student's answer")
CHECK = '<span class="nbgrader-label">Grade cell: '
STYLE = """<style>
div.output_area pre { white-space: pre-wrap; overflow-wrap: anywhere; }
div.output_area img { max-width: 100%; height: auto; }
.rendered_html table { border-collapse: collapse; margin: 0.8em 0; }
.rendered_html th, .rendered_html td { border: 1px solid #ccc; padding: 4px 10px; text-align: left; }
.rendered_html th { background: #f4f4f4; }
math[display="block"] { margin: 0.6em 0; font-size: 1.15em; }
#toc li { margin: 2px 0; }
</style>
</head>"""


def _polish(page: str) -> str:
    """The finished page: no MathJax from a CDN, links and headings named after the check or exercise, CSS
    that wraps long messages and spaces tables, alt text on images."""
    page = MATHJAX.sub("", page, count=1)
    page = TOC_LINK.sub(r'<li><a href="#\1">\1</a>', page)
    page = ANSWER.sub(r"\1Your answer: <code>\2</code>", page)
    page = page.replace(CHECK, '<span class="nbgrader-label">Check: ')
    page = page.replace("</head>", STYLE, 1)
    return NO_ALT.sub(ALT, page)


#: a FeedbackWriter remembers rendered pieces for its worker's whole life: up to this many of each kind, and
#: only those of a source up to LONGEST characters (a batch of huge learner cells can't fill the worker's memory)
REMEMBERED, LONGEST = 4096, 20_000


def _remember(cache: dict, key: tuple, value: str) -> str:
    if len(key[0]) <= LONGEST:
        if len(cache) >= REMEMBERED:
            cache.clear()
        cache[key] = value
    return value


class RememberedHighlight(Highlight2HTML):
    """nbconvert's code highlighter, remembering what it highlighted: most cells of a course notebook are the
    same on every student's page (pygments reads only `magics_language` of a cell's metadata)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._done: dict = {}

    def __call__(self, source, language=None, metadata=None):
        key = (source, language, (metadata or {}).get("magics_language"))
        if key in self._done:
            return self._done[key]
        return _remember(self._done, key, super().__call__(source, language, metadata))


class FeedbackHTML(HTMLExporter):
    """nbconvert's HTML exporter without its last step: parsing the finished page with BeautifulSoup
    and writing it out again, to give images an alt text and JupyterLab cells a tabindex. That step
    costs more than rendering the page; nbgrader's feedback template (classic markup) has no
    JupyterLab cells, and the same alt text is added here with a regular expression."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._rendered: dict = {}
        self._highlighters: dict[str, RememberedHighlight] = {}

    @pass_context
    def markdown2html(self, context, source):
        """nbconvert's markdown filter, with math rendered to MathML (see MathMLRenderer). Remembered: the
        prose of a course notebook is the same on every student's page."""
        cell = context.get("cell", {})
        path = context.get("resources", {}).get("metadata", {}).get("path", "") if self.embed_images else ""
        key = (source, json.dumps(cell.get("attachments", {}), sort_keys=True), path)
        if key in self._rendered:
            return self._rendered[key]
        renderer = MathMLRenderer(
            escape=False, attachments=cell.get("attachments", {}), embed_images=self.embed_images, path=path,
            anchor_link_text=self.anchor_link_text, exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options)
        return _remember(self._rendered, key, MarkdownWithMath(renderer=renderer).render(source))

    def from_notebook_node(self, nb, resources=None, **kw):  # type: ignore[override]
        info = nb.metadata.get("language_info", {})
        lexer = info.get("pygments_lexer", info.get("name")) or "ipython3"
        if lexer not in self._highlighters:
            self._highlighters[lexer] = RememberedHighlight(pygments_lexer=lexer, parent=self)
        self.register_filter("highlight_code", self.filters.get("highlight_code", self._highlighters[lexer]))
        # no widget state: a feedback page shows widgets' plain fallback, as they can't run there anyway
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata={}, parent=self, resources=resources or {}))
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _polish(html), resources


class FeedbackWriter:
    """nbgrader's feedback page (its `feedback` template, scores from the gradebook, hidden tests removed),
    with one exporter kept for a worker's whole life: `nbgrader generate_feedback` builds a new one, and
    compiles its templates again, for every student."""

    def __init__(self, db_url: str) -> None:
        formgrader = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
        self.db_url = db_url
        self.exporter = FeedbackHTML(
            template_name="feedback", extra_template_basedirs=[os.path.join(formgrader, "templates")],
            extra_template_paths=[os.path.join(formgrader, "static", "node_modules", "bootstrap", "dist", "css")])
        for pre in (GetGrades(), HideHiddenTests(), Sanitize(), NumberRunCells(), CSSHTMLHeaderPreprocessor()):
            self.exporter.register_preprocessor(pre, enabled=True)

    def write(self, graded_notebook: str, student_id: str, assignment: str, dest: str) -> None:
        """Write the feedback page of an autograded notebook (already in the gradebook) to `dest`."""
        stem = os.path.splitext(os.path.basename(graded_notebook))[0]
        resources = {"unique_key": stem, "nbgrader": {
            "student": student_id, "assignment": assignment, "notebook": stem, "db_url": self.db_url}}
        body, _ = self.exporter.from_filename(graded_notebook, resources=resources)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "w", encoding="utf-8") as f:
            f.write(body)
