"""Repair a submission before grading: match its cells back to the released notebook.

nbgrader knows a cell only by `metadata.nbgrader.grade_id`. Editors (Colab, VS Code, ...) lose or change that
metadata and renumber cell ids; learners reorder, duplicate, delete or edit cells, or turn a check into markdown.
`repair` rebuilds the notebook from the release so that the master checks run after the learner's code:

1. Each released cell is matched to at most one submitted cell, trying in turn: the same grade_id; the same
   source; the same cell id, if the content agrees; a similar source (ratio >= 0.8 of difflib on tokens, any cell
   type: a check turned into markdown still matches); for an exercise, a code cell that defines the same top-level
   names (for a quiz, a name its checks read); for demo code, a code cell in its place that assigns the same
   names; last, for a check or read-only cell, an edited copy (ratio >= 0.5, or made of its lines). Of several
   candidates, the one between the submitted positions of the cell's matched neighbours wins, then the nearest.
2. The output is the release, cell for cell and in its order, with its types, metadata and ids, outputs dropped.
   Exercise and demo code cells take the learner's source; checks, read-only cells and markdown keep the
   release's (nbgrader overwrites checks anyway). An exercise with no match keeps its stub, so it loses its
   points: that is the only cost of a repair.
3. The learner's other cells are kept, without nbgrader metadata and with fresh ids, right after the output
   cell of the nearest matched cell above them; code copies of a check are dropped.
4. Each repair that matters is one sentence in the returned list; a pristine notebook gets none.
"""
from __future__ import annotations

import ast
import builtins
import copy
import difflib
import keyword
import re
from collections.abc import Callable
from functools import lru_cache

import nbformat
from nbformat import NotebookNode

from .checker import HELPER_CELLS

SIMILAR, EDITED = 0.8, 0.5
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*(\n|$)", re.M | re.S)
DEFINES = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*(?::[^=\n]*)?=(?!=)", re.M)
IDENT = re.compile(r"[A-Za-z_]\w*")
TOKEN = re.compile(r"\w+|[^\w\s]")   # similarity is measured on words and symbols
COMMON = set(dir(builtins)) | set(keyword.kwlist)
META_KEYS = {"grade_id": None, "solution": False, "grade": False, "locked": False, "points": 0}
LABEL = {"test": "test cell", "readonly": "read-only cell"}


def _nbg(cell: NotebookNode) -> dict:
    return meta if isinstance(meta := cell.get("metadata", {}).get("nbgrader"), dict) else {}


def _text(cell: NotebookNode) -> str:
    return source if isinstance(source := cell.get("source", ""), str) else "".join(source)


def _norm(cell: NotebookNode) -> str:
    """Source without hidden tests, line endings or trailing blanks: what survives any editor."""
    text = HIDDEN.sub("", _text(cell).replace("\r\n", "\n"))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _role(cell: NotebookNode) -> str:
    meta = _nbg(cell)
    return ("solution" if meta.get("solution") else "test" if meta.get("grade") else "readonly"
            if meta.get("grade_id") else "code" if cell.get("cell_type") == "code" else "markdown")


def _parse(source: str) -> ast.Module | None:
    try:   # IPython magics and shell escapes are not Python: blank them out
        return ast.parse("\n".join("" if ln.lstrip()[:1] in ("%", "!") else ln for ln in source.split("\n")))
    except (SyntaxError, ValueError, RecursionError, MemoryError):   # deep nesting: read it as text instead
        return None


@lru_cache(maxsize=4096)
def _defines(source: str) -> frozenset[str]:
    """Top-level names a cell defines (def, class, assignment), also inside if/try/with/for blocks."""
    if (tree := _parse(source)) is None:
        return frozenset(a or b for a, b in DEFINES.findall(source))
    names: set[str] = set()
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            names.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
        else:
            stack.extend(n for f in ("body", "orelse", "finalbody", "handlers") for n in getattr(node, f, []))
    return frozenset(names)


@lru_cache(maxsize=4096)
def _reads(source: str) -> frozenset[str]:
    if (tree := _parse(source)) is None:
        return frozenset(IDENT.findall(source)) - COMMON
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)) - COMMON


@lru_cache(maxsize=8192)
def _ratio(a: str, b: str, floor: float) -> float:
    """difflib's similarity of two sources (as tokens), or 0 when it is surely below `floor`."""
    matcher = difflib.SequenceMatcher(None, TOKEN.findall(a), TOKEN.findall(b), autojunk=False)
    return matcher.ratio() if a and b and matcher.real_quick_ratio() >= floor and matcher.quick_ratio() >= floor else 0.0


