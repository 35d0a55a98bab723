"""A term in stages: release the notebooks up to one of them, and know which answers a release gives away.

Notebooks 02-07 start with a locked "earlier pieces" cell (grade id `earlier_pieces`): the reference
solutions of the exercises of the notebooks before them, so that each notebook runs on its own. Releasing
notebook 03 therefore publishes the answers of 01 and 02. `release --upto 03` publishes 01-03 only, and
`grade` warns when it grades a notebook whose answers a released later notebook holds (`exposed`).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

from .paths import SOLUTIONS, notebook_names
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


def exposed(course_dir: Path, solutions: Path = SOLUTIONS,
            notebooks: list[str] | None = None) -> dict[str, dict[str, list[str]]]:
    """{notebook: {released later notebook: [reference solutions of `notebook` it holds]}}, for the
    `notebooks` (default: all of the course) whose answers `course_dir` already gives away."""
    released = notebook_names(course_dir) if course_dir.is_dir() else []
    found: dict[str, dict[str, list[str]]] = {}
    for name in notebooks if notebooks is not None else notebook_names(solutions):
        if not (solutions / name).is_file():
            continue
        ref = reference_defs(name, solutions)
        for later in (n for n in released if n > name):
            same = sorted(set(earlier_pieces(course_dir / later)) & set(ref))   # same name: a copy, or near one
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
