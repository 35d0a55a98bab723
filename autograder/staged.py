"""A term in stages: release the notebooks up to one of them, and know which answers a release gives away.

Notebooks 02-07 start with a locked "earlier pieces" cell (grade id `earlier_pieces`): the reference
solutions of the exercises of the notebooks before them, so that each notebook runs on its own. Releasing
notebook 03 therefore publishes the answers of 01 and 02. `release --upto 03` publishes 01-03 only and records
what it published in the release folder (`RELEASED.json`, `MANIFEST`); `grade` warns when it grades a notebook
whose answers a later notebook of that record holds (`exposed`). A full release (plain `release`, as this
repository's course/ is) records nothing: the whole course is public, not a staged term, and grade says nothing.
"""
from __future__ import annotations

import ast
import datetime
import json
import re
from pathlib import Path

import nbformat

from .paths import COURSE, SOLUTIONS, notebook_names
from .samples import reference_answers
from .errors import CourseError


def _defs(source: str) -> dict[str, str]:
    """{name: normalised code} of the functions and classes `source` defines at top level."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return {}
    return {node.name: ast.dump(node) for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def reference_defs(notebook: str, solutions: Path = SOLUTIONS) -> dict[str, str]:
    """{name: code} of what the reference solutions of `notebook`'s exercises define."""
    found: dict[str, str] = {}
    for source in reference_answers(notebook, solutions).values():
        found.update(_defs(source))
    return found


def earlier_pieces(path: Path) -> dict[str, str]:
    """{name: code} defined by the locked "earlier pieces" cells of the notebook at `path`."""
    nb = nbformat.read(path, as_version=4)
    found: dict[str, str] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("locked") and "earlier" in str(meta.get("grade_id", "")):
            found.update(_defs(cell.source))
    return found


MANIFEST = "RELEASED.json"


def record(course_dir: Path, notebooks: list[str], upto: str) -> Path:
    """Write `course_dir`/RELEASED.json: the notebooks a staged release published there, and the day. A release
    of the same notebooks again keeps the day they were first published."""
    path = course_dir / MANIFEST
    if read_record(course_dir) == notebooks:
        return path
    path.write_text(json.dumps({"notebooks": notebooks, "upto": upto,
                                "released": datetime.date.today().isoformat()}, indent=1) + "\n", encoding="utf-8")
    return path


def read_record(course_dir: Path) -> list[str] | None:
    """The notebooks `course_dir`'s RELEASED.json says a staged release published; None when it has none."""
    path = course_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        names = json.loads(path.read_text(encoding="utf-8"))["notebooks"]
    except (ValueError, KeyError, TypeError) as err:
        raise CourseError(f"{path}: not a release record ({err}); `release --upto NN --to "
                          f"{course_dir}` writes it again") from None
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise CourseError(f"{path}: \"notebooks\" is not a list of notebook names")
    return names


def released(course_dir: Path, given: bool) -> list[str] | None:
    """What learners have of the course, as `grade` judges it: the record of `course_dir`'s staged release;
    for a folder the instructor named (`given`) without one, the notebooks in it; otherwise None (no staged
    term known: the default course/ holds the full public release)."""
    names = read_record(course_dir) if course_dir.is_dir() else None
    if names is None and given:
        if not course_dir.is_dir():
            raise CourseError(f"--released {course_dir}: no such folder (the --to folder of `release --upto NN`)")
        names = notebook_names(course_dir)
    return names


def exposed(course_dir: Path, solutions: Path = SOLUTIONS, notebooks: list[str] | None = None,
            released: list[str] | None = None) -> dict[str, dict[str, list[str]]]:
    """{notebook: {released later notebook: [reference solutions of `notebook` it holds]}}, for the
    `notebooks` (default: all of the course) whose answers `course_dir` already gives away. `released`: the
    notebooks published there (default: those in `course_dir`); one no longer in the folder is read from the
    solutions' release in this repository's course/."""
    if released is None:
        released = notebook_names(course_dir) if course_dir.is_dir() else []
    found: dict[str, dict[str, list[str]]] = {}
    for name in notebooks if notebooks is not None else notebook_names(solutions):
        if not (solutions / name).is_file():
            continue
        ref = reference_defs(name, solutions)
        for later in (n for n in released if n > name):
            path = course_dir / later if (course_dir / later).is_file() else COURSE / later
            if not path.is_file():
                continue
            same = sorted(set(earlier_pieces(path)) & set(ref))   # same name: a copy, or near one
            if same:
                found.setdefault(name, {})[later] = same
    return found


def warning(leaks: dict[str, dict[str, list[str]]], course_dir: Path) -> str:
    """What `grade` prints when the notebooks it graded have their answers in released notebooks."""
    lines = []
    for name, where in sorted(leaks.items()):
        spots = "; ".join(f"{later} ({', '.join(names)})" for later, names in sorted(where.items()))
        lines.append(f"warning: the answers of {name} are in notebooks already released in {course_dir}: {spots}. "
                     "A learner who had those could copy them (README: Staged release).")
    return "\n".join(lines)


def upto(names: list[str], last: str) -> list[str]:
    """The course notebooks up to and including `last` ("03", "3", "03_concat_vs_sum" or its file name)."""
    key = last.removesuffix(".ipynb")
    number = re.fullmatch(r"\d+", key)
    for i, name in enumerate(names):
        stem = name.removesuffix(".ipynb")
        prefix = re.match(r"\d+", stem)
        if stem == key or (number and prefix and int(prefix.group()) == int(key)):
            return names[: i + 1]
    raise CourseError(f"--upto {last!r}: no such notebook (expected one of {', '.join(names)})")