def _edited_copy(released: str, submitted: str) -> float:
    """How much `submitted` looks like an edited copy of `released`: a ratio, or 0.9 if made of its lines."""
    if len(submitted) > 1.25 * len(released) + 200:   # much longer: more than an edit (e.g. the self-check cell)
        return 0.0
    lines = [ln.strip() for ln in submitted.split("\n") if ln.strip()]
    theirs = {ln.strip() for ln in released.split("\n") if ln.strip()}
    if len(lines) >= 2 and sum(ln in theirs for ln in lines) >= 0.8 * len(lines) and len(lines) >= 0.25 * len(theirs):
        return 0.9
    return _ratio(released, submitted, EDITED)


def _gap(i: int, match: dict[int, int]) -> tuple[int, int]:
    """Submitted positions of the matches of released cell i's nearest matched neighbours (above, below)."""
    before, after = [k for k in match if k < i], [k for k in match if k > i]
    return (match[max(before)] if before else -1), (match[min(after)] if after else 1 << 30)


def _pick(i: int, match: dict[int, int], score: dict[int, float]) -> int | None:
    """The candidate between released cell i's neighbours' matches, then the best score, then the nearest."""
    lo, hi = _gap(i, match)
    return min(score, key=lambda j: (not min(lo, hi) < j < max(lo, hi), -score[j], abs(j - lo), j < lo), default=None)


def _match(rel: list[NotebookNode], sub: list[NotebookNode]) -> dict[int, int]:
    """{released index: submitted index}, by the rules of the module docstring, most trusted first."""
    match: dict[int, int] = {}
    rn, sn = [_norm(c) for c in rel], [_norm(c) for c in sub]
    roles = [_role(c) for c in rel]
    gids = [_nbg(c).get("grade_id") for c in rel]
    # Learner code cells (not code given read-only by some release) and the names they define.
    answers = {j: _defines(sn[j]) for j, c in enumerate(sub) if c.get("cell_type") == "code"
               and not (_nbg(c).get("locked") and not _nbg(c).get("solution"))}
    given = frozenset().union(*[_defines(t) for t in rn])
    want = []   # names an exercise defines; for a quiz answer, the names its checks read that nothing else defines
    for i, role in enumerate(roles):
        names = _defines(rn[i])
        if not names and role == "solution":
            stop = next((k for k in range(i + 1, len(rel)) if roles[k] == "solution"), len(rel))
            names = frozenset().union(*[_reads(rn[k]) for k in range(i + 1, stop) if roles[k] == "test"]) - given
        want.append(names)

    def run(rule: Callable[[int, int], float], only: set[str]) -> None:
        for i, role in enumerate(roles):
            if i not in match and role in only:
                used = set(match.values())
                score = {j: s for j in range(len(sub)) if j not in used and (s := rule(i, j))}
                if (j := _pick(i, match, score)) is not None:
                    match[i] = j

    def names(i: int, j: int) -> float:
        return float(bool(want[i] & answers.get(j, frozenset())))

    def same_id(i: int, j: int) -> float:
        if not rel[i].get("id") or sub[j].get("id") != rel[i].get("id"):
            return 0.0
        if roles[i] == "solution":
            return float(j in answers and (not _defines(rn[i]) or bool(names(i, j))))
        return float(_ratio(rn[i], sn[j], EDITED) >= EDITED)

    def in_gap(i: int, j: int) -> float:
        lo, hi = _gap(i, match)
        return names(i, j) if min(lo, hi) < j < max(lo, hi) else 0.0

    every = {"solution", "test", "readonly", "code", "markdown"}
    # Of two cells with the grade_id (a split cell), the one that agrees with the release.
    run(lambda i, j: float(bool(gids[i]) and _nbg(sub[j]).get("grade_id") == gids[i]) * (
        1 + (names(i, j) if roles[i] == "solution" else float(rn[i] == sn[j]))), every)
    run(lambda i, j: float(bool(rn[i]) and rn[i] == sn[j]), every)
    run(same_id, every)
    run(lambda i, j: s if (s := _ratio(rn[i], sn[j], SIMILAR)) >= SIMILAR else 0.0, every - {"solution"})
    run(names, {"solution"})
    run(in_gap, {"code"})
    run(lambda i, j: s if (s := _edited_copy(rn[i], sn[j])) >= EDITED else 0.0, {"test", "readonly"})
    return match


def _blank_outputs(cell: NotebookNode) -> NotebookNode:
    if cell.get("cell_type") == "code":
        cell["outputs"], cell["execution_count"] = [], None
    return cell


def _fresh(released: NotebookNode, notes: list[str]) -> tuple[NotebookNode, list[str]]:
    """The release itself (stubs and all), without outputs."""
    cells = [_blank_outputs(copy.deepcopy(c)) for c in released.get("cells", [])]
    return nbformat.v4.new_notebook(metadata=copy.deepcopy(released.get("metadata", {})), cells=cells), notes


