"""A mixed batch of 30 notebook-01 submissions, as a real class hands them in: good, wrong, broken,
damaged by an editor, hostile, and a correct one last. Every row is present and right, one student's
trouble never changes another's row, and grading the same batch again gives the same grades."""
from __future__ import annotations

import copy
import shutil
import csv
from pathlib import Path

import nbformat
import pytest

from autograder import grading, results, samples
from autograder.paths import SOLUTIONS
from conftest import NOTEBOOKS
from test_repair import gid, index, strip
from test_scan import ALWAYS_EQUAL, PATCH, STRIP, WRONG_HEAD_DIM
from test_tampering import TRICKS

NB = NOTEBOOKS[0]   # 01_projections: 8 points (head_dim 2, split_heads 3 + 2, score_cost 1)
ANSWERS = samples.reference_answers(NB)
FULL = 8.0
WRONG_SPLIT = samples.SAMPLE_CLASS["ben"]["answers"]["split_heads"]   # mixes tokens: loses 3 + 2
WRONG = 6.0   # WRONG_HEAD_DIM loses check_head_dim (2) only: split_heads is checked with the reference head_dim
ESCAPE = "/mha-course-escaped.txt"


def _moved(nb, grade_id: str, before: str):
    nb = copy.deepcopy(nb)
    cell = nb.cells.pop(index(nb, grade_id))
    nb.cells.insert(index(nb, before), cell)
    return nb


def _edited(nb, grade_id: str, source: str, as_markdown: bool = False):
    nb = copy.deepcopy(nb)
    cell = nb.cells[index(nb, grade_id)]
    cell.source = source
    if as_markdown:
        nb.cells[index(nb, grade_id)] = nbformat.v4.new_markdown_cell(source)
    return nb


def _without(nb, grade_id: str):
    nb = copy.deepcopy(nb)
    del nb.cells[index(nb, grade_id)]
    return nb


def _duplicated(nb, grade_id: str):
    nb = copy.deepcopy(nb)
    i = index(nb, grade_id)
    nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))
    nb.cells[i + 1].id = "copy-of-check"
    return nb


def _old_format(nb) -> str:
    """nbformat 4.0 text, no cell ids, with a byte-order mark and Windows line ends."""
    nb = copy.deepcopy(nb)
    nb.nbformat_minor = 0
    for cell in nb.cells:
        cell.pop("id", None)
    return "\ufeff" + nbformat.writes(nb, version=4).replace("\n", "\r\n")


