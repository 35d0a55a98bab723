"""Hostile and odd submissions: nothing in one file stops a batch, every file gets exactly one row, and no
student's file is graded as another student's. Fast: collect(), repair() and the scan only, no kernels."""
from __future__ import annotations

import collections
import copy
import os
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import nbformat
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from autograder import intake, lms, samples, scan
from autograder.intake import collect, safe_id
from autograder.paths import COURSE
from autograder.repair import repair
from conftest import NOTEBOOKS

NB = NOTEBOOKS[0]   # 01_projections.ipynb
DEEP_JSON = "[" * 100_000 + "]" * 100_000
DEEP_EXPR = "x = " + "+".join(["1"] * 100_000) + "\n"


@pytest.fixture(scope="module")
def good_text():
    return nbformat.writes(samples.fill(NB))


def put(root: Path, rel: str, text: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def rows(subs) -> dict[tuple[str, str], intake.Submission]:
    keys = [(s.student_id, s.notebook) for s in subs]
    assert len(keys) == len(set(keys)), "one row per (student, notebook): grading keys on it"
    return dict(zip(keys, subs))


def by_source(subs) -> dict[str, intake.Submission]:
    return {s.source: s for s in subs}


def accounted(subs) -> collections.Counter:
    """How many rows each file is in: as the row's own file, or as a duplicate its row set aside."""
    return collections.Counter([s.source for s in subs] + [p for s in subs for p in s.set_aside])


# 1. Nothing in one file can stop the batch.

def test_json_nested_100000_deep_is_that_files_problem(tmp_path, good_text):
    put(tmp_path, f"amy/{NB}", DEEP_JSON)
    put(tmp_path, f"ben/{NB}", good_text)
    subs = rows(collect(tmp_path, NOTEBOOKS))
    assert subs[("amy", NB)].problem.startswith("invalid notebook: ") and "nested too deeply" in subs[("amy", NB)].problem
    assert subs[("ben", NB)].problem is None and subs[("ben", NB)].nb is not None


def test_a_deeply_nested_cell_neither_stops_the_scan_nor_the_repair():
    released = nbformat.read(COURSE / NB, as_version=4)
    nb = samples.fill(NB)
    nb.cells.append(nbformat.v4.new_code_cell(DEEP_EXPR))
    flags = scan.scan_notebook(nb, scan.released_sources(COURSE / NB))
    assert f"could not scan cell {len(nb.cells)} (too deeply nested)" in flags
    out, notes = repair(nb, released)
    assert not any("could not be matched" in n or "graded as handed out" in n for n in notes)
    assert DEEP_EXPR in [c.source for c in out.cells]   # kept as the learner's own cell
    # in an exercise cell, too: the answer is still found, and the other exercises keep their code
    exercise = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    exercise.source = DEEP_EXPR
    out, notes = repair(nb, released)
    assert not any("graded as handed out" in n for n in notes) and DEEP_EXPR in [c.source for c in out.cells]


def test_scan_survives_null_bytes_and_odd_metadata():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("a = 1\x00"), nbformat.v4.new_code_cell("import os")])
    nb.cells[1].metadata["nbgrader"] = ["not", "a", "dict"]
    flags = scan.scan_notebook(nb)
    assert "cell 2: imports os" in flags   # cell 1 does not parse (a SyntaxError or ValueError): no flag, no raise


def _corrupt(archive: Path, member: str) -> None:
    """Flip a byte of a stored member's data, so that reading it fails its CRC check."""
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(member)
    data = bytearray(archive.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 10] ^= 0xFF
    archive.write_bytes(bytes(data))


