"""Reading submissions: what parses, what is refused, and with which message."""
import json
from pathlib import Path

import nbformat
import pytest

from autograder import samples
from autograder.intake import collect, read_notebook
from autograder.errors import CourseError
from conftest import NOTEBOOKS

NB = NOTEBOOKS[0]


@pytest.fixture
def good_text():
    return nbformat.writes(samples.fill(NOTEBOOKS[0]))


def test_bom_and_crlf_are_accepted(tmp_path, good_text):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(b"\xef\xbb\xbf" + good_text.replace("\n", "\r\n").encode())
    assert len(read_notebook(path).cells) == len(nbformat.reads(good_text, 4).cells)


def test_old_nbformat_without_cell_ids_is_accepted(tmp_path, good_text):
    data = json.loads(good_text)
    data["nbformat_minor"] = 2
    for cell in data["cells"]:
        cell.pop("id", None)
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(data))
    nb = read_notebook(path)
    assert [c.source for c in nb.cells] == ["".join(c["source"]) for c in data["cells"]]
    nbformat.validate(nb)


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b'{"cells": [', "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b'{"hello": 1}', "no 'cells' list"),
    (b'{"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "invalid notebook"),
])
def test_unreadable_files_get_a_clear_reason(tmp_path, content, message):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        read_notebook(path)


def test_a_json_error_names_its_place_once(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(b'{"cells": [\n  {"source": "unfinished')
    with pytest.raises(ValueError) as err:
        read_notebook(path)
    assert "not valid JSON (Unterminated string starting at: line 2, column 14)" in str(err.value)
    assert " at at " not in str(err.value)


def test_collect_reports_unknown_notebooks_and_bad_ids(tmp_path, good_text):
    (tmp_path / "amy").mkdir()
    (tmp_path / "amy" / NOTEBOOKS[0]).write_text(good_text)
    (tmp_path / "amy" / "homework.ipynb").write_text(good_text)
    (tmp_path / "-rf").mkdir()
    (tmp_path / "-rf" / NOTEBOOKS[0]).write_text(good_text)
    subs = {(s.student_id, s.notebook): s for s in collect(tmp_path, NOTEBOOKS)}
    assert subs[("amy", NOTEBOOKS[0])].problem is None
    assert "unknown notebook" in subs[("amy", "homework.ipynb")].problem
    assert "student id" in subs[("-rf", NOTEBOOKS[0])].problem


def test_collect_refuses_a_missing_folder(tmp_path):
    with pytest.raises(CourseError, match="nope does not exist: give the folder of submissions"):
        collect(tmp_path / "nope", NOTEBOOKS)
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(CourseError, match="is not a folder"):
        collect(tmp_path / "a.txt", NOTEBOOKS)


def test_metadata_the_format_refuses_is_removed_with_a_note_and_the_answers_kept(tmp_path, good_text):
    data = json.loads(good_text)
    data["metadata"]["kernelspec"] = "python3"   # the format wants an object
    code = [c for c in data["cells"] if c["cell_type"] == "code"]
    code[0]["metadata"].update(collapsed="yes", tags="not a list")
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(data))
    notes = []
    nb = read_notebook(path, notes=notes)
    assert notes == ["3 metadata fields that the notebook format doesn't allow (written by an editor) removed "
                     "before grading"]
    assert "kernelspec" not in nb.metadata and not {"collapsed", "tags"} & set(nb.cells[data["cells"].index(code[0])].metadata)
    assert [c.source for c in nb.cells] == ["".join(c["source"]) for c in data["cells"]]
    assert all(c.metadata.get("nbgrader") == d["metadata"].get("nbgrader") for c, d in zip(nb.cells, data["cells"]))
    # a cell that is not the format is still refused, as before
    code[1]["source"] = {"x": 1}
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="invalid notebook: NotebookValidationError"):
        read_notebook(path, notes=[])


def test_a_refusal_quotes_at_most_300_characters_of_the_value(tmp_path, good_text):
    data = json.loads(good_text)
    data["cells"][0]["source"] = {"x": "y" * 1_000_000}   # not the format, and a megabyte long
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="invalid notebook: NotebookValidationError") as err:
        read_notebook(path, notes=[])
    assert len(str(err.value)) < 500 and str(err.value).endswith("into a fresh copy of the notebook)"), \
        str(err.value)[-200:]


def test_metadata_over_a_mebibyte_is_not_cleaned_and_the_notebook_refused(tmp_path, good_text):
    """Cleaning takes about a second per MiB of metadata: over MAX_METADATA_BYTES it is refused as before."""
    from autograder.nbclean import MAX_METADATA_BYTES

    data = json.loads(good_text)
    k = next(i for i, c in enumerate(data["cells"]) if c["cell_type"] == "code")
    data["cells"][k]["metadata"]["collapsed"] = "n" * MAX_METADATA_BYTES
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(data))
    notes = []
    with pytest.raises(ValueError, match="invalid notebook: NotebookValidationError"):
        read_notebook(path, notes=notes)
    assert notes == []
    data["cells"][k]["metadata"]["collapsed"] = "n" * 1000
    path.write_text(json.dumps(data))
    assert "collapsed" not in read_notebook(path, notes=notes).cells[k].metadata and len(notes) == 1


