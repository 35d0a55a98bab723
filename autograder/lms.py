"""Whose notebook is this? Submission layouts: one folder per student, Canvas and Moodle downloads, zips.

Whose a file is comes from the top of the layout only, never from a folder or name deeper down:
- `SUBMISSIONS/<student_id>/<notebook>.ipynb`: the student id is the folder name.
- Canvas ("Download submissions"): flat files `smithjane_12345_67890_01_projections.ipynb`, late ones
  `smithjane_LATE_12345_67890_...`, resubmissions `..._01_projections-1.ipynb`: student `smithjane_12345`.
- Moodle: folders `Jane Smith_12345_assignsubmission_file_/01_projections.ipynb`: student `janesmith_12345`.
- anything else: `--id-regex` with a named group `student` (and optionally `notebook`), matched against
  the path inside SUBMISSIONS, e.g. `(?P<student>[a-z]+\\d+)-(?P<notebook>.+\\.ipynb)`.
A file deeper in a student's folder, or one named like another student's Canvas file, is that student's file
at most, and is not graded. One folder around the whole download (`submissions/<student>/...`, as when a
folder is zipped) is looked through, when it holds only student folders and Canvas files of 2 or more students.

A zip of any of these is read safely: its notebooks are unpacked to numbered files (no member name touches the
file system), no absolute or `..` paths, no links, size limits; a member that can't be unpacked gets a row.
"""
from __future__ import annotations

import re
import stat
import time
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .names import looks_like_notebook, normalise, split_version  # noqa: F401 - split_version: public here before
from .errors import CourseError

CANVAS = re.compile(r"^(?P<name>(?:[^\W_]|-)+?)(?P<late>_LATE)?_(?P<uid>[0-9]+)_(?P<sid>[0-9]+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<uid>[0-9]+)_assignsubmission_(?:file|onlinetext)_?$")
#: a Moodle download without folders ("Download submissions in folders" off): the folder's name, then the file's
MOODLE_FLAT = re.compile(r"^(?P<name>.+?)_(?P<uid>[0-9]+)_assignsubmission_(?:file|onlinetext)_(?P<file>.+)$")
#: a Moodle name's slug is cut to this many characters: the participant id after it keeps ids apart
MAX_SLUG = 64

MAX_ZIP_BYTES = 2 << 30       # uncompressed, all members together
MAX_MEMBERS = 20_000


@dataclass
class Found:
    student_id: str
    notebook: str          # the notebook's name without a resubmission number
    path: Path
    version: int = 0       # resubmission number: 0 for the first
    notes: list[str] = field(default_factory=list)
    problem: str | None = None
    #: who the LMS says this is, for sending grades back (export.py): {"lms": "canvas", "canvas_user_id": ...,
    #: "name": ...} or {"lms": "moodle", "moodle_participant_id": ..., "name": ...}; {} for other layouts
    identity: dict[str, str] = field(default_factory=dict)


@dataclass
class Entry:
    """One file of SUBMISSIONS (a folder or a zip), before anyone has said whose it is."""
    rel: str                   # its path inside SUBMISSIONS, '/'-separated
    path: Path | None = None   # where to read it, if it can be read
    mtime: float = 0.0
    problem: str | None = None  # why it can't be graded, known without reading it
    kind: str = "file"         # "file"; "other": never graded (a link...); "unsafe": its name can't be trusted


def hidden(rel: PurePosixPath) -> bool:
    """`.ipynb_checkpoints/`, `.DS_Store`, `__MACOSX/`: ignored, no row."""
    return any(part.startswith(".") or part == "__MACOSX" for part in rel.parts)


def not_a_notebook(rel: str, known: list[str]) -> str:
    """Why a file whose name says no `.ipynb` is not graded."""
    if rel.lower().endswith(".zip"):
        return (f"not graded: {rel}: a zip in the submissions is not unpacked; unzip it and put its notebooks in the "
                "student's folder")
    return f"not graded: {rel}: not a notebook (expected one of {', '.join(known)})"


def too_large(size: int, limit: int) -> str:
    return (f"not graded: too large: {size / 2**20:.1f} MiB, limit {limit >> 20} MiB; clear the outputs "
            "(Edit -> Clear All Outputs) and hand it in again")


def _slug(name: str) -> str:
    """A Moodle name as a login-like id: `Zoë Ng` -> `zoeng`, whichever Unicode form the folder name came in (a
    zip or a file system may decompose `ë` into `e` and a mark)."""
    ascii_form = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_form.lower()) or "student"


def canvas_match(name: str) -> re.Match | None:
    """A Canvas file name's parts, whichever Unicode form the name came in (`zoë_...` decomposed, as macOS
    zips write it, did not match: its mark is no letter)."""
    return CANVAS.match(unicodedata.normalize("NFC", name))


def _moodle_student(m: re.Match) -> str:
    return f"{_slug(m['name'])[:MAX_SLUG]}_{m['uid']}"


def _lms_student(m: re.Match) -> str:
    """The student id of a Canvas file name's match, or of a Moodle folder or file name's."""
    return _canvas_student(m) if "sid" in m.re.groupindex else _moodle_student(m)


