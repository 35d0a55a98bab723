"""Find and read submissions: `SUBMISSIONS/<student_id>/<notebook>.ipynb`, LMS downloads, zips.

Notebooks are parsed here, before nbgrader sees them, so that a broken file becomes a clear status for
one student instead of an exception in the middle of a batch.
"""
from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from . import lms

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")


@dataclass
class Submission:
    student_id: str
    notebook: str           # file name, e.g. "01_projections.ipynb"
    path: Path
    nb: nbformat.NotebookNode | None = None
    problem: str | None = None   # why it can't be graded, if it can't
    notes: list[str] = field(default_factory=list)   # late, duplicates set aside


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Parse a submitted notebook; raise ValueError with a sentence a person understands."""
    raw = path.read_bytes()
    if not raw.strip():
        raise ValueError("invalid notebook: the file is empty")
    try:
        text = raw.decode("utf-8-sig")   # tolerate a byte-order mark
    except UnicodeDecodeError as err:
        raise ValueError(f"invalid notebook: not UTF-8 text ({err.reason} at byte {err.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"invalid notebook: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})") from None
    if not isinstance(data, dict) or "cells" not in data:
        raise ValueError("invalid notebook: the JSON has no 'cells' list, so it is not a Jupyter notebook")
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)   # upgrades older formats
        nb = nbformat.from_dict(nbformat.validator.normalize(nb)[1])   # fills in missing fields
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises several types for bad structure
        raise ValueError(f"invalid notebook: {type(err).__name__}: {str(err).splitlines()[0]}") from None
    return nb


def _resolve(found: list[lms.Found]) -> list[lms.Found]:
    """One file per student and notebook: the highest resubmission number wins, then the newest file,
    then the last name in sort order. The winner's notes say what was set aside."""
    groups: dict[tuple[str, str], list[lms.Found]] = {}
    for f in found:
        groups.setdefault((f.student_id, f.notebook), []).append(f)
    kept = []
    for (_, notebook), files in groups.items():
        files.sort(key=lambda f: (f.version, f.path.stat().st_mtime if f.path.exists() else 0, str(f.path)))
        winner = files[-1]
        if len(files) > 1 and winner.problem is None:
            others = ", ".join(f.path.name for f in files[:-1])
            winner.notes.append(f"{len(files)} files for {notebook}: graded {winner.path.name} "
                                f"(latest resubmission), set aside {others}")
            kept.append(winner)
        else:
            kept.extend(files if winner.problem else [winner])
    return kept


def _collect_folder(folder: Path, known: list[str], id_regex: re.Pattern | None) -> list[Submission]:
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        f = lms.identify(PurePosixPath(rel.as_posix()), known, id_regex)
        f.path = path
        found.append(f)
    subs = []
    for f in sorted(_resolve(found), key=lambda f: (f.student_id, f.notebook)):
        sub = Submission(f.student_id, f.notebook, f.path, notes=f.notes, problem=f.problem)
        if sub.problem:
            pass
        elif not STUDENT_ID.match(sub.student_id):
            sub.problem = "not graded: the folder name is not a usable student id (letters, digits, . _ @ + -)"
        elif sub.notebook not in known:
            sub.problem = f"not graded: unknown notebook (expected one of {', '.join(known)})"
        else:
            try:
                sub.nb = read_notebook(f.path)
            except ValueError as err:
                sub.problem = str(err)
        subs.append(sub)
    return subs


def collect(source: Path, known: list[str], id_regex: str | None = None) -> list[Submission]:
    """Every submitted notebook under `source` (a folder or a zip; layouts in lms.py), parsed; unknown,
    unreadable or unattributable files get a problem, so they are reported, not dropped."""
    pattern = re.compile(id_regex) if id_regex else None
    if source.is_file() and source.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="mha-intake-") as tmp:
            skipped = lms.safe_extract(source, Path(tmp))
            subs = _collect_folder(Path(tmp), known, pattern)
        return subs + [Submission("?", name.split(":")[0], source, problem=f"not graded: skipped in the zip ({name})")
                       for name in skipped]
    if not source.is_dir():
        raise SystemExit(f"{source} is not a folder: expected SUBMISSIONS/<student_id>/<notebook>.ipynb, "
                         "an LMS download folder or a .zip")
    return _collect_folder(source, known, pattern)
