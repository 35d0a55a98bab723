"""LMS downloads: Canvas and Moodle names, resubmissions, --id-regex, and zips unpacked safely."""
import csv
import os
import re
import stat
import zipfile
from pathlib import PurePosixPath

import nbformat
import pytest

from autograder import export, grading, lms, results, samples
from autograder.intake import collect
from conftest import NOTEBOOKS

NB = NOTEBOOKS[0]   # 01_projections.ipynb


@pytest.fixture(scope="module")
def good_text():
    return nbformat.writes(samples.fill(NB))


@pytest.mark.parametrize("rel, student, notebook, version", [
    ("smithjane_12345_67890_01_projections.ipynb", "smithjane_12345", NB, 0),
    ("smithjane_LATE_12345_67890_01_projections.ipynb", "smithjane_12345", NB, 0),
    ("smithjane_12345_67891_01_projections-1.ipynb", "smithjane_12345", NB, 1),
    ("o-brien_777_1_01_projections (2).ipynb", "o-brien_777", NB, 2),
    ("Jane Smith_12345_assignsubmission_file_/01_projections.ipynb", "janesmith_12345", NB, 0),
    ("Jane Smith_12345_assignsubmission_file_01_projections.ipynb", "janesmith_12345", NB, 0),   # Moodle, no folders
    ("Jane Smith_12345_assignsubmission_file_01_projections (2).ipynb", "janesmith_12345", NB, 2),
    ("amy/01_projections.ipynb", "amy", NB, 0),
    ("amy/01_projections (1).ipynb", "amy", NB, 1),
])
def test_names_are_recognised(rel, student, notebook, version):
    found = lms.identify(PurePosixPath(rel), NOTEBOOKS)
    assert (found.student_id, found.notebook, found.version, found.problem) == (student, notebook, version, None)


def test_a_canvas_name_in_a_folder_is_the_folders_file_at_most():
    # Ownership comes from the top of the layout: a Canvas-named file inside folder `download` is not
    # smithjane's (a whole download wrapped in one folder is looked through by collect; test_intake_hostile.py).
    found = lms.identify(PurePosixPath("download/smithjane_12345_67890_01_projections.ipynb"), NOTEBOOKS)
    assert found.student_id == "download" and "named like a Canvas file of smithjane_12345" in found.problem


def test_late_canvas_submissions_are_noted():
    assert lms.identify(PurePosixPath("smithjane_LATE_1_2_01_projections.ipynb"), NOTEBOOKS).notes == [
        "handed in late (Canvas)"]


def test_id_regex_for_other_layouts():
    pattern = re.compile(r"(?P<student>s\d+)-(?P<notebook>.+\.ipynb)")
    found = lms.identify(PurePosixPath("s042-01_projections.ipynb"), NOTEBOOKS, pattern)
    assert (found.student_id, found.notebook) == ("s042", NB)
    assert "does not match --id-regex" in lms.identify(PurePosixPath("x.ipynb"), NOTEBOOKS, pattern).problem