def test_a_corrupt_zip_member_gets_a_row_and_the_rest_is_graded(tmp_path, good_text):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(f"amy/{NB}", good_text)
        zf.writestr(f"ben/{NB}", good_text)
    _corrupt(archive, f"amy/{NB}")
    subs = rows(collect(archive, NOTEBOOKS))
    assert "could not be unpacked from the zip" in subs[("amy", NB)].problem and "CRC" in subs[("amy", NB)].problem
    assert subs[("ben", NB)].problem is None and subs[("ben", NB)].nb is not None


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_zip_with_utf8_names_but_no_utf8_flag_is_read_as_utf8(tmp_path, good_text):
    """As macOS makes zips: `josé/` was read as cp437 (`jos├⌐`, not a usable id: 0 for correct work). A name that
    is not UTF-8 stays cp437, as the zip format says."""
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"josXX/{NB}", good_text)     # same length as "josé" in UTF-8: patched below, flag unset
        zf.writestr(f"DOSX/{NB}", good_text)
    raw = archive.read_bytes().replace(b"josXX/", "josé/".encode("utf-8")).replace(b"DOSX/", b"DOS\x82/")
    archive.write_bytes(raw)
    subs = rows(collect(archive, NOTEBOOKS))
    assert set(subs) == {("josé", NB), ("DOSé", NB)}
    assert all(s.problem is None and s.nb is not None for s in subs.values())


def test_a_zip_with_a_file_and_a_folder_of_one_name(tmp_path, good_text):
    archive = tmp_path / "clash.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"amy/{NB}", good_text)
        zf.writestr(f"amy/{NB}/", "")                 # a folder entry of the same name
        zf.writestr(f"amy/{NB}/{NB}", good_text)      # and a file inside it
        zf.writestr(f"amy/{NB}", good_text)           # the same name twice
    subs = collect(archive, NOTEBOOKS)
    graded = [s for s in subs if s.problem is None]
    assert [(s.student_id, s.notebook) for s in graded] == [("amy", NB)]
    assert sum(accounted(subs).values()) == 4   # the folder entry gets a row too, as a folder does on disk
    assert "subfolder" in rows(subs)[("amy", f"{NB}/{NB}")].problem
    assert any(s.problem == f"not graded: amy/{NB} is a folder, not a notebook file" for s in subs)
    assert f"set aside amy/{NB} (another file of that name in the zip)" in graded[0].notes[-1]


def test_a_folder_named_like_a_notebook_gets_a_row_saying_so(tmp_path, good_text):
    """It had no row at all: the student was missing from grades.csv and got no page."""
    (tmp_path / "frank" / NB).mkdir(parents=True)
    put(tmp_path, f"gina/{NB}/{NB}", good_text)
    subs = rows(collect(tmp_path, NOTEBOOKS))
    assert subs[("frank", NB)].problem == f"not graded: frank/{NB} is a folder, not a notebook file"
    assert subs[("gina", NB)].problem == f"not graded: gina/{NB} is a folder, not a notebook file"
    assert "subfolder" in subs[("gina", f"{NB}/{NB}")].problem


def test_too_large_is_refused_before_parsing(tmp_path, good_text, monkeypatch):
    big = put(tmp_path, f"amy/{NB}", b"{" + b" " * (21 << 20) + b"}")
    put(tmp_path, f"ben/{NB}", good_text)
    loads = intake.json.loads
    monkeypatch.setattr(intake.json, "loads", lambda text, *a, **k: pytest.fail("a too-large file was parsed")
                        if len(text) > intake.MAX_NOTEBOOK_BYTES else loads(text, *a, **k))
    subs = rows(collect(tmp_path, NOTEBOOKS))
    assert subs[("amy", NB)].problem == ("not graded: too large: 21.0 MiB, limit 20 MiB; clear the outputs "
                                         "(Edit -> Clear All Outputs) and hand it in again")
    big.unlink()
    archive = tmp_path.parent / f"{tmp_path.name}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"amy/{NB}", b"{" + b" " * (21 << 20) + b"}")
    assert "too large: 21.0 MiB" in rows(collect(archive, NOTEBOOKS))[("amy", NB)].problem


def test_too_many_cells_is_refused_before_repair(tmp_path):
    nb = samples.fill(NB)
    nb.cells += [nbformat.v4.new_code_cell(f"y = {i}") for i in range(intake.MAX_CELLS)]
    put(tmp_path, f"amy/{NB}", nbformat.writes(nb))
    sub, = collect(tmp_path, NOTEBOOKS)
    assert sub.problem.startswith(f"not graded: too many cells: {len(nb.cells)}, limit {intake.MAX_CELLS}")


