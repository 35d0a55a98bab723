"""`export OUT --format canvas|moodle|csv`: grades in the files Canvas's and Moodle's grade imports read,
with the students identified as their LMS download named them (carried from intake)."""
import csv
import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path, PurePosixPath

import nbformat
import pytest

from autograder import export, lms
from autograder.intake import collect
from autograder.outcome import Outcome, Result
from autograder.errors import CourseError
from conftest import NOTEBOOKS

REPO = Path(__file__).resolve().parent.parent
NB1, NB2 = NOTEBOOKS[0], NOTEBOOKS[1]
CANVAS_JANE = {"lms": "canvas", "canvas_user_id": "12345", "name": "smithjane"}
MOODLE_BEN = {"lms": "moodle", "moodle_participant_id": "777", "name": "Ben Ng"}


def test_intake_keeps_what_the_lms_says_about_each_student(tmp_path):
    text = nbformat.writes(nbformat.v4.new_notebook())
    (tmp_path / "smithjane_LATE_12345_67890_01_projections.ipynb").write_text(text)
    (tmp_path / "Ben Ng_777_assignsubmission_file_").mkdir()
    (tmp_path / "Ben Ng_777_assignsubmission_file_" / NB1).write_text(text)
    (tmp_path / "Ben Ng_777_assignsubmission_file_" / "notes.txt").write_text("x")
    subs = {(s.student_id, s.notebook): s for s in collect(tmp_path, NOTEBOOKS)}
    assert subs[("smithjane_12345", NB1)].identity == CANVAS_JANE
    assert subs[("benng_777", NB1)].identity == MOODLE_BEN
    assert subs[("benng_777", "notes.txt")].identity == MOODLE_BEN     # a refused file's row is Ben's too
    assert lms.identify(PurePosixPath("amy/01_projections.ipynb"), NOTEBOOKS).identity == {}


def _out(tmp_path) -> Path:
    """A grading output folder: Canvas's Jane (both notebooks), Moodle's Ben (01 only, 02 refused), plain amy."""
    rows = [Result("smithjane_12345", NB1, 8, 8, "graded", identity=CANVAS_JANE),
            Result("smithjane_12345", NB2, 10.5, 14, "graded", identity=CANVAS_JANE),
            Result("benng_777", NB1, 5, 8, "graded", identity=MOODLE_BEN),
            Result("benng_777", NB2, 0, 14, "invalid notebook: ...", outcome=Outcome.REFUSED, identity=MOODLE_BEN),
            Result("benng_777", "notes.txt", 0, 0, "not a notebook", outcome=Outcome.REFUSED, identity=MOODLE_BEN),
            Result("amy", NB1, 6, 8, "graded"),
            Result("?", "mystery.ipynb", 0, 0, "can't tell whose", outcome=Outcome.REFUSED)]
    out = tmp_path / "out"
    out.mkdir()
    (out / "details.json").write_text(json.dumps([asdict(r) for r in rows]))
    return out


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_canvas_gradebook_import(tmp_path):
    out = _out(tmp_path)
    done = subprocess.run([sys.executable, "-m", "autograder", "export", str(out), "--format", "canvas"],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    header, points, *rows = _read(out / "grades-canvas.csv")
    # Canvas's gradebook CSV: these five columns first, then one column per assignment
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "01_projections",
                      "02_scaled_attention", "Final Points"]
    assert points == ["    Points Possible", "", "", "", "", "8", "14", "22"]
    by_name = {r[0]: r for r in rows}
    assert by_name["smithjane"] == ["smithjane", "12345", "", "", "", "8", "10.5", "18.5"]
    assert by_name["benng_777"] == ["benng_777", "", "", "benng_777", "", "5", "0", "5"]   # refused: 0
    assert by_name["amy"] == ["amy", "", "", "amy", "", "6", "", "6"]            # not handed in: left empty
    assert len(rows) == 3                                                          # no "?" row


def test_moodle_grading_worksheet(tmp_path, capsys):
    out = _out(tmp_path)
    left_out = export.export(out, tmp_path / "moodle.csv", "moodle")
    header, *rows = _read(tmp_path / "moodle.csv")
    # the columns Moodle's worksheet upload looks for, by their English names
    for column in ("Identifier", "Grade", "Last modified (grade)", "Feedback comments"):
        assert header.count(column) == 1
    assert header[:2] == ["Identifier", "Full name"] and header[2:4] == ["01_projections", "02_scaled_attention"]
    assert len(rows) == 1 and left_out == ["amy", "smithjane_12345"]
    ben = dict(zip(header, rows[0]))
    assert ben["Identifier"] == "Participant 777" and ben["Full name"] == "Ben Ng"
    assert (ben["01_projections"], ben["02_scaled_attention"], ben["Grade"], ben["Maximum Grade"]) == ("5", "0", "5", "22")
    assert abs(time.mktime(time.strptime(ben["Last modified (grade)"], "%Y-%m-%d %H:%M:%S")) - time.time()) < 120
    assert ben["Feedback comments"] == "01_projections 5/8; 02_scaled_attention 0/14"
    assert "no Moodle participant id" in capsys.readouterr().err


def test_plain_csv_keeps_every_identifier(tmp_path):
    export.export(_out(tmp_path), tmp_path / "all.csv", "csv")
    with (tmp_path / "all.csv").open(newline="", encoding="utf-8") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"smithjane_12345", "benng_777", "amy"}
    assert rows["smithjane_12345"]["canvas_user_id"] == "12345" and rows["benng_777"]["moodle_participant_id"] == "777"
    assert (rows["amy"]["total"], rows["amy"]["max_total"], rows["amy"]["02_scaled_attention"]) == ("6", "22", "")


def test_nothing_to_export(tmp_path):
    (tmp_path / "details.json").write_text("[]")
    with pytest.raises(CourseError, match="nothing to export"):
        export.export(tmp_path, tmp_path / "x.csv", "csv")