def test_flat_canvas_folder_with_resubmissions_and_strays(tmp_path, good_text):
    files = {
        "smithjane_12345_67890_01_projections.ipynb": "old",
        "smithjane_12345_67899_01_projections-1.ipynb": good_text,   # resubmission: this one is graded
        "doejohn_LATE_555_1_01_projections.ipynb": good_text,
        "doejohn_555_2_homework.ipynb": good_text,                    # unknown notebook: reported
        "mystery.ipynb": good_text,                                  # nobody's: reported
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    os.utime(tmp_path / "smithjane_12345_67890_01_projections.ipynb", (2e9, 2e9))   # newer, but not a resubmission
    subs = {(s.student_id, s.notebook): s for s in collect(tmp_path, NOTEBOOKS)}
    jane = subs[("smithjane_12345", NB)]
    assert jane.problem is None and jane.path.name.endswith("-1.ipynb")
    assert "2 files for 01_projections.ipynb: graded smithjane_12345_67899_01_projections-1.ipynb" in jane.notes[0]
    assert subs[("doejohn_555", NB)].notes == ["handed in late (Canvas)"]
    assert "unknown notebook" in subs[("doejohn_555", "homework.ipynb")].problem
    assert "can't tell whose file mystery.ipynb is" in subs[("?", "mystery.ipynb")].problem
    assert len(subs) == 4


def test_two_copies_without_numbers_keep_the_newest(tmp_path, good_text):
    (tmp_path / "amy").mkdir()
    (tmp_path / "amy" / NB).write_text(good_text)
    (tmp_path / "amy" / "01_projections (1).ipynb").write_text("{broken")
    subs = collect(tmp_path, NOTEBOOKS)
    assert len(subs) == 1 and "not valid JSON" in subs[0].problem   # the resubmission wins even when broken
    assert "set aside amy/01_projections.ipynb" in subs[0].notes[0]   # named by its path inside SUBMISSIONS


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


def test_moodle_zip(tmp_path, good_text):
    archive = _zip(tmp_path / "moodle.zip", {
        "Jane Smith_12345_assignsubmission_file_/01_projections.ipynb": good_text,
        "Ben Ng_222_assignsubmission_file_/01_projections.ipynb": good_text,
        "Ben Ng_222_assignsubmission_file_/notes.txt": "hello",
        "__MACOSX/._junk.ipynb": "x",
    })
    subs = {(s.student_id, s.notebook): s for s in collect(archive, NOTEBOOKS)}
    assert subs[("janesmith_12345", NB)].nb is not None
    assert subs[("benng_222", NB)].problem is None
    assert "notes.txt: not a notebook" in subs[("benng_222", "notes.txt")].problem   # the row is Ben's


def test_unsafe_zips_are_refused_or_skipped(tmp_path, good_text):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escaped.ipynb", good_text)
        zf.writestr("/abs/olute.ipynb", good_text)
        link = zipfile.ZipInfo("amy/link.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("amy/01_projections.ipynb", good_text)
    subs = collect(archive, NOTEBOOKS)
    problems = " | ".join(s.problem or "" for s in subs)
    assert "../../escaped.ipynb: unsafe path" in problems and "amy/link.ipynb: a link" in problems
    assert "olute.ipynb: unsafe path" in problems
    assert not (tmp_path.parent / "escaped.ipynb").exists() and not (tmp_path / "escaped.ipynb").exists()
    assert [s.student_id for s in subs if s.problem is None] == ["amy"]


def test_a_zip_bomb_is_not_unpacked_and_the_rest_is_graded(tmp_path, monkeypatch, good_text):
    """Found by a helper: one member over the zip's limits (a file claiming 4 GiB, 20,001 files) refused the whole
    zip: no row for anyone. Now the notebooks past the limits get a row each; other files are never unpacked."""
    monkeypatch.setattr(lms, "MAX_ZIP_BYTES", 3 * len(good_text.encode()))
    monkeypatch.setattr(lms, "MAX_MEMBERS", 4)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("amy/01_projections.ipynb", good_text)
        zf.writestr("bob/01_projections.ipynb", good_text)
        zf.writestr("zed/01_projections.ipynb", "0" * (2 * len(good_text.encode())))   # past the total
        for k in range(50):
            zf.writestr(f"spam/f{k}.txt", "0" * 100_000)                         # other files: never unpacked
        zf.writestr("cleo/01_projections.ipynb", good_text)
        zf.writestr("dan/01_projections.ipynb", good_text)                     # the 5th notebook: past the count
    subs = {s.student_id: s for s in collect(archive, NOTEBOOKS)}
    assert [k for k, s in subs.items() if s.problem is None and s.nb is not None] == ["amy", "bob", "cleo"]
    for student in ("zed", "dan"):
        assert "not unpacked: the notebooks before it in the zip already come to 4 files" in subs[student].problem
        assert "unzip the download and grade the folder" in subs[student].problem
    assert "not a notebook" in subs["spam"].problem


def test_a_zip_in_the_zip_and_a_folder_named_like_a_notebook_say_what_they_are(tmp_path, good_text):
    """Found by a helper: a zip inside the download was 'not a notebook'; a folder entry named like a notebook
    (`dan/01_projections.ipynb/`) got no row in a zip, though it gets one in a folder."""
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"amy/{NB}", good_text)
        zf.writestr("bob/work.zip", b"PK")
        zf.writestr(zipfile.ZipInfo(f"dan/{NB}/"), b"")
    subs = {s.student_id: s for s in collect(archive, NOTEBOOKS)}
    assert "bob/work.zip: a zip in the submissions is not unpacked; unzip it" in subs["bob"].problem
    assert f"dan/{NB} is a folder, not a notebook file" in subs["dan"].problem and subs["amy"].problem is None


def test_canvas_names_are_read_in_either_unicode_form(tmp_path, good_text):
    """Found by a helper: a Canvas name with a decomposed accent (as macOS zips write it) was no Canvas name."""
    import unicodedata

    archive = _zip(tmp_path / "canvas.zip", {unicodedata.normalize("NFD", f"zoë_66667_1_{NB}"): good_text,
                                             f"bob_1_1_{NB}": good_text})
    subs = {s.student_id: s for s in collect(archive, NOTEBOOKS)}
    assert set(subs) == {"zoë_66667", "bob_1"} and subs["zoë_66667"].problem is None
    assert unicodedata.is_normalized("NFC", next(iter(subs)))


def test_a_folder_around_the_class_with_a_file_of_its_own_is_named(tmp_path, good_text):
    """Found by a helper: `submissions/notes.txt` made `submissions` one student's folder, every student a
    subfolder of it, with 0 each and nothing to say what to do."""
    archive = _zip(tmp_path / "class.zip", {f"submissions/amy/{NB}": good_text, f"submissions/bob/{NB}": good_text,
                                            "submissions/notes.txt": "hello"})
    subs = collect(archive, NOTEBOOKS)
    hint = "If submissions is a folder around the whole class, grade submissions itself: it also holds notes.txt"
    assert all(hint in s.problem for s in subs if s.source.count("/") == 2) and len(subs) == 3


def test_one_name_in_two_unicode_forms_says_which_was_graded(tmp_path, good_text):
    import unicodedata

    nfc, nfd = "jos\u00e9", unicodedata.normalize("NFD", "jos\u00e9")
    archive = _zip(tmp_path / "two.zip", {f"{nfc}/{NB}": good_text, f"{nfd}/{NB}": good_text, f"amy/{NB}": good_text})
    (sub,) = [s for s in collect(archive, NOTEBOOKS) if s.student_id == nfc]
    flag = next(n for n in sub.notes if "2 files for" in n)
    assert "decomposed Unicode: jose\\u0301" in flag and "composed Unicode: jos\\xe9" in flag, flag


def test_a_canvas_zip_grades_end_to_end(tmp_path, good_text):
    wrong = nbformat.writes(samples.fill(NB, {"head_dim": "def head_dim(d_model, num_heads):\n    return 1\n"}))
    archive = _zip(tmp_path / "submissions.zip", {
        "smithjane_12345_67890_01_projections.ipynb": wrong,
        "smithjane_12345_67891_01_projections-1.ipynb": good_text,
        "doejohn_555_3_01_projections.ipynb": wrong,
    })
    graded = grading.grade(archive, tmp_path / "out", progress=False, cell_timeout=60)
    rows = {r.student_id: r for r in graded}
    assert set(rows) == {"smithjane_12345", "doejohn_555"}
    assert rows["smithjane_12345"].score == rows["smithjane_12345"].max_score
    assert any("latest resubmission" in f for f in rows["smithjane_12345"].flags)
    assert rows["doejohn_555"].score < rows["doejohn_555"].max_score
    assert (tmp_path / "out" / "feedback" / "smithjane_12345" / "01_projections.html").exists()
    # the Canvas user ids travel with the results, into details.json and the Canvas gradebook import
    assert rows["doejohn_555"].identity == {"lms": "canvas", "canvas_user_id": "555", "name": "doejohn"}
    results.write_details(graded, tmp_path / "out" / "details.json")   # as `grade` writes it
    export.export(tmp_path / "out", tmp_path / "canvas.csv", "canvas")
    with (tmp_path / "canvas.csv").open(newline="") as f:
        ids = {r["ID"]: r for r in csv.DictReader(f) if r["ID"]}
    assert set(ids) == {"12345", "555"} and ids["12345"]["01_projections"] == f"{rows['smithjane_12345'].score:g}"


def test_a_moodle_name_gives_one_id_in_either_unicode_form(tmp_path):
    """Found by attacking the intake: `Zoë Ng` as one character (NFC) gave `zong_777`, decomposed (NFD, as a macOS
    zip or file system may give it) `zoeng_777`: two rows, and two `Participant 777` lines in the Moodle export."""
    import unicodedata

    text = nbformat.writes(nbformat.v4.new_notebook())
    for form, notebook in (("NFC", NOTEBOOKS[0]), ("NFD", NOTEBOOKS[1])):
        folder = tmp_path / unicodedata.normalize(form, "Zoë Ñu_777_assignsubmission_file_")
        folder.mkdir(exist_ok=True)
        (folder / notebook).write_text(text)
    assert {s.student_id for s in collect(tmp_path, NOTEBOOKS)} == {"zoenu_777"}


def test_one_canvas_user_under_two_names_is_one_student(tmp_path, good_text):
    """Found by attacking the intake: a name changed between two downloads gave two rows for Canvas id 555, and two
    `555` lines in the Canvas export (one of them 0). Another user id stays another student."""
    wrong = nbformat.writes(samples.fill(NB, {"head_dim": "def head_dim(d_model, num_heads):\n    return 1\n"}))
    (tmp_path / "parkann_555_1_01_projections.ipynb").write_text(wrong)
    (tmp_path / "parkanne_555_2_01_projections-1.ipynb").write_text(good_text)
    (tmp_path / "parkanne_555_2_02_scaled_attention.ipynb").write_text(good_text)
    (tmp_path / "parkann_556_3_01_projections.ipynb").write_text(good_text)
    subs = {(s.student_id, s.notebook): s for s in collect(tmp_path, NOTEBOOKS)}
    assert set(subs) == {("parkann_555", NB), ("parkann_555", NOTEBOOKS[1]), ("parkann_556", NB)}
    one = subs[("parkann_555", NB)]
    assert one.source == "parkanne_555_2_01_projections-1.ipynb" and one.set_aside == ["parkann_555_1_01_projections.ipynb"]
    assert "Canvas id 555 is named both parkann_555 and parkanne_555: graded as parkann_555" in one.notes
    assert subs[("parkann_555", NOTEBOOKS[1])].identity["canvas_user_id"] == "555"


def test_a_flat_moodle_download_is_graded_and_exported(tmp_path, good_text):
    """Moodle without "Download submissions in folders" names each file `<full name>_<id>_assignsubmission_file_<file>`:
    it was "can't tell whose file", 0 for correct work. In a folder of its own (as unzipped) too."""
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / f"Ann Bo_905_assignsubmission_file_{NB}").write_text(good_text)
    (tmp_path / "dl" / f"Cy Di_906_assignsubmission_file_{NB}").write_text(good_text)
    subs = {(s.student_id, s.notebook): s for s in collect(tmp_path, NOTEBOOKS)}
    assert set(subs) == {("annbo_905", NB), ("cydi_906", NB)}
    assert all(s.problem is None for s in subs.values())
    assert subs[("annbo_905", NB)].identity == {"lms": "moodle", "moodle_participant_id": "905", "name": "Ann Bo"}


