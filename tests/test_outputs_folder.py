"""What a grading output folder holds: grades.csv cells a spreadsheet never runs, feedback pages only for the
rows written, and a merge that writes nothing when it refuses."""
import csv
import json
from dataclasses import asdict

import pytest

from autograder import export, results
from autograder.errors import CourseError
from autograder.grading import _write_notices
from autograder.merge import merge
from autograder.outcome import Outcome, Result

NB = "01_projections.ipynb"


def _page(out, student, text="8.0 / 8.0"):
    page = out / "feedback" / student / "01_projections.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text)
    return page


def test_cells_that_would_start_a_formula_are_quoted_and_numbers_kept():
    assert [results.csv_cell(v) for v in ("=HYPERLINK(\"x\")", "@SUM(1)", "+1+2", "-1+2", "\tx", "amy", "8", "-0.5",
                                          "1e-05", "José")] == \
        ["'=HYPERLINK(\"x\")", "'@SUM(1)", "'+1+2", "'-1+2", "'\tx", "amy", "8", "-0.5", "1e-05", "José"]


def test_grades_csv_never_holds_a_formula(tmp_path):
    rows = [Result("=HYPERLINK(\"http://x\")", NB, 0.0, 8.0, "not graded: the folder name is not a usable student id",
                   outcome=Outcome.REFUSED, flags=["@flag"]),
            Result("amy", NB, 8.0, 8.0, "graded")]
    results.write_csv(rows, tmp_path / "grades.csv")
    with (tmp_path / "grades.csv").open(encoding="utf-8") as f:
        got = [(r["student_id"], r["score"], r["flags"]) for r in csv.DictReader(f)]
    assert got == [("'=HYPERLINK(\"http://x\")", "0", "'@flag"), ("amy", "8", "")]


def test_an_lms_name_that_reads_as_a_formula_is_quoted_in_the_export(tmp_path):
    row = Result("x_777", NB, 8.0, 8.0, "graded", cells={"check_head_dim": [2.0, 2.0]},
                 identity={"lms": "moodle", "moodle_participant_id": "777", "name": "=1+2"})
    (tmp_path / "details.json").write_text(json.dumps([asdict(row)]))
    export.export(tmp_path, tmp_path / "moodle.csv", "moodle")
    text = (tmp_path / "moodle.csv").read_text(encoding="utf-8")
    assert "'=1+2" in text and ",=1+2" not in text and "Participant 777" in text


def test_pages_no_row_links_are_removed(tmp_path):
    """An earlier run into the same folder left a page (8/8) for a file that is now refused: it must not stay to
    be sent with this run's 0."""
    kept, stale = _page(tmp_path, "amy"), _page(tmp_path, "ben")
    (tmp_path / "feedback" / "notes.txt").write_text("not a page: left alone")
    rows = [Result("amy", NB, 8.0, 8.0, "graded", feedback="feedback/amy/01_projections.html"),
            Result("ben", NB, 0.0, 8.0, "invalid notebook: not valid JSON", outcome=Outcome.REFUSED)]
    assert results.prune_pages(rows, tmp_path) == 1
    assert kept.exists() and not stale.exists() and not stale.parent.exists()
    assert (tmp_path / "feedback" / "notes.txt").exists()


def test_a_merge_that_refuses_writes_nothing(tmp_path):
    """It copied the first shard's pages before finding a row in both: the merged folder's 0 linked to an 8/8."""
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "merged"
    for shard, score in ((a, 8.0), (b, 0.0)):
        shard.mkdir()
        row = Result("amy", NB, score, 8.0, "graded", feedback="feedback/amy/01_projections.html")
        (shard / "details.json").write_text(json.dumps([asdict(row)]))
        _page(shard, "amy", f"{score} / 8.0")
    with pytest.raises(CourseError, match="is in both"):
        merge([a, b], out)
    assert not out.exists()


def test_the_report_counts_course_notebooks_and_lists_other_files_apart(tmp_path):
    """A student's notes.txt and a file whose owner is unknown were counted as notebooks handed in, and each had
    a column in the class at a glance."""
    from autograder.report import write_report

    rows = [Result("amy", NB, 8.0, 8.0, "graded", feedback="feedback/amy/01_projections.html"),
            Result("ben", NB, 0.0, 8.0, "invalid notebook: not valid JSON", outcome=Outcome.REFUSED),
            Result("amy", "notes.txt", 0.0, 0.0, "not graded: amy/notes.txt: not a notebook", outcome=Outcome.REFUSED),
            Result("?", "x.ipynb", 0.0, 0.0, "not graded: can't tell whose file x.ipynb is", outcome=Outcome.REFUSED)]
    page = write_report(rows, tmp_path).read_text(encoding="utf-8")
    assert "2 students, 2 course notebooks handed in; 2 other files, not graded" in page
    assert 'title="notes.txt"' not in page and 'title="x.ipynb"' not in page and 'title="01_projections.ipynb"' in page
    assert "amy/notes.txt: not a notebook" in page and "can&#x27;t tell whose file" in page


def test_links_planted_in_out_are_never_followed(tmp_path):
    """Found by attacking the outputs: a page or a student's folder in OUT/feedback that is a link to a file or
    folder outside OUT was written through (and the pruning would have deleted pages there)."""
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    (outside / "page.html").write_text("someone else's file")
    (outside / "folder" / "01_projections.html").write_text("someone else's page")
    out = tmp_path / "out"
    (out / "feedback" / "amy").mkdir(parents=True)
    (out / "feedback" / "amy" / "01_projections.html").symlink_to(outside / "page.html")
    (out / "feedback" / "ben").symlink_to(outside / "folder")
    assert results.prune_pages([], out) == 1   # amy's link is removed, not its file; ben's folder link is not entered
    assert not (out / "feedback" / "amy" / "01_projections.html").is_symlink()
    assert (outside / "page.html").read_text() == "someone else's file"
    assert (outside / "folder" / "01_projections.html").exists()
    rows = [Result("ben", NB, 0.0, 8.0, "invalid notebook: the file is empty", outcome=Outcome.REFUSED)]
    _write_notices(rows, [NB], out)
    assert (outside / "folder" / "01_projections.html").read_text() == "someone else's page"
    assert not (out / "feedback" / "ben").is_symlink() and "not graded" in (out / rows[0].feedback).read_text()


def test_a_feedback_folder_an_instructor_linked_elsewhere_is_kept_used_and_not_pruned(tmp_path):
    shared = tmp_path / "shared"
    (shared / "old").mkdir(parents=True)
    (shared / "old" / "01_projections.html").write_text("last year's page")
    out = tmp_path / "out"
    out.mkdir()
    (out / "feedback").symlink_to(shared)
    rows = [Result("ben", NB, 0.0, 8.0, "invalid notebook: the file is empty", outcome=Outcome.REFUSED)]
    _write_notices(rows, [NB], out)
    assert results.prune_pages(rows, out) == 0   # it may hold what other runs wrote there: nothing is removed
    assert (shared / "old" / "01_projections.html").read_text() == "last year's page"
    assert (out / "feedback").is_symlink() and (shared / "ben" / "01_projections.html").exists()
