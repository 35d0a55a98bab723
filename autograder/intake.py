"""Find and read submissions: `SUBMISSIONS/<student_id>/<notebook>.ipynb`, LMS downloads, zips.

Notebooks are parsed here, before nbgrader sees them, so that a broken file becomes a clear status for
one student instead of an exception in the middle of a batch. Every file gets exactly one row: graded, or with
the reason it was not (a set-aside duplicate is named in the flags of the row of the file that was graded).
Hidden files and folders (`.ipynb_checkpoints/`, `.DS_Store`) and `__MACOSX/` are ignored. Links are never
followed. Whose a file is comes from the top of the layout only (lms.py).
"""
from __future__ import annotations

import itertools
import json
import os
import re
import stat
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat
from nbformat.warnings import DuplicateCellId

from . import lms
from .nbclean import (drop_broken_outputs, drop_odd_tags, drop_what_grading_replaces, fix_version,
                      strip_invalid_metadata)
from .names import MAX_ID_CHARS, looks_like_notebook, safe_id, valid_id  # noqa: F401 - safe_id is public here
from .errors import CourseError

#: A notebook larger than this is refused before it is parsed (its outputs, usually).
MAX_NOTEBOOK_MIB = 20
MAX_NOTEBOOK_BYTES = MAX_NOTEBOOK_MIB << 20
#: A course notebook has about 30 cells; a notebook with more than this is refused (repair and grading time).
MAX_CELLS = 2_000


@dataclass
class Submission:
    student_id: str
    notebook: str           # file name, e.g. "01_projections.ipynb"
    path: Path
    nb: nbformat.NotebookNode | None = None
    problem: str | None = None   # why it can't be graded, if it can't
    notes: list[str] = field(default_factory=list)   # late, renamed, duplicates set aside
    source: str = ""        # the file's path inside SUBMISSIONS (or the zip)
    set_aside: list[str] = field(default_factory=list)   # paths of the duplicates this row stands for
    identity: dict[str, str] = field(default_factory=dict)   # what the LMS says about the student (lms.Found)