def _canvas_student(m: re.Match) -> str:
    return f"{m['name'].lower()}_{m['uid']}"


def canvas_identity(m: re.Match) -> dict[str, str]:
    """A Canvas file name's student: its Canvas user id (the gradebook's ID column) and name as Canvas wrote it."""
    return {"lms": "canvas", "canvas_user_id": m["uid"], "name": m["name"]}


def identity_of(folder: str) -> dict[str, str]:
    """A Moodle folder's student: the participant id (the grading worksheet's "Participant N") and full name."""
    moodle = MOODLE.match(folder)
    return moodle_identity(moodle) if moodle else {}


def moodle_identity(m: re.Match) -> dict[str, str]:
    """A Moodle folder or file name's student: the participant id (the grading worksheet's "Participant N") and
    the full name."""
    return {"lms": "moodle", "moodle_participant_id": m["uid"], "name": m["name"]}


def owner_of(folder: str) -> str:
    """The student whose folder this is: a Moodle folder's student, or the folder name in Unicode's composed form
    (NFC: macOS and some zips write `josé` decomposed, as `jose` and a mark; the two looked alike in grades.csv,
    as two students)."""
    moodle = MOODLE.match(folder)
    return _moodle_student(moodle) if moodle else unicodedata.normalize("NFC", folder)


def wrapper(rels: list[PurePosixPath]) -> str | None:
    """The one folder that wraps a whole download, if there is one (see the module docstring)."""
    if not rels or any(len(r.parts) < 2 for r in rels) or len({r.parts[0] for r in rels}) != 1:
        return None
    top = rels[0].parts[0]
    named = {r: canvas_match(r.name) or MOODLE_FLAT.match(r.name) for r in rels if len(r.parts) == 2}
    folders = {r.parts[1] for r in rels if len(r.parts) > 2}
    # every file in it is named by an LMS (Moodle's online-text pages too): a folder with a file of any other name
    # (a readme) may be one student's, whose files must stay theirs however they named them
    if MOODLE.match(top) or not all(named.values()):
        return None
    many = len({_lms_student(m) for m in named.values() if m} | folders) >= 2 or any(MOODLE.match(f) for f in folders)
    return top if many else None


def wrapper_hint(rels: list[PurePosixPath]) -> str:
    """What to say when one folder holds the whole class's folders and also files of its own, so that `wrapper`
    found none and it was taken for one student's folder: '' when that is not the case (call it only then)."""
    tops = {r.parts[0] for r in rels}
    folders = {r.parts[1] for r in rels if len(r.parts) > 2}
    own = sorted(r.name for r in rels if len(r.parts) == 2)
    if len(tops) != 1 or len(folders) < 2 or not own:
        return ""
    top = tops.pop()
    return (f". If {top} is a folder around the whole class, grade {top} itself: it also holds "
            f"{', '.join(own[:3])}{' ...' if len(own) > 3 else ''}, so it was taken for one student's folder")


def identify(rel: PurePosixPath, known: list[str], id_regex: re.Pattern | None = None) -> Found:
    """Who handed in the file at `rel` (relative to SUBMISSIONS), and which notebook it is, with what the
    LMS says about the student (`Found.identity`)."""
    found = _identify(rel, known, id_regex)
    if id_regex is None and len(rel.parts) == 1 and (canvas := canvas_match(rel.name)):
        found.identity = canvas_identity(canvas)
    elif id_regex is None and len(rel.parts) == 1 and (flat := MOODLE_FLAT.match(rel.name)):
        found.identity = moodle_identity(flat)
    elif id_regex is None and len(rel.parts) > 1:
        found.identity = identity_of(rel.parts[0])
    return found


def _identify(rel: PurePosixPath, known: list[str], id_regex: re.Pattern | None = None) -> Found:
    if id_regex is not None:
        m = id_regex.fullmatch(str(rel))
        if not m or not m.groupdict().get("student"):
            return Found("?", str(rel), Path(rel), problem=f"not graded: {rel} does not match --id-regex")
        notebook, version, notes = normalise(m.groupdict().get("notebook") or rel.name, known)
        return Found(m["student"], notebook, Path(rel), version, notes)
    canvas = canvas_match(rel.name)
    if len(rel.parts) == 1 and not canvas and (flat := MOODLE_FLAT.match(rel.name)):
        notebook, version, notes = normalise(flat["file"], known)
        return Found(_moodle_student(flat), notebook, Path(rel), version, notes)
    if len(rel.parts) == 1:
        if not canvas:
            return Found("?", rel.name, Path(rel), problem=(
                f"not graded: can't tell whose file {rel.name} is (not <student>/<notebook>, Canvas or Moodle "
                "naming; see --id-regex)"))
        notebook, version, notes = normalise(canvas["file"], known)
        late = ["handed in late (Canvas)"] if canvas["late"] else []
        return Found(_canvas_student(canvas), notebook, Path(rel), version, late + notes)
    owner, inner = owner_of(rel.parts[0]), "/".join(rel.parts[1:])
    if canvas and normalise(rel.name, known)[0] in known:
        canvas = None   # a course notebook's own name, even if it reads like a Canvas name
    named = canvas or MOODLE_FLAT.match(rel.name)
    claims = sorted({owner_of(p) for p in rel.parts[1:-1]} | ({_lms_student(named)} if named else set()))
    claims = [c for c in claims if c != owner]
    if len(rel.parts) > 2:
        return Found(owner, inner, Path(rel), problem=(
            f"not graded: {rel} is in a subfolder of {owner}'s folder; only files directly in a student's folder "
            "are graded" + (f" (nor is it {', '.join(claims)}'s: a file belongs to the folder at the top)"
                            if claims else "")))
    if claims:
        return Found(owner, inner, Path(rel), problem=(
            f"not graded: {rel.name} is named like a {'Canvas' if canvas else 'Moodle'} file of {claims[0]}, but it is "
            f"in {owner}'s folder: "
            "a file belongs to the folder it is in"))
    notebook, version, notes = normalise(named["file"] if named else rel.name, known)
    return Found(owner, notebook, Path(rel), version, notes)