# 2. Every file that could be a notebook gets exactly one row; renamings; Unicode ids.

@pytest.mark.parametrize("name, said", [
    ("01_projections.IPYNB", "other letter case"),
    ("01_Projections.ipynb", "other letter case"),
    ("01_projections.ipynb ", "spaces around the name"),
    (" 01_projections.ipynb", "spaces around the name"),
    ("Copy of 01_projections.ipynb", "'Copy of' before the name"),
    ("01_projections.ipynb.json", "'.json' added to the name"),
    # found by attacking the intake: the names file managers give a copy were "unknown notebook", 0 for correct work
    ("01_projections - Copy.ipynb", "a copy's marks after the name: ' - Copy'"),            # Windows
    ("01_projections - Copy (2).ipynb", "a copy's marks after the name: ' - Copy (2)'"),
    ("01_projections copy.ipynb", "a copy's marks after the name: ' copy'"),                # macOS
    ("01_projections 2.ipynb", "a copy's marks after the name: ' 2'"),
    ("01_projections (1) (2).ipynb", "a copy's marks after the name: ' (1) (2)'"),         # browsers
])
def test_renamed_notebooks_are_graded_and_said(tmp_path, good_text, name, said):
    put(tmp_path, f"amy/{name}", good_text)
    sub = rows(collect(tmp_path, NOTEBOOKS))[("amy", NB)]
    assert sub.problem is None and sub.nb is not None
    assert sub.notes == [f"handed in as {name!r}: graded as {NB} (renamed: {said})"]


def test_renamings_and_resubmission_numbers_together(tmp_path, good_text):
    put(tmp_path, "amy/Copy of 01_projections (2).ipynb", good_text)
    put(tmp_path, f"amy/{NB}", good_text)
    put(tmp_path, "amy/01_projections-1.ipynb", good_text)
    sub, = collect(tmp_path, NOTEBOOKS)
    assert sub.source == "amy/Copy of 01_projections (2).ipynb" and sub.problem is None
    assert sorted(sub.set_aside) == ["amy/01_projections-1.ipynb", f"amy/{NB}"]
    assert ("3 files for 01_projections.ipynb: graded amy/Copy of 01_projections (2).ipynb (latest resubmission), "
            "set aside amy/01_projections.ipynb, amy/01_projections-1.ipynb") in sub.notes


def test_a_copy_and_the_original_in_one_folder_are_one_row(tmp_path, good_text):
    """A copy's number says nothing about which file is later (found by attacking the intake: `01_projections
    2.ipynb`, an older copy, beat a newer resubmission `-1`): the file times decide; resubmission numbers rank."""
    os.utime(put(tmp_path, f"amy/{NB}", good_text), (2_000_000_000, 2_000_000_000))
    os.utime(put(tmp_path, "amy/01_projections copy 2.ipynb", good_text), (1_000_000_000, 1_000_000_000))
    os.utime(put(tmp_path, "amy/01_projections 2024.ipynb", good_text), (1_000_000_000, 1_000_000_000))
    put(tmp_path, "amy/01_projections_v2.ipynb", good_text)   # not a copy's mark: an unknown notebook, as before
    os.utime(put(tmp_path, "ben/01_projections 2.ipynb", good_text), (2_000_000_000, 2_000_000_000))
    os.utime(put(tmp_path, "ben/01_projections-1.ipynb", good_text), (1_000_000_000, 1_000_000_000))
    put(tmp_path, "cy/01_projections (\u0663).ipynb", good_text)   # an Arabic-Indic 3: no resubmission number
    subs = rows(collect(tmp_path, NOTEBOOKS))
    assert subs[("amy", NB)].source == f"amy/{NB}"   # the newest file
    assert sorted(subs[("amy", NB)].set_aside) == ["amy/01_projections 2024.ipynb", "amy/01_projections copy 2.ipynb"]
    assert "unknown notebook" in subs[("amy", "01_projections_v2.ipynb")].problem
    assert subs[("ben", NB)].source == "ben/01_projections-1.ipynb"   # resubmission 1 outranks a newer copy
    assert "unknown notebook" in subs[("cy", "01_projections (\u0663).ipynb")].problem


