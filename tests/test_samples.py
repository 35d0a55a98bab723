"""samples builds submissions from the course's notebooks: each read once while its file is unchanged."""
import shutil

import nbformat

from autograder import samples
from autograder.paths import COURSE, SOLUTIONS

NB = "01_projections.ipynb"


def test_each_submission_is_its_own_copy():
    first = samples.fill(NB)
    first.cells[0].source = "changed by one submission"
    assert samples.fill(NB).cells[0].source != "changed by one submission"
    assert samples.reference_answers(NB) == samples.reference_answers(NB)


def test_a_notebook_edited_on_disk_is_read_again(tmp_path):
    solutions, course = tmp_path / "solutions", tmp_path / "course"
    solutions.mkdir(), course.mkdir()
    shutil.copy(SOLUTIONS / NB, solutions / NB)
    shutil.copy(COURSE / NB, course / NB)
    assert "return num_heads * n * n" in samples.reference_answers(NB, solutions)["score_cost"]
    nb = nbformat.read(solutions / NB, as_version=4)
    [cell] = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "score_cost"]
    cell.source = cell.source.replace("return num_heads * n * n", "return n * n * num_heads")
    nbformat.write(nb, solutions / NB)
    assert "return n * n * num_heads" in samples.reference_answers(NB, solutions)["score_cost"]
    filled = samples.fill(NB, course=course, solutions=solutions)
    assert any("return n * n * num_heads" in c.source for c in filled.cells)
