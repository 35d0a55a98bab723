"""Repair before grading: a damaged submission is matched back to the released notebook (no kernels here)."""
from __future__ import annotations

import copy

import nbformat
import pytest

from autograder import samples
from autograder.paths import COURSE
from autograder.repair import repair
from conftest import NOTEBOOKS

NB1, NB4 = "01_projections.ipynb", "04_output_projection.ipynb"
WRONG_HEAD_DIM = "def head_dim(d_model, num_heads):\n    return d_model // num_heads\n"


def released(name: str) -> nbformat.NotebookNode:
    """The notebook as nbgrader releases it: the course notebook without its self-check cells."""
    nb = nbformat.read(COURSE / name, as_version=4)
    nb.cells = [c for c in nb.cells if not c.get("id", "").startswith("self-check")]
    return nb


def meta_note(n: int) -> str:
    return (f"{n} cell{'s' if n > 1 else ''} had lost or changed {'their' if n > 1 else 'its'} nbgrader metadata "
            "(as when a notebook is saved by Colab or another editor): matched back to the released notebook's cells")


def gid(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def index(nb, grade_id: str) -> int:
    return next(k for k, c in enumerate(nb.cells) if gid(c) == grade_id)


def strip(nb, keep_ids: bool = False):
    """What an editor that drops nbgrader metadata (and nbformat 4.5 cell ids) leaves."""
    nb = copy.deepcopy(nb)
    nb.nbformat_minor = nb.nbformat_minor if keep_ids else 0
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
        if not keep_ids:
            cell.pop("id", None)
    return nb


def checked(out, name: str) -> dict[str, str]:
    """Assert the graded cells are the release's, in its order; return {exercise: the learner's code}."""
    rel = released(name)
    nbformat.validate(out)
    ids = [c.id for c in out.cells]
    assert len(ids) == len(set(ids))
    graded = [c for c in out.cells if gid(c)]
    assert [(c.id, c.cell_type, c.metadata) for c in graded] == [(c.id, c.cell_type, c.metadata) for c in rel.cells if gid(c)]
    for mine, theirs in zip(graded, [c for c in rel.cells if gid(c)]):
        if not theirs.metadata.nbgrader.get("solution"):
            assert mine.source == theirs.source
    kept = {c.id for c in rel.cells}
    assert [c.id for c in out.cells if c.id in kept] == [c.id for c in rel.cells]   # release order, nothing lost
    assert all(not c.get("outputs") for c in out.cells if c.cell_type == "code")
    return {gid(c): c.source for c in graded if c.metadata.nbgrader.get("solution")}


@pytest.mark.parametrize("name", [NB1, NB4])
def test_pristine_submission_needs_no_repair(name):
    out, notes = repair(samples.fill(name), released(name))
    assert notes == []
    assert checked(out, name) == samples.reference_answers(name)
    sub = samples.fill(name)
    assert [c.source for c in out.cells] == [c.source for c in sub.cells]   # self-check cells kept at the end
    assert out.metadata.kernelspec == released(name).metadata.kernelspec


def test_colab_save_with_metadata_kept_needs_no_repair():
    nb = samples.fill(NB1)
    nb.nbformat_minor = 0
    nb.metadata["colab"] = {"provenance": []}
    for k, cell in enumerate(nb.cells):
        cell.pop("id")
        cell.metadata["id"] = f"x{k}Ab"
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", text="OK\n")]
            cell.execution_count = k
    out, notes = repair(nb, released(NB1))
    assert notes == []
    assert checked(out, NB1) == samples.reference_answers(NB1)


@pytest.mark.parametrize("name", NOTEBOOKS)
@pytest.mark.parametrize("blank", [False, True])
def test_all_metadata_and_ids_lost_is_one_note(name, blank):
    nb = samples.fill(name, blank=blank)
    n = sum(1 for c in released(name).cells if gid(c))
    out, notes = repair(strip(nb), released(name))
    assert notes == [meta_note(n)]
    expected = {g: c.source for c in samples.fill(name, blank=blank).cells if (g := gid(c))
                and c.metadata.nbgrader.get("solution")}
    assert checked(out, name) == expected


@pytest.mark.parametrize("stripped", [False, True])
def test_renumbered_cell_ids(stripped):
    nb = samples.fill(NB1)
    ids = [c.id for c in nb.cells]
    for k, cell in enumerate(nb.cells):
        cell.id = ids[(k + 3) % len(ids)]   # every id now names another cell of the release
    if stripped:
        nb = strip(nb, keep_ids=True)
    out, notes = repair(nb, released(NB1))
    assert notes == ([meta_note(9)] if stripped else [])
    assert checked(out, NB1) == samples.reference_answers(NB1)


def test_check_moved_above_its_exercise():
    nb = samples.fill(NB1, {"head_dim": WRONG_HEAD_DIM})
    k = index(nb, "check_head_dim")
    nb.cells.insert(k - 1, nb.cells.pop(k))
    out, notes = repair(nb, released(NB1))
    assert notes == ["cells were out of order: put back in the released order"]
    assert checked(out, NB1)["head_dim"] == WRONG_HEAD_DIM


def graded_cells(notebook: str) -> int:
    """How many cells of the released notebook carry nbgrader metadata."""
    return sum(1 for c in released(notebook).cells if "nbgrader" in c.metadata)


def test_two_sections_swapped_without_metadata():
    nb = samples.fill(NB4)
    nb.cells = nb.cells[:13] + nb.cells[18:25] + nb.cells[13:18] + nb.cells[25:]
    out, notes = repair(strip(nb), released(NB4))
    assert notes == [meta_note(graded_cells(NB4)), "cells were out of order: put back in the released order"]
    assert checked(out, NB4) == samples.reference_answers(NB4)


@pytest.mark.parametrize("stripped", [False, True])
def test_duplicated_check_is_removed(stripped):
    nb = samples.fill(NB1)
    k = index(nb, "check_split_heads")
    nb.cells.insert(k + 1, copy.deepcopy(nb.cells[k]))
    nb.cells[k + 1].id = "copy"
    nb.cells[k + 1].source = nb.cells[k + 1].source.replace("assert", "# assert", 2)
    out, notes = repair(strip(nb) if stripped else nb, released(NB1))
    assert notes == ([meta_note(9)] if stripped else []) + ["removed a duplicate of test cell check_split_heads"]
    assert checked(out, NB1) == samples.reference_answers(NB1)
    assert len(out.cells) == len(samples.fill(NB1).cells)


def test_deleted_check_is_restored():
    nb = samples.fill(NB1)
    del nb.cells[index(nb, "check_score_cost")]
    out, notes = repair(nb, released(NB1))
    assert notes == ["test cell check_score_cost was missing: restored from the release"]
    checked(out, NB1)


@pytest.mark.parametrize("stripped", [False, True])
def test_edited_check_runs_the_released_version(stripped):
    nb = samples.fill(NB1)
    cell = nb.cells[index(nb, "check_score_cost")]
    cell.source = "\n".join(ln for ln in cell.source.splitlines() if not ln.startswith("assert"))
    out, notes = repair(strip(nb) if stripped else nb, released(NB1))
    assert notes == ([meta_note(9)] if stripped else []) + [
        "test cell check_score_cost was edited: the released version was run"]
    checked(out, NB1)
    assert "assert score_cost" in out.cells[index(out, "check_score_cost")].source


def test_check_turned_into_markdown_is_restored_as_code():
    nb = samples.fill(NB1)
    k = index(nb, "check_head_dim")
    old = nb.cells[k]
    nb.cells[k] = nbformat.v4.new_markdown_cell(old.source, id=old.id)
    out, notes = repair(nb, released(NB1))
    assert notes == [meta_note(1), "test cell check_head_dim had been turned into markdown: restored as code"]
    assert checked(out, NB1) == samples.reference_answers(NB1)
    assert out.cells[index(out, "check_head_dim")].cell_type == "code"


def test_exercise_turned_into_markdown_runs_as_code():
    nb = samples.fill(NB1, {"head_dim": WRONG_HEAD_DIM})
    k = index(nb, "head_dim")
    nb.cells[k] = nbformat.v4.new_markdown_cell(nb.cells[k].source, metadata=nb.cells[k].metadata, id=nb.cells[k].id)
    out, notes = repair(nb, released(NB1))
    assert notes == ["exercise head_dim had been turned into markdown: run as code"]
    assert checked(out, NB1)["head_dim"] == WRONG_HEAD_DIM


def test_learner_helper_cells_stay_in_place():
    nb = samples.fill(NB1)
    helper = nbformat.v4.new_code_cell("def _shape(a):\n    return a.shape\n", id="head-dim",
                                       metadata={"nbgrader": {"grade_id": "head_dim", "solution": True}})
    nb.cells.insert(index(nb, "head_dim"), helper)
    nb.cells.insert(index(nb, "check_split_heads") + 1, nbformat.v4.new_markdown_cell("my notes"))
    out, notes = repair(nb, released(NB1))
    assert notes == []
    assert checked(out, NB1) == samples.reference_answers(NB1)
    k = index(out, "head_dim")
    assert out.cells[k - 1].source == helper.source and "nbgrader" not in out.cells[k - 1].metadata
    assert out.cells[index(out, "check_split_heads") + 1].source == "my notes"


def test_duplicated_exercise_cell_keeps_both_in_order():
    nb = samples.fill(NB1, {"head_dim": WRONG_HEAD_DIM})
    k = index(nb, "head_dim")
    second = copy.deepcopy(nb.cells[k])
    second.id, second.source = "again", samples.reference_answers(NB1)["head_dim"]
    nb.cells.insert(k + 1, second)
    out, notes = repair(nb, released(NB1))
    assert notes == []
    k = index(out, "head_dim")
    assert out.cells[k].source == WRONG_HEAD_DIM and out.cells[k + 1].source == second.source
    assert gid(out.cells[k + 1]) is None and gid(out.cells[k + 2]) == "check_head_dim"


@pytest.mark.parametrize("stripped", [False, True])
def test_deleted_exercise_keeps_the_stub(stripped):
    nb = samples.fill(NB4)
    del nb.cells[index(nb, "quiz_summing")]
    del nb.cells[index(nb, "load_into_torch")]
    out, notes = repair(strip(nb) if stripped else nb, released(NB4))
    assert notes == ([meta_note(graded_cells(NB4) - 2)] if stripped else []) + [
        "exercise quiz_summing not found in the submission; graded as not done",
        "exercise load_into_torch not found in the submission; graded as not done"]
    answers = checked(out, NB4)
    stubs = {gid(c): c.source for c in released(NB4).cells}
    assert answers["quiz_summing"] == stubs["quiz_summing"] and answers["load_into_torch"] == stubs["load_into_torch"]
    assert answers["multi_head_attention"] == samples.reference_answers(NB4)["multi_head_attention"]


def test_wrong_answer_stays_wrong_whatever_the_damage():
    nb = samples.fill(NB1, {"head_dim": WRONG_HEAD_DIM})
    scratch = nbformat.v4.new_code_cell(samples.reference_answers(NB1)["head_dim"])   # tried, then abandoned
    nb.cells.insert(1, scratch)
    nb.cells.reverse()
    out, notes = repair(strip(nb), released(NB1))
    assert notes == [meta_note(9), "cells were out of order: put back in the released order"]
    assert checked(out, NB1)["head_dim"] == WRONG_HEAD_DIM


def test_edited_demo_cell_keeps_the_learners_version():
    nb = samples.fill(NB1)
    k = next(k for k, c in enumerate(nb.cells) if c.source.startswith("tokens = "))
    nb.cells[k].source = 'tokens = ["a", "dog", "ran"]\nn, d_model = len(tokens), 8\nX = np.ones((n, d_model))\n'
    out, notes = repair(strip(nb), released(NB1))
    assert notes == [meta_note(9)]
    checked(out, NB1)
    assert [c.source for c in out.cells if c.source.startswith("tokens = ")] == [nb.cells[k].source]


@pytest.mark.parametrize("cells", [
    [],
    [nbformat.v4.new_markdown_cell("just prose")],
    [nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": "not a dict"}),
     nbformat.v4.new_raw_cell("raw"), nbformat.v4.new_code_cell("")],
    released(NB4).cells,   # the wrong notebook handed in
])
def test_strange_notebooks_never_raise(cells):
    nb = nbformat.v4.new_notebook(cells=copy.deepcopy(cells))
    out, notes = repair(nb, released(NB1))
    assert notes
    assert checked(out, NB1) == {gid(c): c.source for c in released(NB1).cells if c.metadata.get("nbgrader", {}).get("solution")}