def test_every_other_file_gets_a_row_saying_why(tmp_path, good_text):
    put(tmp_path, f"amy/{NB}", good_text)
    put(tmp_path, "amy/notes.txt", "hello")
    put(tmp_path, "amy/answers.pdf", b"%PDF")
    put(tmp_path, "amy/homework.ipynb", good_text)
    put(tmp_path, "README.txt", "instructions")
    put(tmp_path, "amy/.ipynb_checkpoints/01_projections-checkpoint.ipynb", good_text)   # hidden: ignored
    subs = by_source(collect(tmp_path, NOTEBOOKS))
    assert set(subs) == {f"amy/{NB}", "amy/notes.txt", "amy/answers.pdf", "amy/homework.ipynb", "README.txt"}
    assert "amy/notes.txt: not a notebook" in subs["amy/notes.txt"].problem and subs["amy/notes.txt"].student_id == "amy"
    assert "not a notebook" in subs["amy/answers.pdf"].problem
    assert "unknown notebook" in subs["amy/homework.ipynb"].problem
    assert subs["README.txt"].student_id == "?" and "not a notebook" in subs["README.txt"].problem


def test_unicode_and_spaced_ids_are_kept_as_they_came(tmp_path, good_text):
    for student in ("josé", "Jane Doe", "O'Brien-Smith", "李雷", "-rf", "a:b"):
        put(tmp_path, f"{student}/{NB}", good_text)
    subs = rows(collect(tmp_path, NOTEBOOKS))
    for student in ("josé", "Jane Doe", "O'Brien-Smith", "李雷"):
        assert subs[(student, NB)].problem is None
    assert "student id" in subs[("-rf", NB)].problem and "student id" in subs[("a:b", NB)].problem


def test_a_folder_name_too_long_for_an_id_says_so(tmp_path, good_text):
    put(tmp_path, f"{'x' * 250}/{NB}", good_text)
    (sub,) = collect(tmp_path, NOTEBOOKS)
    assert "the folder name is 250 characters long; a student id has at most 200" in sub.problem


def test_safe_id():
    ids = ["amy", "smithjane_12345", "josé", "jose", "José", "Jane Doe", "Jane_Doe", "jane doe", "李雷", "CON", "amy.",
           "a/b", "..", "x" * 300, "jose~" + "0" * 12, "e\u0301", "\u00e9"]
    safe = [safe_id(i) for i in ids]
    assert len(set(safe)) == len(ids), "distinct ids, distinct safe forms"
    assert [safe_id(i) for i in ids] == safe, "deterministic"
    assert safe_id("amy") == "amy" and safe_id("smithjane_12345") == "smithjane_12345"
    assert safe_id("josé").startswith("jose~") and safe_id("Jane Doe").startswith("Jane_Doe~")
    # found by a helper: `Amy` and `amy` were folders `Amy` and `amy`, one folder on macOS's and Windows's disks
    assert len({safe_id(i).lower() for i in ids}) == len(ids), "distinct even where letter case is ignored"
    assert safe_id("Amy").startswith("Amy~") and safe_id("AMY") != safe_id("Amy")
    for s in safe:
        assert s.isascii() and "/" not in s and "\\" not in s and s not in (".", "..") and 0 < len(s) <= 64
        assert s[0].isalnum() and not s.endswith((".", " "))


# 3. Ownership comes from the top of the layout only; links are never followed.

def test_a_deeper_file_is_the_top_folders_at_most(tmp_path, good_text):
    put(tmp_path, f"a/{NB}", good_text)
    put(tmp_path, f"b/{NB}", good_text)
    put(tmp_path, "a/b/01_projections-9.ipynb", good_text)
    subs = rows(collect(tmp_path, NOTEBOOKS))
    assert subs[("a", NB)].source == f"a/{NB}" and subs[("a", NB)].problem is None and not subs[("a", NB)].set_aside
    assert subs[("b", NB)].source == f"b/{NB}" and not subs[("b", NB)].set_aside
    deeper = by_source(subs.values())["a/b/01_projections-9.ipynb"]
    assert deeper.student_id == "a" and "subfolder of a's folder" in deeper.problem and "nor is it b's" in deeper.problem


