"""Feedback that tells a learner what failed without giving away the hidden tests.

nbgrader's feedback shows each test cell's full source and traceback; both contain the hidden tests.
`HideHiddenTests` (also run by `nbgrader generate_feedback`, see nbcourse.py) removes the hidden block
from the source and reduces a failing test cell's traceback to its last line, the sentence that names
the mistake (and the learner's own frames, when the learner's code raised). `FeedbackWriter` writes the page with nbgrader's own template and preprocessors.
"""
from __future__ import annotations

import os
import re

import nbgrader
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor, Preprocessor
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbgrader.preprocessors import GetGrades
from traitlets import Bool

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.S | re.M)
NOTE = "# (hidden checks run here when your notebook is graded)\n"
LEARNER_FRAMES = "Raised in your code:"


class HideHiddenTests(Preprocessor):
    enabled = Bool(True)   # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
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


NO_ALT = re.compile(r"<img(?![^>]*\salt=)")
ALT = '<img alt="No description has been provided for this image"'


class FeedbackHTML(HTMLExporter):
    """nbconvert's HTML exporter without its last step: parsing the finished page with BeautifulSoup
    and writing it out again, to give images an alt text and JupyterLab cells a tabindex. That step
    costs more than rendering the page; nbgrader's feedback template (classic markup) has no
    JupyterLab cells, and the same alt text is added here with a regular expression."""

    def from_notebook_node(self, nb, resources=None, **kw):  # type: ignore[override]
        info = nb.metadata.get("language_info", {})
        lexer = info.get("pygments_lexer", info.get("name"))
        self.register_filter("highlight_code",
                             self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return NO_ALT.sub(ALT, html), resources


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
        for pre in (GetGrades(), HideHiddenTests(), Sanitize(), CSSHTMLHeaderPreprocessor()):
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