def test_a_folder_name_gives_one_id_in_either_unicode_form(tmp_path, good_text):
    """`josé` composed (NFC) and decomposed (NFD, as macOS writes it) were two students that look alike."""
    import unicodedata

    (tmp_path / unicodedata.normalize("NFC", "josé")).mkdir()
    (tmp_path / unicodedata.normalize("NFD", "josé")).mkdir()
    (tmp_path / unicodedata.normalize("NFC", "josé") / NB).write_text(good_text)
    (tmp_path / unicodedata.normalize("NFD", "josé") / NOTEBOOKS[1]).write_text(good_text)
    subs = collect(tmp_path, NOTEBOOKS)
    assert {s.student_id for s in subs} == {unicodedata.normalize("NFC", "josé")}
    assert sorted(s.notebook for s in subs) == [NB, NOTEBOOKS[1]]


def test_a_newer_file_in_a_plain_folder_of_the_same_id_keeps_the_moodle_identity(tmp_path, good_text):
    """Found by attacking the intake: `janesmith_12345/` (a late file the instructor saved under the student's id)
    beside Jane's Moodle folder won as the newest file and took the row's Moodle participant id with it: Jane was
    missing from the Moodle export."""
    import os

    moodle = tmp_path / "Jane Smith_12345_assignsubmission_file_"
    moodle.mkdir()
    (moodle / NB).write_text(good_text)
    os.utime(moodle / NB, (1_000_000_000, 1_000_000_000))   # the older file
    (tmp_path / "janesmith_12345").mkdir()
    (tmp_path / "janesmith_12345" / NB).write_text(good_text)
    sub, = collect(tmp_path, NOTEBOOKS)
    assert sub.source == f"janesmith_12345/{NB}"
    assert sub.identity == {"lms": "moodle", "moodle_participant_id": "12345", "name": "Jane Smith"}