def test_tags_that_are_not_strings_are_removed_before_the_format_is_checked(tmp_path, good_text):
    """The format's unique-tags rule compares every pair of tags that can't be sorted: 1,000 dicts took 30 s of
    the batch (2,000: two minutes) and the notebook was refused; they are removed first, with the note."""
    data = json.loads(good_text)
    k = next(i for i, c in enumerate(data["cells"]) if c["cell_type"] == "code")
    data["cells"][k]["metadata"]["tags"] = [{"a": i} for i in range(200)]
    data["cells"][k + 1]["metadata"]["tags"] = ["fine", "tags"]
    data["cells"][k + 2]["metadata"] = ["not", "an", "object"]   # nbformat failed on it: "TypeError: pop expected ..."
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(data))
    notes = []
    nb = read_notebook(path, notes=notes)
    assert "tags" not in nb.cells[k].metadata and nb.cells[k + 1].metadata["tags"] == ["fine", "tags"]
    assert notes == ["2 metadata fields that the notebook format doesn't allow (written by an editor) removed before "
                     "grading"]


def test_cell_ids_in_a_notebook_that_says_4_4_are_read_as_4_5(tmp_path, good_text):
    """Some editors keep nbformat_minor 4 and write cell ids (a 4.5 field): read as 4.5, not refused."""
    data = json.loads(good_text)
    data["nbformat_minor"] = 4
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(data))
    notes = []
    nb = read_notebook(path, notes=notes)
    assert [c.id for c in nb.cells] == [c["id"] for c in data["cells"]] and notes == []


def test_outputs_counts_and_ids_that_are_not_the_format_are_dropped_not_the_notebook(tmp_path, good_text):
    """Grading never reads a submission's outputs (it runs the notebook again) nor its cell ids (the repair gives
    the released cells theirs): when they break the format, they go, with a note; the answers stay."""
    data = json.loads(good_text)
    code = [c for c in data["cells"] if c["cell_type"] == "code"]
    markdown = next(c for c in data["cells"] if c["cell_type"] == "markdown")
    code[0]["outputs"] = [{"output_type": "execute_result", "data": {"text/plain": "3"}, "metadata": {}}]
    code[1]["execution_count"] = "3"
    code[2]["id"] = "my cell"
    markdown["outputs"] = []
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(data))
    notes = []
    nb = read_notebook(path, notes=notes)
    assert [c.source for c in nb.cells] == ["".join(c["source"]) for c in data["cells"]]
    assert notes == ["outputs, attachments, run counts or cell ids that are not the notebook format dropped before grading "
                     "(grading runs the notebook again and gives the released cells their ids)"]
    assert nb.cells[data["cells"].index(code[2])].id != "my cell" and "outputs" not in nb.cells[data["cells"].index(markdown)]


def _with_metadata(tmp_path, edit) -> Path:
    data = json.loads(nbformat.writes(samples.fill(NB)))
    edit(data)
    path = tmp_path / NB
    path.write_text(json.dumps(data))
    return path


def test_a_field_wrong_inside_is_removed_and_the_rest_kept(tmp_path):
    """nbformat's strip_invalid_metadata keeps `"execution": {"iopub.status.busy": 5}` (the field is an object, a
    value inside it is wrong): the notebook was refused whole."""
    def edit(data):
        data["cells"][3]["metadata"]["execution"] = {"iopub.status.busy": 5, "iopub.execute_input": "2026-12-03"}
        data["cells"][3]["metadata"]["vscode"] = {"languageId": "python"}
        data["metadata"]["kernelspec"] = {"name": 5, "display_name": "Python 3"}
    notes = []
    nb = read_notebook(_with_metadata(tmp_path, edit), notes=notes)
    assert set(nb.cells[3].metadata) == {"deletable", "editable", "nbgrader", "vscode"}
    assert nb.cells[3].metadata["nbgrader"]["grade_id"] == samples.fill(NB).cells[3].metadata["nbgrader"]["grade_id"]
    assert "kernelspec" not in nb.metadata
    assert notes == ["2 metadata fields that the notebook format doesn't allow (written by an editor) removed before "
                     "grading"]


def test_a_cell_with_a_wrong_id_keeps_its_metadata(tmp_path):
    """Its fields fail alone only because of the id: they are not removed (the id is replaced)."""
    nb = read_notebook(_with_metadata(tmp_path, lambda data: data["cells"][3].update(id="an id with spaces")))
    assert nb.cells[3].metadata["nbgrader"]["grade_id"] == samples.fill(NB).cells[3].metadata["nbgrader"]["grade_id"]


