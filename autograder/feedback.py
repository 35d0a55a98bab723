"""Feedback that tells a learner what failed without giving away the hidden tests.

nbgrader's feedback shows each test cell's full source and traceback; both contain the hidden tests.
This preprocessor (run by `GenerateFeedback`) removes the hidden block from the source and reduces a
failing test cell's traceback to its last line, the sentence that names the mistake.
"""
from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
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