def _cases() -> dict[str, tuple[object, float, str, str]]:
    """{student: (notebook or raw text, expected score, text in the status, text in the repairs)}."""
    good, wrong = samples.fill(NB), samples.fill(NB, {"head_dim": WRONG_HEAD_DIM})
    check = ANSWERS["head_dim"]
    visible = next(c.source for c in good.cells if gid(c) == "check_head_dim")
    return {
        # good ones, the same answer in other clothes
        "a_correct": (good, FULL, "graded", ""),
        "a_correct_with_scratch_cells": (_insert_scratch(good), FULL, "graded", ""),
        "a_bom_crlf_nbformat_4_0": (_old_format(good), FULL, "graded", ""),
        # wrong answers, each losing its own points
        "b_wrong_head_dim": (wrong, WRONG, "graded", ""),
        "b_wrong_split": (samples.fill(NB, {"split_heads": WRONG_SPLIT}), 3.0, "graded", ""),
        "b_blank": (samples.fill(NB, blank=True), 0.0, "graded", ""),
        "b_raises": (samples.fill(NB, {"split_heads": "raise RuntimeError('my code is broken')\n"}), 3.0,
                     "split_heads raised RuntimeError", ""),
        # damaged by an editor or by hand: repaired, graded as if intact
        "c_metadata_stripped": (strip(good), FULL, "graded", "had lost or changed their nbgrader metadata"),
        "c_metadata_stripped_wrong": (strip(wrong), WRONG, "graded", "nbgrader metadata"),
        "c_reordered": (_moved(good, "check_head_dim", "head_dim"), FULL, "graded", "out of order"),
        "c_reordered_stripped": (strip(_moved(good, "check_split_heads", "split_heads")), FULL, "graded",
                                 "out of order"),
        "c_duplicated_test": (_duplicated(good, "check_split_heads"), FULL, "graded",
                              "removed a duplicate of test cell check_split_heads"),
        "c_deleted_test": (_without(good, "check_score_cost"), FULL, "graded",
                           "test cell check_score_cost was missing"),
        "c_edited_test_on_wrong": (_edited(wrong, "check_head_dim", "print('all good')\n"), WRONG, "graded",
                                   "test cell check_head_dim was edited"),
        "c_edited_stripped_on_wrong": (strip(_edited(wrong, "check_head_dim", visible.replace("assert", "pass  #"))),
                                       WRONG, "graded", "check_head_dim"),
        "c_test_as_markdown": (_edited(wrong, "check_head_dim", visible, as_markdown=True), WRONG, "graded",
                               "test cell check_head_dim had been turned into markdown"),
        "c_exercise_deleted": (_without(good, "score_cost"), 7.0, "graded", "exercise score_cost not found"),
        # broken files and unknown notebooks: a clear status, nothing else disturbed
        "d_invalid_json": (nbformat.writes(good)[:400], 0.0, "not valid JSON", ""),
        "d_empty": ("", 0.0, "empty", ""),
        "d_not_a_notebook": ('{"hello": "world"}', 0.0, "not a Jupyter notebook", ""),
        # hostile: killed, zeroed or given no more than the plain wrong answer
        "e_infinite_loop": (samples.fill(NB, {"head_dim": "while True:\n    pass\n"}), 0.0, "timed out", ""),
        "e_os_exit": (samples.fill(NB, {"split_heads": "import os\nos._exit(3)\n"}), 0.0, "split_heads", ""),
        "e_patches_allclose": (samples.fill(NB, {"head_dim": PATCH + WRONG_HEAD_DIM}), WRONG, "graded", ""),
        "e_strips_asserts": (samples.fill(NB, {"head_dim": STRIP + WRONG_HEAD_DIM}), WRONG, "graded", ""),
        "e_patches_kernel": (samples.fill(NB, {"head_dim": TRICKS["patches_kernel_execution"] + WRONG_HEAD_DIM}),
                             WRONG, "graded", ""),
        "e_always_equal": (samples.fill(NB, {"head_dim": ALWAYS_EQUAL}), WRONG, "graded", ""),
        "e_reads_solutions": (samples.fill(NB, {"head_dim": check + READ_SOLUTIONS}), FULL, "graded", ""),
        "e_writes_outside": (samples.fill(NB, {"head_dim": check + f"\nopen({ESCAPE!r}, 'w').write('x')\n"}),
                             FULL, "head_dim raised", ""),
        "e_big_output": (samples.fill(NB, {"head_dim": check + "\nprint('x' * 20_000_000)\n"}), FULL, "graded", ""),
        # the last one proves the batch went on
        "z_correct_last": (good, FULL, "graded", ""),
    }


READ_SOLUTIONS = f"""
try:
    print(open({str(SOLUTIONS / NB)!r}).read()[:100])
except OSError as err:
    print("no solutions here:", err)
"""


def _insert_scratch(nb):
    nb = copy.deepcopy(nb)
    nb.cells.insert(index(nb, "split_heads"), nbformat.v4.new_code_cell("print(head_dim(512, 8))  # trying it out"))
    nb.cells.append(nbformat.v4.new_markdown_cell("My notes: d_k = d_model / h."))
    return nb


def _grade(subs, out):
    graded = grading.grade(subs, out, cell_timeout=6, progress=False, jobs=2)
    results.write_all(graded, out)
    return {r.student_id: r for r in graded}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    subs = root / "submissions"
    cases = _cases()
    for student, (nb, *_) in cases.items():
        samples.write_submission(subs, student, NB, nb)
    samples.write_submission(subs, "d_unknown_notebook", "homework.ipynb", samples.fill(NB))
    return cases, _grade(subs, root / "out"), root


def test_thirty_submissions(mixed):
    cases, _, _ = mixed
    assert len(cases) == 30


def test_every_row_is_present_and_right(mixed):
    cases, rows, root = mixed
    rows = dict(rows)
    with (root / "out" / "grades.csv").open(encoding="utf-8") as f:
        csv_rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert set(rows) == set(csv_rows) == set(cases) | {"d_unknown_notebook"}
    assert "unknown notebook" in rows.pop("d_unknown_notebook").status
    wrong = []
    for student, (_, score, status, repaired) in cases.items():
        r = rows[student]
        if (r.score, r.max_score) != (score, FULL) or status not in r.status or repaired not in " | ".join(r.repairs):
            wrong.append(f"{student}: {r.score:g}/{r.max_score:g} {r.status!r} repairs={r.repairs} failed={r.failed}")
        elif csv_rows[student]["score"] != f"{score:g}":
            wrong.append(f"{student}: grades.csv says {csv_rows[student]['score']}")
    assert not wrong, "\n".join(wrong)