def test_too_many_fields_wrong_inside_is_refused_as_before(tmp_path, monkeypatch):
    from autograder import nbclean

    monkeypatch.setattr(nbclean, "MAX_FIELD_CHECKS", 10)

    def edit(data):
        for cell in data["cells"]:
            if cell["cell_type"] == "code":
                cell["metadata"]["execution"] = {"iopub.status.busy": 5}
    with pytest.raises(ValueError, match="is not of type 'string'"):
        read_notebook(_with_metadata(tmp_path, edit))


@pytest.mark.parametrize("edit", [lambda d: d.update(nbformat_minor="5"), lambda d: d.update(nbformat="4"),
                                  lambda d: d.pop("nbformat"), lambda d: d.pop("nbformat_minor"),
                                  lambda d: d.update(nbformat_minor=5.0), lambda d: d.pop("metadata")],
                         ids=["minor_as_text", "major_as_text", "no_major", "no_minor", "minor_as_float", "no_metadata"])
def test_format_fields_a_tool_broke_are_set_as_format_4_has_them(tmp_path, edit):
    """Refused before with nbformat's internal errors (AssertionError, UnboundLocalError 'newcell', ...)."""
    notes = []
    nb = read_notebook(_with_metadata(tmp_path, edit), notes=notes)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    assert [c.source for c in nb.cells] == [c.source for c in samples.fill(NB).cells]
    assert notes == ["the notebook's format fields (version numbers, metadata) were missing or of the wrong type (a "
                     "tool's doing, not Jupyter's): read as format 4.5"]


def test_a_notebook_of_another_format_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(ValueError, match=r"Unsupported nbformat version 5 \(if Jupyter or Colab opens it, save it "
                                         r"there and hand it in again; if not, copy your answers into a fresh copy"):
        read_notebook(_with_metadata(tmp_path, lambda d: d.update(nbformat=5)))


def test_a_notebook_of_format_3_is_upgraded_and_said(tmp_path):
    """It was refused as "not a Jupyter notebook" (its cells are in worksheets): Jupyter opens it."""
    path = tmp_path / NB
    path.write_text(nbformat.writes(nbformat.convert(samples.fill(NB), 3), version=3))
    notes = []
    nb = read_notebook(path, notes=notes)
    assert [c.source for c in nb.cells] == [c.source for c in samples.fill(NB).cells]
    assert notes == ["a notebook of the old format 3 (IPython 2) read as format 4.5"]


@pytest.mark.parametrize("edit", [
    lambda d: d["cells"][3].update(outputs="x"), lambda d: d["cells"][3].update(outputs=[5]),
    lambda d: d["cells"][0].update(attachments=5), lambda d: d["cells"][0].update(attachments={"a.png": 5})],
    ids=["outputs_text", "outputs_of_numbers", "attachments_number", "attachment_number"])
def test_outputs_and_attachments_nbformat_cannot_read_are_dropped(tmp_path, edit):
    """nbformat failed on them with an AttributeError ("'str' object has no attribute 'get'"): refused, 0/8."""
    notes = []
    nb = read_notebook(_with_metadata(tmp_path, edit), notes=notes)
    assert nb.cells[3].outputs == [] and "attachments" not in nb.cells[0]
    assert [c.source for c in nb.cells] == [c.source for c in samples.fill(NB).cells]
    assert notes == ["outputs, attachments, run counts or cell ids that are not the notebook format dropped before "
                     "grading (grading runs the notebook again and gives the released cells their ids)"]


@pytest.mark.parametrize("edit", [lambda d: [c.pop("metadata") for c in d["cells"]],
                                  lambda d: d.update(nbformat=True, nbformat_minor=True)],
                         ids=["cells_without_metadata", "versions_true"])
def test_a_missing_cell_metadata_or_a_version_of_true_is_read(tmp_path, edit):
    nb = read_notebook(_with_metadata(tmp_path, edit))
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5) and len(nb.cells) == len(samples.fill(NB).cells)


def test_duplicate_cell_ids_are_a_flag_not_a_warning_on_the_terminal(tmp_path, recwarn):
    """nbformat warned once per cell on stderr (`DuplicateCellId`), even with --quiet."""
    def edit(data):
        for cell in data["cells"][1:4]:
            cell["id"] = "twin"
    notes = []
    nb = read_notebook(_with_metadata(tmp_path, edit), notes=notes)
    assert len({c.id for c in nb.cells}) == len(nb.cells)
    assert notes == ["2 cell ids that another cell had too made unique before grading"]
    assert not [w for w in recwarn if "cell id" in str(w.message)]
