"""A course notebook handed in but not graded (refused, or the grader failed) gets a page that says why and
what to do, where its feedback page would be; files that are no course notebook, or have no known owner,
don't (autograder/notice.py)."""
import html

from autograder import notice
from autograder.grading import _write_notices
from autograder.names import safe_id
from autograder.outcome import Outcome, Result

NB = "01_projections.ipynb"
KNOWN = [NB, "02_scaled_attention.ipynb"]


def refused(student="amy", notebook=NB, status="invalid notebook: not valid JSON (Expecting value: line 1, column 1)"):
    return Result(student, notebook, 0.0, 8.0, status, outcome=Outcome.REFUSED)


def test_a_refused_notebook_gets_a_page_with_why_and_what_to_do(tmp_path):
    rows = [refused()]
    _write_notices(rows, KNOWN, tmp_path)
    assert rows[0].feedback == "feedback/amy/01_projections.html"
    page = (tmp_path / rows[0].feedback).read_text(encoding="utf-8")
    assert "01_projections.ipynb: not graded" in page and "0 / 8" in page
    assert "not valid JSON (Expecting value: line 1, column 1)" in page
    assert "Open your 01_projections.ipynb in Jupyter or Colab and save it" in page
    assert "download 01_projections.ipynb from the course again" in page


def test_a_failed_grading_says_it_is_the_graders_problem(tmp_path):
    rows = [Result("amy", NB, 0.0, 8.0, "not graded: grader error (KeyError: 'x'; traceback in logs/worker-7.log)",
                   outcome=Outcome.FAILED)]
    _write_notices(rows, KNOWN, tmp_path)
    page = html.unescape((tmp_path / rows[0].feedback).read_text(encoding="utf-8"))
    assert "the grader's problem to fix, not yours" in page and "KeyError: 'x'" in page
    assert "Open your" not in page


def test_what_the_learner_controls_is_escaped(tmp_path):
    student = "Jane & <Doe>"   # not a usable id (< >): no page; one with & is usable and is escaped
    rows = [refused("Jane & Co", status="invalid notebook: ValidationError: '<script>alert(1)</script>' is not"),
            refused(student)]
    _write_notices(rows, KNOWN, tmp_path)
    page = (tmp_path / "feedback" / safe_id("Jane & Co") / "01_projections.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "Jane &amp; Co" in page
    assert rows[1].feedback == "" and not (tmp_path / "feedback" / safe_id(student)).exists()


def test_no_page_for_other_files_unknown_owners_graded_rows_or_rows_with_a_page(tmp_path):
    graded = Result("amy", NB, 8.0, 8.0, "graded")
    has_page = refused("ben")
    has_page.feedback = "feedback/ben/01_projections.html"
    rows = [refused(notebook="notes.txt", status="not graded: amy/notes.txt: not a notebook"),
            refused(notebook="sub/01_projections.ipynb", status="not graded: in a subfolder"),
            refused("?", notebook="01_projections.ipynb", status="not graded: can't tell whose file"),
            graded, has_page]
    _write_notices(rows, KNOWN, tmp_path)
    assert not (tmp_path / "feedback").exists()
    assert [r.feedback for r in rows] == ["", "", "", "", "feedback/ben/01_projections.html"]


def test_a_page_that_cannot_be_written_leaves_the_row_without_one(tmp_path):
    (tmp_path / "feedback").write_text("a file where the folder should be")
    rows = [refused()]
    _write_notices(rows, KNOWN, tmp_path)
    assert rows[0].feedback == "" and rows[0].outcome is Outcome.REFUSED


def test_only_refused_and_failed_rows_get_a_notice():
    assert set(notice.TO_DO) == set(notice.WHY) == {Outcome.REFUSED, Outcome.FAILED}


def test_a_refused_file_chosen_among_copies_says_which_and_that_the_others_were_set_aside(tmp_path):
    """Found by attacking the pages: a good 01_projections.ipynb set aside for a newer broken copy; the page only
    said to open and save 'your 01_projections.ipynb', which was fine."""
    row = refused("ivan")
    row.flags = ["2 files for 01_projections.ipynb: graded ivan/01_projections.IPYNB (newest file), set aside "
                 "ivan/01_projections.ipynb", "handed in as '01_projections.IPYNB': graded as 01_projections.ipynb"]
    plain = refused("amy")
    _write_notices([row, plain], KNOWN, tmp_path)
    page = html.unescape((tmp_path / row.feedback).read_text(encoding="utf-8"))
    assert "Also: <code>2 files for 01_projections.ipynb: graded ivan/01_projections.IPYNB (newest file), set aside " \
           "ivan/01_projections.ipynb" in page
    assert "the others were set aside. Hand in only the copy you want graded." in page
    assert "set aside" not in html.unescape((tmp_path / plain.feedback).read_text(encoding="utf-8"))