def test_a_wrapped_download_with_online_text_is_still_looked_through(tmp_path, good_text):
    """Found by attacking the intake: one student's online text beside the notebooks of a flat Moodle download in
    one folder made the whole class student `dl`, every notebook refused. A folder with a file of another name
    (a readme) is not looked through: it may be one student's, who named her files like other students'."""
    dl = tmp_path / "dl"
    dl.mkdir()
    (dl / f"Jane Smith_12345_assignsubmission_file_{NB}").write_text(good_text)
    (dl / f"Ben Lee_222_assignsubmission_file_{NB}").write_text(good_text)
    (dl / "Ben Lee_222_assignsubmission_onlinetext_onlinetext.html").write_text("<p>my notes</p>")
    subs = {(s.student_id, s.notebook): s for s in collect(tmp_path, NOTEBOOKS)}
    assert subs[("janesmith_12345", NB)].problem is None and subs[("benlee_222", NB)].problem is None
    assert "not a notebook" in subs[("benlee_222", "onlinetext.html")].problem   # Ben's row, not "?"'s
    (dl / "readme.txt").write_text("amy's notes")
    assert {s.student_id for s in collect(tmp_path, NOTEBOOKS)} == {"dl"}


def test_a_wrapping_folder_of_one_moodle_student_says_whose_the_file_looks(tmp_path, good_text):
    """Not looked through (a student's folder holding a file named like someone else's must stay theirs): the
    row says so, as for Canvas, instead of 'unknown notebook'."""
    (tmp_path / "download").mkdir()
    (tmp_path / "download" / f"Jane Smith_12345_assignsubmission_file_{NB}").write_text(good_text)
    sub, = collect(tmp_path, NOTEBOOKS)
    assert sub.student_id == "download" and sub.problem == (
        f"not graded: Jane Smith_12345_assignsubmission_file_{NB} is named like a Moodle file of janesmith_12345, but "
        "it is in download's folder: a file belongs to the folder it is in")


