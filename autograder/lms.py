"""Whose notebook is this? Submission layouts: one folder per student, Canvas and Moodle downloads, zips.

- `SUBMISSIONS/<student_id>/<notebook>.ipynb`: the student id is the folder name.
- Canvas ("Download submissions"): flat files `smithjane_12345_67890_01_projections.ipynb`, late ones
  `smithjane_LATE_12345_67890_...`, resubmissions `..._01_projections-1.ipynb`: student `smithjane_12345`.
- Moodle: folders `Jane Smith_12345_assignsubmission_file_/01_projections.ipynb`: student `janesmith_12345`.
- anything else: `--id-regex` with a named group `student` (and optionally `notebook`), matched against
  the path inside SUBMISSIONS, e.g. `(?P<student>[a-z]+\\d+)-(?P<notebook>.+\\.ipynb)`.

A zip of any of these is unpacked first, safely (no absolute or `..` paths, no links, size limits).
"""
from __future__ import annotations

import os
import re
import stat
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

CANVAS = re.compile(r"^(?P<name>[A-Za-z0-9-]+?)(?P<late>_LATE)?_(?P<uid>\d+)_(?P<sid>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<uid>\d+)_assignsubmission_(?:file|onlinetext)_?$")
#: "01_projections-1.ipynb" (Canvas resubmission) and "01_projections (1).ipynb" (browser copy)
VERSION = re.compile(r"^(?P<stem>.+?)(?:-(?P<dash>\d+)| \((?P<paren>\d+)\))$")

MAX_ZIP_BYTES = 2 << 30       # uncompressed, all members together
MAX_NOTEBOOK_BYTES = 50 << 20
MAX_MEMBERS = 20_000


@dataclass
class Found:
    student_id: str
    notebook: str          # the notebook's name without a resubmission number
    path: Path
    version: int = 0       # resubmission number: 0 for the first
    notes: list[str] = field(default_factory=list)
    problem: str | None = None


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower()) or "student"


def split_version(file_name: str) -> tuple[str, int]:
    """("01_projections.ipynb", 1) for "01_projections-1.ipynb" or "01_projections (1).ipynb"."""
    path = PurePosixPath(file_name)
    m = VERSION.match(path.stem)
    if not m:
        return file_name, 0
    return m["stem"] + path.suffix, int(m["dash"] or m["paren"])


def _normalise(file_name: str, known: list[str]) -> tuple[str, int]:
    if file_name in known:
        return file_name, 0
    base, version = split_version(file_name)
    return (base, version) if base in known else (file_name, 0)


def identify(rel: PurePosixPath, known: list[str], id_regex: re.Pattern | None = None) -> Found:
    """Who handed in the notebook at `rel` (relative to SUBMISSIONS), and which notebook it is."""
    if id_regex is not None:
        m = id_regex.fullmatch(str(rel))
        if not m or not m.groupdict().get("student"):
            return Found("?", rel.name, Path(rel), problem=f"not graded: {rel} does not match --id-regex")
        notebook, version = _normalise(m.groupdict().get("notebook") or rel.name, known)
        return Found(m["student"], notebook, Path(rel), version)
    canvas = CANVAS.match(rel.name)
    if canvas:
        notebook, version = _normalise(canvas["file"], known)
        notes = ["handed in late (Canvas)"] if canvas["late"] else []
        return Found(f"{canvas['name'].lower()}_{canvas['uid']}", notebook, Path(rel), version, notes)
    if len(rel.parts) >= 2:
        folder = rel.parts[-2]
        moodle = MOODLE.match(folder)
        student = f"{_slug(moodle['name'])}_{moodle['uid']}" if moodle else folder
        notebook, version = _normalise(rel.name, known)
        return Found(student, notebook, Path(rel), version)
    return Found("?", rel.name, Path(rel), problem=(
        f"not graded: can't tell whose file {rel.name} is (not <student>/<notebook>, Canvas or Moodle naming; "
        "see --id-regex)"))


def _date(info: zipfile.ZipInfo) -> float:
    try:
        return time.mktime((*info.date_time, 0, 0, -1))
    except (OverflowError, ValueError):
        return 0.0


def safe_extract(archive: Path, dest: Path) -> list[str]:
    """Unpack the .ipynb files of `archive` into `dest`; returns what was skipped and why."""
    skipped: list[str] = []
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as err:
        raise SystemExit(f"{archive} is not a readable zip file ({err})") from None
    with zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise SystemExit(f"{archive} has {len(members)} files; refusing more than {MAX_MEMBERS}")
        if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
            raise SystemExit(f"{archive} unpacks to more than {MAX_ZIP_BYTES >> 30} GiB; refusing it")
        for m in members:
            name = PurePosixPath(m.filename.replace("\\", "/"))
            mode = m.external_attr >> 16
            if m.is_dir() or name.name.startswith(".") or "__MACOSX" in name.parts:
                continue
            if name.is_absolute() or ".." in name.parts or not name.parts:
                skipped.append(f"{m.filename}: unsafe path")
            elif stat.S_ISLNK(mode):
                skipped.append(f"{m.filename}: a link")
            elif name.suffix != ".ipynb":
                skipped.append(f"{m.filename}: not a notebook")
            elif m.file_size > MAX_NOTEBOOK_BYTES:
                skipped.append(f"{m.filename}: larger than {MAX_NOTEBOOK_BYTES >> 20} MiB")
            else:
                target = dest.joinpath(*name.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(m) as src:
                    data = src.read(MAX_NOTEBOOK_BYTES + 1)
                if len(data) > MAX_NOTEBOOK_BYTES:
                    skipped.append(f"{m.filename}: larger than {MAX_NOTEBOOK_BYTES >> 20} MiB")
                    continue
                target.write_bytes(data)
                stamp = _date(m)
                os.utime(target, (stamp, stamp))
    return skipped