def test_class_report_lists_problem_submissions(mixed):
    _, _, root = mixed
    page = (root / "out" / "report.html").read_text()
    assert (root / "out" / "report.png").stat().st_size > 1000
    for text in ("d_invalid_json", "not valid JSON", "head_dim timed out", "d_unknown_notebook", "must be divisible"):
        assert text in page, text


def test_a_refused_notebook_gets_a_page_saying_why_and_other_files_get_none(mixed):
    """Every student who handed in a course notebook has a page to be sent, linked from the report."""
    _, rows, root = mixed
    out = root / "out"
    for student, why in {"d_invalid_json": "not valid JSON", "d_empty": "the file is empty",
                         "d_not_a_notebook": "not a Jupyter notebook"}.items():
        assert rows[student].feedback == f"feedback/{student}/01_projections.html", student
        page = (out / rows[student].feedback).read_text(encoding="utf-8")
        assert why in page and "0 / 8" in page and "Hand in the saved file" in page, student
    assert all(r.feedback for s, r in rows.items() if s != "d_unknown_notebook")
    assert rows["d_unknown_notebook"].feedback == "" and not (out / "feedback" / "d_unknown_notebook").exists()
    assert 'href="feedback/d_invalid_json/01_projections.html"' in (out / "report.html").read_text()


def test_hostile_code_left_no_trace(mixed):
    _, rows, root = mixed
    assert not Path(ESCAPE).exists()
    assert "no solutions here" in (root / "out" / "feedback" / "e_reads_solutions" / "01_projections.html").read_text()
    # head_dim passed before os._exit stopped the notebook, which scores 0: its feedback page says 0 too
    assert rows["e_os_exit"].cells["check_head_dim"] == [0.0, 2.0]
    assert "(Score: 0.0 / 8.0)" in (root / "out" / "feedback" / "e_os_exit" / "01_projections.html").read_text()
    assert "got <your Anything object>" in rows["e_always_equal"].failed["check_head_dim"]


def test_repairs_are_named_in_the_feedback_and_only_where_needed(mixed):
    cases, rows, root = mixed
    for student, (_, _, _, repaired) in cases.items():
        assert bool(rows[student].repairs) == bool(repaired), (student, rows[student].repairs)
    page = (root / "out" / "feedback" / "c_deleted_test" / NB.replace(".ipynb", ".html")).read_text()
    assert "Repaired before grading" in page and "check_score_cost was missing" in page
    assert "c_reordered" in (root / "out" / "report.html").read_text()


def test_a_wrong_answer_keeps_its_diagnosis_through_a_repair(mixed):
    _, rows, _ = mixed
    for student in ("c_metadata_stripped_wrong", "c_edited_test_on_wrong", "c_edited_stripped_on_wrong",
                    "c_test_as_markdown"):
        assert "must be divisible" in rows[student].failed["check_head_dim"], (student, rows[student].failed)


def test_one_nbgrader_gradebook_holds_every_grade(mixed):
    from test_shard import gradebook_scores

    _, rows, root = mixed
    graded = {(s, NB): r.score for s, r in rows.items() if r.cells}
    assert len(graded) >= 25 and gradebook_scores(root / "out") == graded


#: one submission of each kind graded again: right, wrong, raising, repaired, broken, killed, tampering, the last
AGAIN = ["a_correct", "b_wrong_split", "b_raises", "c_reordered_stripped", "c_deleted_test", "c_test_as_markdown",
         "d_invalid_json", "e_infinite_loop", "e_os_exit", "e_patches_kernel", "e_always_equal", "z_correct_last"]


def test_grading_the_same_batch_again_gives_the_same_grades(mixed):
    _, first, root = mixed
    for student in AGAIN:
        shutil.copytree(root / "submissions" / student, root / "again-submissions" / student)
    again = _grade(root / "again-submissions", root / "again")
    assert set(again) == set(AGAIN)
    assert {s: (r.score, r.status, sorted(r.failed), r.repairs) for s, r in again.items()} == \
           {s: (r.score, r.status, sorted(r.failed), r.repairs) for s, r in first.items() if s in AGAIN}