def _read_bytes(path: Path, limit: int) -> bytes:
    """The file's bytes, without following a link, waiting on a pipe or reading more than `limit`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise ValueError(f"not graded: could not open the file ({err.strerror or err})") from None
    with open(fd, "rb", closefd=True) as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not graded: not a regular file")
        if st.st_size > limit:
            raise ValueError(lms.too_large(st.st_size, limit))
        try:
            raw = f.read(limit + 1)
        except OSError as err:
            raise ValueError(f"not graded: could not read the file ({err.strerror or err})") from None
    if len(raw) > limit:
        raise ValueError(lms.too_large(len(raw), limit))
    return raw


def read_notebook(path: Path, limit: int | None = None, notes: list[str] | None = None) -> nbformat.NotebookNode:
    """Parse a submitted notebook (refused unread over `limit` bytes, default MAX_NOTEBOOK_BYTES); raise
    ValueError with a sentence a person understands. Metadata that the notebook format doesn't allow (an editor
    wrote `"collapsed": "yes"`) is removed, and said in `notes`: it is not the learner's work."""
    raw = _read_bytes(path, MAX_NOTEBOOK_BYTES if limit is None else limit)
    if not raw.strip():
        raise ValueError("invalid notebook: the file is empty")
    try:
        text = raw.decode("utf-8-sig")   # tolerate a byte-order mark
    except UnicodeDecodeError as err:
        raise ValueError(f"invalid notebook: not UTF-8 text ({err.reason} at byte {err.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        # as json words it: "Expecting value: line 3, ..." (some messages end in "at": "... starting at: line 9")
        raise ValueError(f"invalid notebook: not valid JSON ({err.msg}: line {err.lineno}, column {err.colno})") from None
    except (RecursionError, MemoryError):
        raise ValueError("invalid notebook: its JSON is nested too deeply to read") from None
    # format 3 (IPython 2) keeps its cells in worksheets: nbformat upgrades it below
    v3 = isinstance(data, dict) and data.get("nbformat") == 3 and isinstance(data.get("worksheets"), list)
    if not isinstance(data, dict) or ("cells" not in data and not v3):
        raise ValueError("invalid notebook: the JSON has no 'cells' list, so it is not a Jupyter notebook")
    cells = [c for w in data["worksheets"] if isinstance(w, dict) and isinstance(w.get("cells"), list)
             for c in w["cells"]] if v3 else data["cells"]
    if isinstance(cells, list) and len(cells) > MAX_CELLS:
        raise ValueError(f"not graded: too many cells: {len(cells)}, limit {MAX_CELLS}; delete the cells "
                         "you don't need and hand it in again")
    stripped, versioned = (0, False) if v3 else (drop_odd_tags(data), fix_version(data))
    broken = not v3 and drop_broken_outputs(data)
    try:
        with warnings.catch_warnings(record=True) as said:   # nbformat's warnings become the row's flags
            warnings.simplefilter("always", DuplicateCellId)
            nb = nbformat.reads(json.dumps(data), as_version=4)   # upgrades older formats
            nb = nbformat.from_dict(nbformat.validator.normalize(nb)[1])   # fills in missing fields
            if not nbformat.validator.isvalid(nb):
                stripped += strip_invalid_metadata(nb)
            dropped = (not nbformat.validator.isvalid(nb) and drop_what_grading_replaces(nb)) or broken
            nbformat.validate(nb)
        twins = sum(issubclass(w.category, DuplicateCellId) for w in said)
    except (RecursionError, MemoryError):
        raise ValueError("invalid notebook: it is nested too deeply to read") from None
    except Exception as err:  # nbformat raises several types for bad structure
        first = str(err).splitlines()[0] if str(err) else ""   # it can quote a whole value: keep it short
        raise ValueError(f"invalid notebook: {type(err).__name__}: {first[:300] + ' ...' * (len(first) > 300)} "
                         "(if Jupyter or Colab opens it, save it there and hand it in again; if not, copy your answers "
                         "into a fresh copy of the notebook)") from None
    if notes is not None and stripped:   # said only of a notebook that is graded
        notes.append(f"{stripped} metadata field{'s' if stripped > 1 else ''} that the notebook format doesn't allow "
                     "(written by an editor) removed before grading")
    if notes is not None and twins:
        notes.append(f"{twins} cell id{'s' if twins > 1 else ''} that another cell had too made unique before grading")
    if notes is not None and v3:
        notes.append("a notebook of the old format 3 (IPython 2) read as format 4.5")
    if notes is not None and versioned:
        notes.append(f"the notebook's format fields (version numbers, metadata) were missing or of the wrong type (a "
                     f"tool's doing, not Jupyter's): read as format {nb.nbformat}.{nb.nbformat_minor}")
    if notes is not None and dropped:
        notes.append("outputs, attachments, run counts or cell ids that are not the notebook format dropped before grading "
                     "(grading runs the notebook again and gives the released cells their ids)")
    return nb


def _printable(name: str) -> tuple[str, bool]:
    """A name from the file system as text, and whether it was valid UTF-8."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text, text == name


def _walk(root: Path) -> list[lms.Entry]:
    """Every file under `root`, without following links (a link is an entry of its own, never graded)."""
    entries: list[lms.Entry] = []

    def entry(path: Path, problem: str | None = None, kind: str = "other", mtime: float = 0.0) -> None:
        rel, ok = _printable(path.relative_to(root).as_posix())
        if lms.hidden(PurePosixPath(rel)):
            return
        if not ok:
            problem, kind = f"not graded: {rel}: the name is not valid UTF-8 text", "other"
        entries.append(lms.Entry(rel, path if kind == "file" else None, mtime, problem, kind))

    def failed(err: OSError) -> None:
        if err.filename and Path(err.filename) != root:
            entry(Path(err.filename), f"not graded: could not read the folder ({err.strerror or err})")
        else:
            raise CourseError(f"{root} could not be read ({err.strerror or err})")

    link = "not graded: {}: a link, not a file; links are never followed"
    for dirpath, dirnames, filenames in os.walk(root, onerror=failed):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__MACOSX"]
        for name in list(dirnames):
            if (here / name).is_symlink():
                entry(here / name, link.format((here / name).relative_to(root).as_posix()))
                dirnames.remove(name)
            elif looks_like_notebook(name):   # what it holds gets rows of its own (in a subfolder)
                entry(here / name, f"not graded: {(here / name).relative_to(root).as_posix()} is a folder, not a "
                                   "notebook file")
        dirnames.sort()
        for name in sorted(filenames):
            path = here / name
            try:
                st = os.lstat(path)
            except OSError as err:
                entry(path, f"not graded: could not read the file ({err.strerror or err})")
                continue
            if stat.S_ISLNK(st.st_mode):
                entry(path, link.format(path.relative_to(root).as_posix()))
            elif not stat.S_ISREG(st.st_mode):
                entry(path, f"not graded: {path.relative_to(root).as_posix()}: not a regular file")
            else:
                entry(path, kind="file", mtime=st.st_mtime)
    return entries


def _why(e: lms.Entry, f: lms.Found, known: list[str]) -> str | None:
    """Why the file can't even be a candidate for the notebook it names (None: it can)."""
    if e.kind != "file":
        return e.problem
    if not looks_like_notebook(PurePosixPath(e.rel).name):
        return lms.not_a_notebook(e.rel, known)
    if f.problem:
        return f.problem
    if len(f.student_id) > MAX_ID_CHARS:
        return (f"not graded: the folder name is {len(f.student_id)} characters long; a student id has at most "
                f"{MAX_ID_CHARS}: rename the folder")
    if not valid_id(f.student_id):
        return ("not graded: the folder name is not a usable student id (letters, digits, spaces and . _ @ + - ' , "
                "( ) &, starting with a letter or digit)")
    if f.notebook not in known:
        return f"not graded: unknown notebook (expected one of {', '.join(known)})"
    return None


def _gather(entries: list[lms.Entry], base: Path, known: list[str], id_regex: re.Pattern | None) -> list[Submission]:
    """One Submission per entry, except duplicates, which the graded file's row names (see _winner)."""
    rels = [PurePosixPath(e.rel) for e in entries if e.kind != "unsafe"]
    top = None if id_regex else lms.wrapper(rels)
    hint = "" if id_regex or top else lms.wrapper_hint(rels)
    groups: dict[tuple[str, str], list[tuple[lms.Entry, lms.Found]]] = {}
    rows: list[Submission] = []
    found = [lms.Found("?", e.rel, Path(e.rel)) if e.kind == "unsafe" else
             lms.identify(PurePosixPath(*PurePosixPath(e.rel).parts[1:]) if top else PurePosixPath(e.rel), known,
                          id_regex) for e in entries]
    _one_id_per_lms_person(found)
    for e, f in zip(entries, found):
        if (problem := _why(e, f, known)) is not None:
            problem += hint if hint and len(PurePosixPath(e.rel).parts) > 2 else ""
            where = e.path or (base if e.kind == "unsafe" else base / e.rel)   # where it is, for a person to look
            rows.append(Submission(f.student_id, f.notebook, where, problem=problem, notes=f.notes, source=e.rel,
                                   identity=f.identity))
        else:
            groups.setdefault((f.student_id, f.notebook), []).append((e, f))
    graded = [_winner(files, base) for files in groups.values()]
    used = {(s.student_id, s.notebook) for s in graded}
    for sub in sorted(rows, key=lambda s: s.source):   # one row per (student, notebook): grading keys on it
        names = itertools.chain([sub.notebook, sub.source], (f"{sub.source} [{k}]" for k in itertools.count(2)))
        sub.notebook = next(name for name in names if (sub.student_id, name) not in used)
        used.add((sub.student_id, sub.notebook))
    return sorted(graded + rows, key=lambda s: (s.student_id, s.notebook))


def _one_id_per_lms_person(found: list[lms.Found]) -> None:
    """The files of one Canvas user id (or Moodle participant id) under two names (`parkann_555_...` and
    `parkanne_555_...`: a name changed between two downloads) are one student's: the id of the first name in
    sort order, said in the flags. Else they were two rows, and the LMS export two lines of one person."""
    def person(f: lms.Found) -> str:
        return f.identity.get("canvas_user_id") or f.identity.get("moodle_participant_id") or ""

    ids: dict[tuple[str, str], set[str]] = {}
    for f in found:
        if person(f):
            ids.setdefault((f.identity["lms"], person(f)), set()).add(f.student_id)
    for f in found:
        names = sorted(ids.get((f.identity.get("lms", ""), person(f)), ()))
        if len(names) > 1 and f.student_id != names[0]:
            f.notes = [*f.notes, f"{f.identity['lms'].title()} id {person(f)} is named both {' and '.join(names)}: "
                                 f"graded as {names[0]}"]
            f.student_id = names[0]


def _unicode_form(rel: str, *others: str) -> str:
    """`rel`, said apart from another path that looks the same (`josé` composed, and decomposed as macOS writes it)."""
    if not any(o != rel and unicodedata.normalize("NFC", o) == unicodedata.normalize("NFC", rel) for o in others):
        return rel
    return f"{rel} ({'composed' if unicodedata.is_normalized('NFC', rel) else 'decomposed'} Unicode: {ascii(rel)[1:-1]})"


def _winner(files: list[tuple[lms.Entry, lms.Found]], base: Path) -> Submission:
    """One file per student and notebook: the highest resubmission number wins, then the newest file, then the
    last path in sort order, even when it is broken. Its row's notes say what was set aside, by path."""
    files.sort(key=lambda ef: (ef[1].version, ef[0].mtime, ef[0].rel))
    e, f = files[-1]
    identity = f.identity or next((o.identity for _, o in files if o.identity), {})   # kept for the LMS export
    sub = Submission(f.student_id, f.notebook, e.path or base / e.rel, problem=e.problem, notes=list(f.notes),
                     source=e.rel, set_aside=[o.rel for o, _ in files[:-1]], identity=identity)
    if sub.set_aside:
        rest = files[:-1]
        why = ("latest resubmission" if f.version > max(o.version for _, o in rest) else
               "newest file" if e.mtime > max(o.mtime for o, _ in rest) else "last in name order")
        aside = [f"{rel} (another file of that name in the zip)" if rel == e.rel else _unicode_form(rel, e.rel)
                 for rel in sub.set_aside]
        sub.notes.append(f"{len(files)} files for {f.notebook}: graded {_unicode_form(e.rel, *sub.set_aside)} ({why}), "
                         f"set aside {', '.join(aside)}")
    if sub.problem is None:
        try:
            sub.nb = read_notebook(sub.path, notes=sub.notes)
        except ValueError as err:
            sub.problem = str(err)
        except Exception as err:  # noqa: BLE001 - whatever else one file raises, it never stops the batch
            sub.problem = f"invalid notebook: {type(err).__name__}: {str(err)[:200]}"
    return sub


def collect(source: Path, known: list[str], id_regex: str | None = None) -> list[Submission]:
    """Every file under `source` (a folder or a zip; layouts in lms.py), each in exactly one Submission:
    readable notebooks parsed; unknown, unreadable, oversized or unattributable files with a problem, so they
    are reported, not dropped."""
    pattern = re.compile(id_regex) if id_regex else None
    if not source.exists():
        raise CourseError(f"{source} does not exist: give the folder of submissions "
                          "(SUBMISSIONS/<student_id>/<notebook>.ipynb), an LMS download folder or a .zip")
    if source.is_file() and source.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="mha-intake-") as tmp:
            return _gather(lms.safe_extract(source, Path(tmp), MAX_NOTEBOOK_BYTES), source, known, pattern)
    if not source.is_dir():
        raise CourseError(f"{source} is not a folder: expected SUBMISSIONS/<student_id>/<notebook>.ipynb, "
                         "an LMS download folder or a .zip")
    return _gather(_walk(source), source, known, pattern)