def test_own_moodle_name_in_own_folder_long_names_and_non_latin_canvas_names(tmp_path, good_text):
    """A file re-uploaded under the name Moodle gave it is graded; a 200-letter Moodle name gives a usable id (it
    was over 200 characters: refused); a Canvas name in another script is a Canvas student (was "can't tell")."""
    own = tmp_path / "Ben Lee_222_assignsubmission_file_"
    own.mkdir()
    (own / f"Ben Lee_222_assignsubmission_file_{NB}").write_text(good_text)
    long = tmp_path / ("A" * 200 + "_333_assignsubmission_file_")
    long.mkdir()
    (long / NB).write_text(good_text)
    (tmp_path / f"张伟_12346_67892_{NB}").write_text(good_text)
    subs = {(s.student_id, s.notebook): s for s in collect(tmp_path, NOTEBOOKS)}
    assert set(subs) == {("benlee_222", NB), ("a" * 64 + "_333", NB), ("张伟_12346", NB)}
    assert all(s.problem is None for s in subs.values())


def test_lms_ids_are_ascii_digits():
    """An id in other digits (`١١١١١`) is no Canvas id Canvas would match: not read as one."""
    found = lms.identify(PurePosixPath(f"dan_\u0661\u0661\u0661_1_{NB}"), NOTEBOOKS)
    assert found.student_id == "?" and not found.identity
