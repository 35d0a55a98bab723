"""One broken submission never costs another student their grade."""
import csv

import nbformat
import pytest

from autograder import grading, results, samples
from conftest import NOTEBOOKS

NB = NOTEBOOKS[0]   # 01_projections


@pytest.fixture(scope="module")
def bad_batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    subs = root / "submissions"
    good = samples.fill(NB)
    samples.write_submission(subs, "a_invalid_json", NB, nbformat.writes(good)[:500])
    samples.write_submission(subs, "b_empty", NB, "")
    samples.write_submission(subs, "c_infinite_loop", NB,
                             samples.fill(NB, {"head_dim": "while True:\n    pass\n"}))
    samples.write_submission(subs, "d_raises", NB,
                             samples.fill(NB, {"split_heads": "raise RuntimeError('my code is broken')\n"}))
    samples.write_submission(subs, "e_unknown", "homework.ipynb", good)
    samples.write_submission(subs, "z_correct_last", NB, good)
    out = root / "out"
    graded = grading.grade(subs, out, cell_timeout=5, progress=False)
    results.write_all(graded, out)
    return {r.student_id: r for r in graded}, out


def test_every_submission_has_a_row(bad_batch):
    rows, out = bad_batch
    with (out / "grades.csv").open() as f:
        csv_rows = list(csv.DictReader(f))
    assert {r["student_id"] for r in csv_rows} == set(rows) == {
        "a_invalid_json", "b_empty", "c_infinite_loop", "d_raises", "e_unknown", "z_correct_last"}
    assert set(csv_rows[0]) >= {"student_id", "notebook", "score", "max_score", "status"}


def test_unreadable_files_score_zero_with_a_reason(bad_batch):
    rows, _ = bad_batch
    assert rows["a_invalid_json"].score == 0 and "not valid JSON" in rows["a_invalid_json"].status
    assert rows["a_invalid_json"].max_score > 0
    assert rows["b_empty"].score == 0 and "empty" in rows["b_empty"].status
    assert "unknown notebook" in rows["e_unknown"].status


def test_a_timeout_is_named_and_the_batch_goes_on(bad_batch):
    rows, _ = bad_batch
    loop = rows["c_infinite_loop"]
    assert "head_dim timed out" in loop.status
    assert loop.score < loop.max_score and "check_head_dim" in loop.failed


def test_a_raising_cell_is_named_and_costs_its_points(bad_batch):
    rows, out = bad_batch
    broken = rows["d_raises"]
    assert "split_heads raised RuntimeError" in broken.status
    assert "check_split_heads" in broken.failed and "check_head_dim" not in broken.failed
    assert (out / "feedback" / "d_raises" / "01_projections.html").exists()


def test_the_correct_submission_after_them_gets_full_marks(bad_batch):
    rows, _ = bad_batch
    last = rows["z_correct_last"]
    assert last.status == "graded" and last.score == last.max_score > 0


def test_class_report_lists_problem_submissions(bad_batch):
    _, out = bad_batch
    page = (out / "report.html").read_text()
    assert (out / "report.png").stat().st_size > 1000
    assert "a_invalid_json" in page and "not valid JSON" in page and "head_dim timed out" in page
