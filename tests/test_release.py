"""`course/` is exactly what nbgrader releases from `solutions/`, without solutions or hidden tests."""
import json
import shutil

import nbformat
import pytest

from autograder import release
from autograder.paths import COURSE, SOLUTIONS, notebook_names
from conftest import NOTEBOOKS


@pytest.fixture(scope="module")
def released():
    return release.released_notebooks()


def test_course_is_in_sync(released, tmp_path):
    assert release.release(check=True) == 0, "course/ is stale: run `python -m autograder release`"
    assert set(released) == set(notebook_names(SOLUTIONS)) == set(NOTEBOOKS)


def test_release_is_deterministic(released):
    assert release.released_notebooks() == released


def test_check_detects_stale_and_extra_notebooks(released, tmp_path, capsys):
    course = tmp_path / "course"
    shutil.copytree(COURSE, course)
    first = sorted(released)[0]
    text = (course / first).read_text().replace("d_model", "D_MODEL", 1)
    (course / first).write_text(text)
    (course / "99_extra.ipynb").write_text("{}")
    assert release.release(course, check=True) == 1
    out = capsys.readouterr().out
    assert f"stale: course/{first}" in out and "extra: course/99_extra.ipynb" in out
    assert release.release(course) == 0            # repairs it
    assert release.release(course, check=True) == 0


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_released_notebook_has_stubs_not_answers(released, name):
    text = released[name]
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    nb = nbformat.reads(text, as_version=4)
    solution_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solution_cells and all("raise NotImplementedError" in c.source for c in solution_cells)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    # every point is autograded: no manually graded cells
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        assert not (meta.get("solution") and meta.get("grade")), f"manually graded cell {meta.get('grade_id')}"
        assert c.cell_type == "code" or not meta.get("grade"), f"graded markdown cell {meta.get('grade_id')}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solution_notebooks_are_committed_without_outputs(name):
    nb = json.loads((SOLUTIONS / name).read_text())
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


def test_earlier_pieces_are_written_from_the_solutions(tmp_path):
    """Issue 14: the earlier-pieces cells can't drift from the solutions they copy. An edit to a copy, or to the
    solution it copies, makes `stale` name it; writing puts the solution's code back in every copy."""
    from autograder import pieces

    solutions = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS, solutions)
    assert pieces.stale(solutions) == []
    path = solutions / "04_output_projection.ipynb"
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "earlier_pieces")
    assert "def softmax(x, axis=-1):" in "".join(cell["source"])
    cell["source"] = ["".join(cell["source"]).replace("x = x - np.max(x, axis=axis, keepdims=True)", "pass")]
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    assert pieces.stale(solutions) == ["solutions/04_output_projection.ipynb: earlier pieces"]
    source = solutions / "01_projections.ipynb"
    source.write_text(source.read_text().replace("num_heads must be at least 1", "num_heads must be 1 or more"))
    assert len(pieces.stale(solutions, write=True)) == 7   # 02-08 all copy head_dim
    assert pieces.stale(solutions) == []
    fixed = "".join(next(c for c in json.loads(path.read_text())["cells"] if "mha_course" in c["metadata"])["source"])
    assert "x = x - np.max(x, axis=axis, keepdims=True)" in fixed and "num_heads must be 1 or more" in fixed


def test_the_bench_times_the_course_reference_module():
    from autograder import pieces

    assert (SOLUTIONS.parent / pieces.BENCH_FILE).read_text() == pieces.bench_source()
