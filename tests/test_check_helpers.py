"""Helpers that several hidden checks of a notebook use are defined once, in a locked 0-point grade cell
(`checker.HELPER_CELLS`): the checker runs it from the source notebook, the learner's kernel never sees it,
and it is not a check anywhere (results, self-check, feedback summary)."""
import ast
import html
import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from autograder import checker, grading, samples
from autograder.checklevel import _names
from autograder.feedback import HIDDEN, HideHiddenTests
from autograder.paths import COURSE, SOLUTIONS
from autograder.selfcheck import self_check_cell
from conftest import NOTEBOOKS

NB2, NB4 = "02_scaled_attention.ipynb", "04_output_projection.ipynb"


def _grade_cells(notebook: str, folder: Path = SOLUTIONS) -> list:
    nb = nbformat.read(folder / notebook, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]


def _gid(cell) -> str:
    return cell.metadata["nbgrader"]["grade_id"]


def _hidden_defs(source: str) -> list[str]:
    blocks = [m.group(0) for m in HIDDEN.finditer(source)]
    return [node.name for block in blocks for node in ast.parse(block).body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_hidden_helper_is_defined_in_two_checks(name):
    defs = Counter(d for c in _grade_cells(name) for d in _hidden_defs(c.source))
    assert not [d for d, n in defs.items() if n > 1], defs


@pytest.mark.parametrize("name", [NB2, NB4])
def test_the_helper_cell_comes_first_and_only_hidden_checks_use_it(name):
    cells = _grade_cells(name)
    helpers = [c for c in cells if _gid(c) in checker.HELPER_CELLS]
    assert len(helpers) == 1
    cell = helpers[0]
    meta = cell.metadata["nbgrader"]
    assert meta["locked"] and meta["points"] == 0 and not meta.get("solution")
    visible = HIDDEN.sub("", cell.source)
    assert all(line.startswith("#") for line in visible.splitlines() if line.strip()), visible
    defined = _names(cell.source)[1]
    modules = {a.asname or a.name for node in ast.parse(cell.source).body
               if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
    users = [c for c in cells if _names(c.source)[0] & defined and c is not cell]
    assert users and cells.index(cell) < min(cells.index(c) for c in users)
    for c in cells:
        if c is cell:
            continue
        # the learner's self-check and the kernel run the visible part: it must not need the helpers
        assert not _names(HIDDEN.sub("", c.source))[0] & defined, _gid(c)
        # a check that runs in the learner's kernel can't reach them either
        assert _gid(c) not in checker.LEARNER_SIDE or not _names(c.source)[0] & defined, _gid(c)
        # and no check redefines them for the checks after it
        assert not (_names(c.source)[1] & defined) - modules, _gid(c)


def test_the_checker_holds_the_helpers_and_they_are_no_check():
    spec = checker.spec_for(SOLUTIONS / NB4)
    assert not checker.HELPER_CELLS & set(spec.checks) and len(spec.helpers) == 1
    ns = checker.Checker(spec).ns
    assert all(callable(ns[n]) for n in ("close_", "to_np_", "call_", "mha_cases_", "check_mha_"))
    assert "sm_" in checker.Checker(checker.spec_for(SOLUTIONS / NB2)).ns


def test_the_self_check_and_the_feedback_leave_the_helper_cell_out():
    released = nbformat.read(COURSE / NB4, as_version=4)
    cell = next(c for c in released.cells if c.metadata.get("nbgrader", {}).get("grade_id") in checker.HELPER_CELLS)
    assert "HIDDEN" not in cell.source and "mha_cases_" not in cell.source
    assert "check_helpers" not in self_check_cell(released).source
    source = nbformat.read(SOLUTIONS / NB4, as_version=4)
    cell = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") in checker.HELPER_CELLS)
    shown, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert shown.source == "# Helpers of the hidden checks below: they are added when your notebook is graded."
    assert not shown.metadata["nbgrader"]["grade"]   # no "Check:" heading, no entry in the page's list of checks


# The learner's first exercise cell records the source of every cell the kernel runs from then on (IPython's
# pre_run_cell), and the last one prints the record into the notebook, so into the feedback page.
RECORD = '''
_seen_cells = []
get_ipython().events.register("pre_run_cell", lambda info: _seen_cells.append(info.raw_cell))
'''
# a short summary, not the record itself: half a megabyte of output in one message can be late or dropped on a
# loaded machine, and then the test would know nothing (the words are split so that this cell's own source,
# which the hook records too, doesn't contain them)
PRINT = '''
_all = "\\n".join(_seen_cells)
print("RECORD-START", len(_seen_cells), "cells;",
      "after-me:" + str("contrib = head_contributions(H, W_O)" in _all) + ";",
      "leaked:" + ",".join(w for w in ("def mha" + "_cases_", "def check" + "_mha_", "HIDDEN" + " TESTS",
                                      "Helpers of" + " the hidden") if w in _all) + ";", "RECORD-END")
'''


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("helpers")
    answers = samples.reference_answers(NB4)
    first, last = list(answers)[0], list(answers)[-1]
    nb = samples.fill(NB4, {first: answers[first] + RECORD, last: answers[last] + PRINT})
    samples.write_submission(root / "subs", "recorder", NB4, nb)
    samples.write_submission(root / "subs", "solution", NB4, samples.fill(NB4))
    rows = {r.student_id: r for r in grading.grade(root / "subs", root / "out", progress=False, jobs=1)}
    return rows, root / "out"


def test_a_kernel_that_records_every_cell_never_sees_the_helpers(recorded):
    rows, out = recorded
    row = rows["recorder"]
    assert row.score == row.max_score > 0, (row.status, row.failed)
    page = html.unescape((out / row.feedback).read_text(encoding="utf-8"))
    record = re.search(r"RECORD-START (\d+) cells; after-me:(\w+); leaked:(.*?); RECORD-END", page)
    assert record and int(record.group(1)) > 5, "the recording learner printed nothing"
    assert record.group(2) == "True"   # it did record the cells after it
    assert record.group(3) == "", f"the learner's kernel ran hidden code: {record.group(3)}"
    assert "def mha_cases_" not in page and "def check_mha_" not in page and "HIDDEN TESTS" not in page
    for path in out.rglob("*"):
        if path.is_file() and path.suffix != ".db":   # the gradebook holds the source notebook, as nbgrader's does
            assert b"def mha_cases_" not in path.read_bytes(), path


def test_the_helper_cell_is_no_check_in_the_results(recorded):
    rows, _ = recorded
    solution = rows["solution"]
    assert solution.score == solution.max_score == 20 and not solution.failed
    assert not checker.HELPER_CELLS & set(solution.cells) and "check_mha_shapes" in solution.cells


def test_a_notebook_released_before_the_helper_cell_is_repaired_without_a_note():
    from autograder import repair

    released = nbformat.read(COURSE / NB4, as_version=4)
    older = samples.fill(NB4)
    older.cells = [c for c in older.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in checker.HELPER_CELLS]
    nb, notes = repair.repair(older, released)
    assert notes == []
    assert [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells] == \
        [c.metadata.get("nbgrader", {}).get("grade_id") for c in released.cells]