def _date(info: zipfile.ZipInfo) -> float:
    try:
        return time.mktime((*info.date_time, 0, 0, -1))
    except (OverflowError, ValueError):
        return 0.0


UNPACK_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError)


def _unpack(zf: zipfile.ZipFile, m: zipfile.ZipInfo, rel: str, target: Path, limit: int) -> Entry:
    stamp = _date(m)
    if m.file_size > limit:
        return Entry(rel, None, stamp, too_large(m.file_size, limit))
    try:
        with zf.open(m) as src:
            data = src.read(limit + 1)
    except UNPACK_ERRORS as err:   # a bad CRC, a broken stream, an encrypted member
        return Entry(rel, None, stamp, f"not graded: {rel} could not be unpacked from the zip "
                                       f"({type(err).__name__}: {err})")
    if len(data) > limit:
        return Entry(rel, None, stamp, too_large(len(data), limit))
    target.write_bytes(data)
    return Entry(rel, target, stamp)


def member_name(m: zipfile.ZipInfo) -> str:
    """A member's name as its maker wrote it: a zip without the UTF-8 flag holds UTF-8 names all the same when
    macOS or many tools made it (Python reads them as cp437: `josé` as `jos├⌐`); a name that isn't UTF-8 stays
    cp437, as the zip format says."""
    if m.flag_bits & 0x800:
        return m.filename
    try:
        return m.filename.encode("cp437").decode("utf-8")
    except UnicodeError:
        return m.filename


def safe_extract(archive: Path, dest: Path, limit: int) -> list[Entry]:
    """Every file of `archive`, its notebooks unpacked into `dest` as numbered files (at most `limit` bytes
    each; MAX_MEMBERS notebooks and MAX_ZIP_BYTES in all: the ones past that get a row saying so, as one
    student's oversized or countless files must not cost the class its grades). A zip that can't be read stops
    here (CourseError). Other files are not unpacked: what they claim to hold is never read."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as err:
        raise CourseError(f"{archive} is not a readable zip file ({err})") from None
    entries: list[Entry] = []
    with zf:
        members = zf.infolist()
        unpacked, notebooks = 0, 0
        for i, m in enumerate(members):
            m.filename = member_name(m)
            name = PurePosixPath(m.filename.replace("\\", "/"))
            unsafe = name.is_absolute() or ".." in name.parts or not name.parts
            if m.is_dir():   # one named like a notebook gets a row, as a folder does (intake._walk)
                if looks_like_notebook(name.name) and not (unsafe or hidden(name)):
                    entries.append(Entry(str(name), None, _date(m), f"not graded: {name} is a folder, not a notebook "
                                         "file", "other"))
                continue
            if unsafe:
                entries.append(Entry(m.filename, None, _date(m), f"not graded: {m.filename}: unsafe path", "unsafe"))
            elif hidden(name):
                continue
            elif stat.S_ISLNK(m.external_attr >> 16):
                entries.append(Entry(str(name), None, _date(m), f"not graded: {name}: a link, not a file; links "
                                     "are never followed", "other"))
            elif not looks_like_notebook(name.name):
                entries.append(Entry(str(name), None, _date(m)))   # not unpacked: intake says it is no notebook
            elif (notebooks := notebooks + 1) > MAX_MEMBERS or unpacked + min(m.file_size, limit) > MAX_ZIP_BYTES:
                entries.append(Entry(str(name), None, _date(m), (
                    f"not graded: not unpacked: the notebooks before it in the zip already come to {MAX_MEMBERS:,} "
                    f"files or {MAX_ZIP_BYTES >> 30} GiB, the most one zip may unpack; unzip the download and grade "
                    "the folder")))
            else:
                entries.append(entry := _unpack(zf, m, str(name), dest / f"{i}.ipynb", limit))
                unpacked += entry.path.stat().st_size if entry.path else 0
    return entries