def test_a_canvas_name_in_another_moodle_students_folder_is_no_resubmission(tmp_path, good_text):
    jane, ben = "Jane Smith_12345_assignsubmission_file_", "Ben Ng_222_assignsubmission_file_"
    put(tmp_path, f"{jane}/{NB}", good_text)
    put(tmp_path, f"{ben}/{NB}", good_text)
    put(tmp_path, f"{ben}/janesmith_12345_1_01_projections-9.ipynb", "{}")
    subs = rows(collect(tmp_path, NOTEBOOKS))
    assert subs[("janesmith_12345", NB)].source == f"{jane}/{NB}" and not subs[("janesmith_12345", NB)].set_aside
    assert subs[("janesmith_12345", NB)].problem is None and subs[("benng_222", NB)].problem is None
    claim = by_source(subs.values())[f"{ben}/janesmith_12345_1_01_projections-9.ipynb"]
    assert claim.student_id == "benng_222" and "named like a Canvas file of janesmith_12345" in claim.problem


def test_one_folder_around_a_whole_download_is_looked_through(tmp_path, good_text):
    put(tmp_path, f"submissions/amy/{NB}", good_text)
    put(tmp_path, f"submissions/ben/{NB}", good_text)
    assert {s.student_id for s in collect(tmp_path, NOTEBOOKS) if s.problem is None} == {"amy", "ben"}
    canvas = tmp_path / "canvas"
    put(canvas, "download/smithjane_12345_67890_01_projections.ipynb", good_text)
    put(canvas, "download/doejohn_555_1_01_projections.ipynb", good_text)
    assert {s.student_id for s in collect(canvas, NOTEBOOKS) if s.problem is None} == {"smithjane_12345", "doejohn_555"}
    single = tmp_path / "single"
    put(single, "amy/b/01_projections.ipynb", good_text)   # one folder in one folder: amy's, in a subfolder
    sub, = collect(single, NOTEBOOKS)
    assert sub.student_id == "amy" and "subfolder" in sub.problem


def test_links_are_never_followed(tmp_path, good_text):
    outside = put(tmp_path / "outside", NB, good_text)
    root = tmp_path / "subs"
    real = put(root, f"amy/{NB}", good_text)
    (root / "ben").mkdir()
    (root / "ben" / NB).symlink_to(real)                       # another student's file inside SUBMISSIONS
    (root / "cat").mkdir()
    (root / "cat" / NB).symlink_to(outside)                    # a file outside SUBMISSIONS
    (root / "dan").symlink_to(outside.parent, target_is_directory=True)   # a folder outside
    put(root, f"eve/{NB}", good_text)
    (root / "eve" / "01_projections (1).ipynb").symlink_to(real)   # a "resubmission" that is a link
    subs = rows(collect(root, NOTEBOOKS))
    assert subs[("amy", NB)].problem is None
    for student in ("ben", "cat"):
        assert subs[(student, NB)].nb is None and f"{student}/{NB}: a link, not a file" in subs[(student, NB)].problem
    assert "dan: a link" in by_source(subs.values())["dan"].problem
    assert subs[("eve", NB)].source == f"eve/{NB}" and subs[("eve", NB)].problem is None
    assert "a link" in by_source(subs.values())["eve/01_projections (1).ipynb"].problem


def test_a_pipe_and_a_name_that_is_not_utf8_get_rows(tmp_path, good_text):
    put(tmp_path, f"amy/{NB}", good_text)
    os.mkfifo(tmp_path / "amy" / "01_projections (1).ipynb")   # reading it would wait forever
    os.close(os.open(os.fsencode(tmp_path) + b"/amy/\xff.ipynb", os.O_CREAT | os.O_WRONLY))
    subs = by_source(collect(tmp_path, NOTEBOOKS))
    assert "not a regular file" in subs["amy/01_projections (1).ipynb"].problem
    assert "not valid UTF-8" in subs["amy/\ufffd.ipynb"].problem
    assert subs[f"amy/{NB}"].problem is None


