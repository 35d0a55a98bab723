"""One source for the course's shared code: the "earlier pieces" cells, and the bench's copy of them.

Notebooks 02 onwards begin with a locked cell (grade id `earlier_pieces`) that holds the reference solutions
of the earlier exercises the notebook builds on, so that each notebook runs on its own. Nobody writes that
code by hand: the cell's metadata names its pieces (`"mha_course": {"pieces": ["01_projections/head_dim",
...]}`), and `release` writes the cell from those solution cells (without the `### BEGIN/END SOLUTION`
lines), in `solutions/` itself and so in `course/`. `bench/course_pieces.py` is written the same way from
BENCH. `release --check` fails when any copy differs from its source (`stale`).
"""
from __future__ import annotations

import json
from pathlib import Path

from .paths import SOLUTIONS, notebook_names
from .samples import reference_answers

KEY = "mha_course"
HEADER = ("# Earlier pieces (read-only): the reference solutions of the exercises this notebook builds on,\n"
          "# written by `python -m autograder release` from solutions/.\n")
#: what bench/mha_bench.py imports from the course
BENCH = ["01_projections/head_dim", "04_output_projection/MultiHeadAttention"]
BENCH_FILE = Path("bench") / "course_pieces.py"


def code_of(pieces: list[str], solutions: Path = SOLUTIONS) -> str:
    """The code of `pieces` ("<notebook stem>/<solution grade id>"), grouped by notebook, in the given order."""
    parts, current = [], None
    for ref in pieces:
        stem, grade_id = ref.split("/", 1)
        answers = reference_answers(f"{stem}.ipynb", solutions)
        if grade_id not in answers:
            raise KeyError(f"earlier piece {ref}: {stem}.ipynb has no solution cell {grade_id!r}")
        if stem != current:
            parts.append(f"# ---- {stem} ----")
            current = stem
        parts.append(answers[grade_id].strip("\n") + "\n")
    return HEADER + "\n".join(parts)


def _cells(nb: dict) -> list[tuple[dict, list[str]]]:
    return [(cell, cell["metadata"][KEY]["pieces"]) for cell in nb["cells"]
            if cell["cell_type"] == "code" and KEY in cell["metadata"] and "pieces" in cell["metadata"][KEY]]


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def bench_source(solutions: Path = SOLUTIONS) -> str:
    return ('"""The course\'s reference code that bench/mha_bench.py times, written by `python -m autograder release`\n'
            'from solutions/ (don\'t edit: edit the solution notebooks)."""\n'
            "import math\n\nimport torch\nimport torch.nn as nn\n\n\n"
            + code_of(BENCH, solutions).replace(HEADER, ""))


def stale(solutions: Path = SOLUTIONS, repo: Path | None = None, write: bool = False) -> list[str]:
    """The copies that differ from their source ("solutions/04_output_projection.ipynb: earlier pieces"),
    rewritten when `write`."""
    repo = repo or solutions.parent
    found = []
    for name in notebook_names(solutions):
        path = solutions / name
        nb = json.loads(path.read_text(encoding="utf-8"))
        changed = False
        for cell, pieces in _cells(nb):
            want = _lines(code_of(pieces, solutions))
            if cell["source"] != want:
                found.append(f"solutions/{name}: earlier pieces")
                cell["source"], changed = want, True
        if changed and write:
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    bench = repo / BENCH_FILE
    if bench.parent.is_dir():
        want_text = bench_source(solutions)
        if not bench.exists() or bench.read_text(encoding="utf-8") != want_text:
            found.append(str(BENCH_FILE))
            if write:
                bench.write_text(want_text, encoding="utf-8")
    return found
