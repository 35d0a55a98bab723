"""The learner's self-check: a last cell, added at release, that re-runs every visible check.

It works anywhere the notebook runs (Colab, Binder, local) without nbgrader: the visible checks are
copied into the cell when the course is released, so the learner gets one summary of what passes and
what to fix before handing in.
"""
from __future__ import annotations

import nbformat

from .checker import HELPER_CELLS

CELL_ID = "self-check"

TEMPLATE = '''#@title Self-check: re-runs every check of this notebook and sums up. Run it before you hand in.
def self_check():
    import contextlib, io
    checks = {checks}
    passed = 0
    for name, code in checks.items():
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, globals())
        except NameError as err:
            print(f"[not run] {{name}}: {{err}}: run the cells above it first (Run All stops at the first "
                  "cell that fails: use Run -> Run Selected Cell and All Below)")
        except Exception as err:
            message = str(err) or type(err).__name__
            print(f"[to fix] {{name}}: {{type(err).__name__}}: {{message}}")
        else:
            passed += 1
            print(f"[passes] {{name}}")
    print(f"\\n{{passed}}/{{len(checks)}} checks pass." + (" Ready to hand in." if passed == len(checks) else
          " Fix the ones above (each message says what is wrong), then run this cell again."))


self_check()'''


def self_check_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A code cell that re-runs the visible part of every test cell of `nb` (a released notebook), except the
    cells of the checks' hidden helpers (checker.HELPER_CELLS: nothing visible to run, and not a check)."""
    checks = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and meta.get("grade_id") not in HELPER_CELLS:
            checks[meta["grade_id"]] = cell.source
    body = "{\n" + "".join(f"        {name!r}: {code!r},\n" for name, code in checks.items()) + "    }"
    cell = nbformat.v4.new_code_cell(TEMPLATE.format(checks=body))
    cell.id = CELL_ID
    # collapsed in JupyterLab and shown as a titled form in Colab: the learner sees what it does, not the copy
    cell.metadata = {"jupyter": {"source_hidden": True}, "cellView": "form", "editable": False}
    return cell


def add_self_check(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    intro = nbformat.v4.new_markdown_cell(
        "## Self-check\n\nThe next cell runs every check of this notebook again and lists what passes and "
        "what to fix. It needs no installation and works in Colab, Binder and a local Jupyter.")
    intro.id = CELL_ID + "-intro"
    nb.cells = [c for c in nb.cells if c.get("id") not in (CELL_ID, CELL_ID + "-intro")]
    nb.cells += [intro, self_check_cell(nb)]
    return nb