# 4. Whatever the layout, names and contents: collect never raises, and every file is in exactly one row.

GOOD = nbformat.writes(samples.fill(NB))
BAD_NOTEBOOK = '{"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}'
CONTENTS = [GOOD, "", "{broken", DEEP_JSON, '{"hello": 1}', "[1, 2]", BAD_NOTEBOOK, b"\xff\xfe\x00garbage"]
NAMES = [NB, "01_projections.IPYNB", " 01_projections.ipynb ", "Copy of 01_projections.ipynb", "01_projections (2).ipynb",
         "01_projections-1.ipynb", "01_projections.ipynb.json", NOTEBOOKS[-1], "notes.txt", "homework.ipynb",
         ".hidden.ipynb", "josé", "Jane Doe", "-rf", "smithjane_12345_67890_01_projections.ipynb",
         "janesmith_12345_1_01_projections-9.ipynb", "Jane Smith_12345_assignsubmission_file_", "__MACOSX", "amy", "b"]
component = st.one_of(
    st.sampled_from(NAMES),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\\x00"), min_size=1, max_size=12)
    .filter(lambda s: s not in (".", "..") and len(s.encode()) < 100),
)
layouts = st.lists(st.tuples(st.lists(component, min_size=1, max_size=3), st.integers(0, len(CONTENTS) - 1)), max_size=8)


def _write(root: Path, files) -> dict[str, bytes]:
    """Write what can be written (a path that is both a file and a folder can't); {rel: content}."""
    written: dict[str, bytes] = {}
    for parts, which in files:
        rel, content = "/".join(parts), CONTENTS[which]
        if rel in written or any(rel.startswith(w + "/") or w.startswith(rel + "/") for w in written):
            continue
        written[rel] = content.encode() if isinstance(content, str) else content
        put(root, rel, written[rel])
    return written


def _canvas_owner(name: str) -> str | None:
    """The student of a Canvas file name (a Canvas download inside one wrapper folder is looked through)."""
    m = lms.CANVAS.match(name)
    return f"{m['name'].lower()}_{m['uid']}" if m else None


def _check(subs, written: dict[str, bytes]) -> None:
    rows(subs)
    want = collections.Counter(r for r in written if not lms.hidden(PurePosixPath(r)))
    folders = [s for s in subs if (s.problem or "").endswith("is a folder, not a notebook file")]   # rows, not files
    assert all(any(w.startswith(s.source + "/") for w in written) for s in folders)
    assert accounted([s for s in subs if s not in folders]) == want
    for s in subs:
        assert (s.nb is None) != (s.problem is None)
        if s.problem is None:   # graded: owned by the folder at the top (or just inside one wrapper folder)
            parts = PurePosixPath(s.source).parts
            assert len(parts) == 1 or s.student_id in {lms.owner_of(parts[0]), lms.owner_of(parts[1]),
                                                       _canvas_owner(parts[1]) if len(parts) == 2 else None}
            assert s.notebook in NOTEBOOKS


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=layouts, as_zip=st.booleans())
# found by hypothesis: a wrapper folder around a Canvas file and a student folder (named like a notebook)
@example(files=[(["smithjane_12345_67890_01_projections.ipynb"] * 2, 0),
                (["smithjane_12345_67890_01_projections.ipynb", NB, NB], 0)], as_zip=False)
def test_collect_never_raises_and_every_file_is_in_exactly_one_row(files, as_zip):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "subs"
        root.mkdir()
        written = _write(root, copy.deepcopy(files))
        if as_zip:
            archive = Path(tmp) / "subs.zip"
            with zipfile.ZipFile(archive, "w") as zf:
                for rel, content in written.items():
                    zf.writestr(rel, content)
            _check(collect(archive, NOTEBOOKS), written)
        else:
            _check(collect(root, NOTEBOOKS), written)
