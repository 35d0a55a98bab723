"""Feedback that tells a learner what failed without giving away the hidden tests.

nbgrader's feedback shows each test cell's full source and traceback; both contain the hidden tests.
`HideHiddenTests` (also run by `nbgrader generate_feedback`, see nbcourse.py) removes the hidden block
from the source and reduces a failing test cell's traceback to its last line, the sentence that names
the mistake. `FeedbackWriter` writes the page with nbgrader's own template and preprocessors.
"""
from __future__ import annotations

import os
import re

import nbgrader
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor, Preprocessor
from nbgrader.preprocessors import GetGrades
from traitlets import Bool

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.S | re.M)
NOTE = "# (hidden checks run here when your notebook is graded)\n"


class HideHiddenTests(Preprocessor):
    enabled = Bool(True)   # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = HIDDEN.sub(NOTE, cell.source)
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        return cell, resources


class FeedbackWriter:
    """nbgrader's feedback page (its `feedback` template, scores from the gradebook, hidden tests removed),
    with one exporter kept for a worker's whole life: `nbgrader generate_feedback` builds a new one, and
    compiles its templates again, for every student."""

    def __init__(self, db_url: str) -> None:
        formgrader = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
        self.db_url = db_url
        self.exporter = HTMLExporter(
            template_name="feedback", extra_template_basedirs=[os.path.join(formgrader, "templates")],
            extra_template_paths=[os.path.join(formgrader, "static", "node_modules", "bootstrap", "dist", "css")])
        for pre in (GetGrades(), HideHiddenTests(), CSSHTMLHeaderPreprocessor()):
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