def repair(submitted: NotebookNode, released: NotebookNode) -> tuple[NotebookNode, list[str]]:
    """Return a notebook in the release's cell order, ready for nbgrader, and the repairs made (sentences)."""
    try:
        return _repair(submitted, released)
    except Exception as err:  # noqa: BLE001 - a strange notebook must never stop a batch
        return _fresh(released, [f"the notebook could not be matched to the released one ({type(err).__name__}: "
                                 f"{err}); graded as handed out, with no exercise done"])


def _notes(rel: list[NotebookNode], sub: list[NotebookNode], match: dict[int, int]) -> list[str]:
    """The repairs that matter, in plain sentences naming the grade_ids."""
    notes = []
    changed = sum(1 for i, j in match.items() if _nbg(rel[i]).get("grade_id") and any(
        _nbg(sub[j]).get(k, d) != _nbg(rel[i]).get(k, d) for k, d in META_KEYS.items()))
    if changed:
        notes.append(f"{changed} cell{'s' if changed > 1 else ''} had lost or changed {'their' if changed > 1 else 'its'} "
                     "nbgrader metadata (as when a notebook is saved by Colab or another editor): matched back to "
                     "the released notebook's cells")
    order = [match[i] for i in sorted(match) if rel[i].get("cell_type") == "code"]
    if order != sorted(order):
        notes.append("cells were out of order: put back in the released order")
    for i, cell in enumerate(rel):
        role, gid, kind, j = _role(cell), _nbg(cell).get("grade_id"), cell.get("cell_type"), match.get(i)
        was = sub[j].get("cell_type") if j is not None else None
        if gid in HELPER_CELLS:
            continue   # the checks' hidden helpers come from the source notebook: the learner's copy changes nothing
        if role == "solution" and j is None:
            notes.append(f"exercise {gid} not found in the submission; graded as not done")
        elif role == "solution" and was != kind:
            notes.append(f"exercise {gid} had been turned into {was}: run as {kind}")
        elif role in LABEL and j is None:
            notes.append(f"{LABEL[role]} {gid} was missing: restored from the release")
        elif role in LABEL:
            if was != kind:
                notes.append(f"{LABEL[role]} {gid} had been turned into {was}: restored as {kind}")
            if _norm(sub[j]) != _norm(cell):
                notes.append(f"{LABEL[role]} {gid} was edited: the released version was run")
    return notes


def _copy_of_check(cell: NotebookNode, rel: list[NotebookNode]) -> str | None:
    """The grade_id of the check a learner's code cell copies (or an edited copy of), if any."""
    if cell.get("cell_type") != "code":
        return None
    checks = [c for c in rel if _role(c) == "test"]
    if any(_nbg(cell).get("grade_id") == _nbg(c)["grade_id"] for c in checks):
        return _nbg(cell)["grade_id"]
    best = max(checks, key=lambda c: _edited_copy(_norm(c), _norm(cell)), default=None)
    return _nbg(best)["grade_id"] if best is not None and _edited_copy(_norm(best), _norm(cell)) >= EDITED else None


def _repair(submitted: NotebookNode, released: NotebookNode) -> tuple[NotebookNode, list[str]]:
    rel, sub = list(released.get("cells", [])), list(submitted.get("cells", []))
    match = _match(rel, sub)
    if any(c.get("cell_type") == "code" for c in rel) and not any(rel[i].get("cell_type") == "code" for i in match):
        return _fresh(released, ["none of the released notebook's exercises or checks were found in the submission: "
                                 "graded as handed out, with no exercise done"])
    notes = _notes(rel, sub, match)
    # The learner's own cells: drop code copies of a check, keep the rest after the nearest matched cell above.
    owner = {j: i for i, j in match.items()}
    ids = {c.get("id") for c in rel}
    after: dict[int, list[NotebookNode]] = {}
    dropped: dict[str, int] = {}
    for j, cell in enumerate(sub):
        if j in owner:
            continue
        if (check := _copy_of_check(cell, rel)) is not None:
            dropped[check] = dropped.get(check, 0) + 1
            continue
        extra = _blank_outputs(copy.deepcopy(cell))
        extra.setdefault("metadata", {}).pop("nbgrader", None)
        extra["id"] = next(f"learner-{n}" for n in range(len(ids), 2 * len(ids) + 2) if f"learner-{n}" not in ids)
        ids.add(extra["id"])
        above = [k for k in owner if k < j]
        after.setdefault(owner[max(above)] if above else -1, []).append(extra)
    notes += [f"removed {'a duplicate' if n == 1 else f'{n} duplicates'} of test cell {check}"
              for check, n in dropped.items()]

    cells = list(after.get(-1, []))
    for i, cell in enumerate(rel):
        out = _blank_outputs(copy.deepcopy(cell))
        if i in match and _role(cell) in ("solution", "code"):
            out["source"] = _text(sub[match[i]])
        out["id"] = out.get("id") or f"released-{i}"
        cells.append(out)
        cells.extend(after.get(i, []))
    return nbformat.v4.new_notebook(metadata=copy.deepcopy(released.get("metadata", {})), cells=cells), notes
