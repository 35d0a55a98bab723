"""Find and read submissions: `SUBMISSIONS/<student_id>/<notebook>.ipynb`.

Notebooks are parsed here, before nbgrader sees them, so that a broken file becomes a clear status for
one student instead of an exception in the middle of a batch.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")


@dataclass
class Submission:
    student_id: str
    notebook: str           # file name, e.g. "01_projections.ipynb"
    path: Path
    nb: nbformat.NotebookNode | None = None
    problem: str | None = None   # why it can't be graded, if it can't


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


def collect(folder: Path, known: list[str]) -> list[Submission]:
    """All `<student_id>/<notebook>.ipynb` files under `folder`, parsed; unknown or unreadable ones get a problem."""
    if not folder.is_dir():
        raise SystemExit(f"{folder} is not a folder: expected SUBMISSIONS/<student_id>/<notebook>.ipynb")
    subs: list[Submission] = []
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(student_dir.glob("*.ipynb")):
            sub = Submission(student_dir.name, path.name, path)
            if not STUDENT_ID.match(sub.student_id):
                sub.problem = "not graded: the folder name is not a usable student id (letters, digits, . _ @ + -)"
            elif sub.notebook not in known:
                sub.problem = f"not graded: unknown notebook (expected one of {', '.join(known)})"
            else:
                try:
                    sub.nb = read_notebook(path)
                except ValueError as err:
                    sub.problem = str(err)
            subs.append(sub)
    return subs
