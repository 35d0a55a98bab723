"""Wrong-answer catalogues checked at the level of checks: one sandboxed kernel per notebook, not per case.

Grading a whole notebook per catalogue case re-runs every cell of it, trainings and timing sweeps
included, about 200 times. Here the reference solution runs once, as grading runs it (same executor,
sandbox, checker and limits), without the demonstration cells that no exercise or kernel-side check reads a
name of (`demonstrations`: the trainings, timings and plots). Then each case, in the same kernel, runs from
its first changed cell to the end of the notebook in order: its own answer cells, and every check (the
checker asks, the kernel answers), skipping the demonstration cells in between. Then the reference answers
are run again, and the next case starts. A kernel that a case stops (a timeout, a crash) is replaced, and
the reference run again.

This gives the verdicts whole-notebook grading gives because a check reads nothing of the kernel but its own
exercise's names (checker.py), and the earlier exercises are the reference during a check either way. The
one difference is when a name is read: here, after the whole notebook ran. So a case whose answer reads or
binds a name that a later cell binds, or that only a left-out demonstration binds, is graded as a whole
notebook instead (`needs_whole_notebook`), and
the tests compare both ways on a sample of cases. A name that only the reference answer binds (the case leaves
a question unanswered) is removed before the case runs, as a whole-notebook run never has it.
"""
from __future__ import annotations

import builtins
import copy
import functools
import symtable
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from . import checker, jail, samples, sandbox, workers
from .execute import SandboxedExecute
from .nbcourse import nbgrader_config
from .options import GradeOptions, Limits
from .outcome import STOPPED, Outcome, Result, error_line
from .paths import COURSE, SOLUTIONS
from .preload import imports_of

#: the session kernel runs the reference notebook and every case: no notebook time limit of its own
SESSION_LIMITS = Limits(notebook_timeout=24 * 3600)


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@functools.lru_cache(maxsize=4096)
def _names(source: str) -> tuple[frozenset[str], frozenset[str]]:
    """(globals the code reads but doesn't bind, names it binds at top level) of one cell's source (the catalogue
    asks this of the same cells hundreds of times)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        top = symtable.symtable("\n".join(lines), "<cell>", "exec")
    except SyntaxError:
        return frozenset(), frozenset()
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    read, tables = set(), [top]
    while tables:
        table = tables.pop()
        tables.extend(table.get_children())
        for sym in table.get_symbols():
            if sym.is_referenced() and (table is top or sym.is_global()):
                read.add(sym.get_name())
    return frozenset(read - bound - set(dir(builtins))), frozenset(bound)


def _runs_in_kernel(cell) -> bool:
    return cell.cell_type == "code" and not (_meta(cell).get("grade")
                                             and _meta(cell).get("grade_id") not in checker.LEARNER_SIDE)


def _as_graded(nb: nbformat.NotebookNode, notebook: str) -> nbformat.NotebookNode:
    """`nb` with its LEARNER_SIDE checks as grading runs them in the kernel: whole, hidden tests included (nbgrader
    puts the gradebook's source back; the release has only the visible part)."""
    whole = {_meta(c).get("grade_id"): c.source for c in samples.read_notebook(SOLUTIONS / notebook, copied=False).cells
             if _meta(c).get("grade_id") in checker.LEARNER_SIDE}
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if _meta(cell).get("grade_id") in whole:
            cell.source = whole[_meta(cell)["grade_id"]]
    return nb


@functools.lru_cache(maxsize=16)
def _demonstrations(sources: tuple[tuple[str, bool], ...]) -> frozenset[int]:
    """Indices of the code cells the reference run leaves out, of (source, is exercise or kernel-side check) per
    code cell (None for other cells): cells that bind no name that an exercise, a check run in the kernel or a
    cell kept for them reads. Every cell that binds a name they read is kept, so those names hold what grading
    gives them; a name a left-out cell binds is one no kept cell reads."""
    needed = {i for i, cell in enumerate(sources) if cell and cell[1]}
    reads = set().union(*(_names(sources[i][0])[0] for i in needed))
    grown = True
    while grown:
        grown = False
        for i, cell in enumerate(sources):
            if cell and i not in needed and _names(cell[0])[1] & reads:
                needed.add(i)
                reads |= _names(cell[0])[0]
                grown = True
    return frozenset(i for i, cell in enumerate(sources) if cell and i not in needed)


def demonstrations(base: nbformat.NotebookNode) -> frozenset[int]:
    """The cells of `base` (a notebook as graded) that the reference run leaves out (see `_demonstrations`).
    Checks that run in the checker read nothing of the kernel, so they keep no cell; they still run."""
    def role(cell) -> tuple[str, bool] | None:
        if cell.cell_type != "code" or _meta(cell).get("grade") and not _runs_in_kernel(cell):
            return None
        return cell.source, bool(_meta(cell).get("solution") or _meta(cell).get("grade"))
    return _demonstrations(tuple(role(cell) for cell in base.cells))


def _changed(base: nbformat.NotebookNode, case: nbformat.NotebookNode) -> list[int]:
    return [i for i, (a, b) in enumerate(zip(base.cells, case.cells)) if a.source != b.source]


def _names_of_case(base: nbformat.NotebookNode, case: nbformat.NotebookNode) -> tuple[set[str], set[str], set[str],
                                                                                       set[str]]:
    """(names the case's changed cells read or bind, names the reference answers bind that the case's don't,
    names the unchanged kernel cells after the first change bind, names every unchanged kernel cell binds)."""
    changed = _changed(base, case)
    touched: set[str] = set()
    stale: set[str] = set()
    for i in changed:
        read, bound = _names(case.cells[i].source)
        touched |= read | bound
        stale |= _names(base.cells[i].source)[1] - bound
    later: set[str] = set()
    others: set[str] = set()
    for i, cell in enumerate(base.cells):
        if i not in changed and _runs_in_kernel(cell):
            bound = _names(cell.source)[1]
            others |= bound
            if changed and i > changed[0]:
                later |= bound
    return touched, stale, later, others


def needs_whole_notebook(base: nbformat.NotebookNode, case: nbformat.NotebookNode) -> set[str]:
    """The names that make a check-level run differ from whole-notebook grading for this case: names its
    changed cells read or bind that a later cell run in the kernel binds too, or that a left-out demonstration
    binds; names they bind that another cell binds (running the reference answers again would not undo that for
    the cases after it); and names the reference answers bind that its answers don't, where another cell binds
    them too. Empty: check level is exact."""
    touched, stale, later, others = _names_of_case(base, case)
    left_out = set().union(*(_names(base.cells[i].source)[1] for i in demonstrations(base)))
    rebinds = set().union(*(_names(case.cells[i].source)[1] for i in _changed(base, case))) & others
    return (touched & (later | left_out)) | (stale & others) | rebinds


def unbound_names(base: nbformat.NotebookNode, case: nbformat.NotebookNode) -> set[str]:
    """Names that only the reference answers bind and the case's answers don't (an unanswered question): a
    whole-notebook run never has them, so the check-level run removes them before the case's cells run."""
    _, stale, _, others = _names_of_case(base, case)
    return stale - others


#: Run after each case: kernel-wide state that an answer's own cells may leave changed for the cases after it.
RESET = "__import__('sys').modules['torch'].set_grad_enabled(True) if 'torch' in __import__('sys').modules else None\n"


class Session:
    """One sandboxed kernel that has run the reference notebook, and runs cases in it."""

    def __init__(self, notebook: str, cell_timeout: int, isolation: str):
        self.notebook, self.stem = notebook, Path(notebook).stem
        self.base = _as_graded(samples.fill(notebook), notebook)
        self._tmp = tempfile.TemporaryDirectory(prefix="mha-checklevel-")
        # kernels forked from one template per process, which has imported what every course notebook imports
        options = GradeOptions(cell_timeout=cell_timeout, limits=SESSION_LIMITS, isolation=isolation)
        config = nbgrader_config(Path(self._tmp.name), options, imports_of(sorted(COURSE.glob("*.ipynb"))))
        config.SandboxedExecute.source_dir = str(SOLUTIONS)
        self.ep = SandboxedExecute(config=config)
        self.resources = {"unique_key": self.stem, "metadata": {"path": self._tmp.name}}
        self.points = {_meta(c)["grade_id"]: float(_meta(c).get("points", 0)) for c in self.base.cells
                       if _meta(c).get("grade") and c.cell_type == "code"
                       and _meta(c)["grade_id"] not in checker.HELPER_CELLS}
        self._kernel = None

    def __enter__(self) -> Session:
        self._context = self.ep.notebook(self.stem)
        self._context.__enter__()
        self._start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop_kernel()
        self._context.__exit__(*exc)
        self._tmp.cleanup()

    def _start(self) -> None:
        """A fresh kernel that has run the whole reference notebook as grading runs it."""
        NotebookClient.__init__(self.ep, copy.deepcopy(self.base))   # what ExecutePreprocessor.preprocess does
        self.ep.resources = self.resources
        self._kernel = self.ep.setup_kernel()
        self._kernel.__enter__()
        self.ep.wait_for_reply(self.ep.kc.kernel_info())
        self.ep.restart_budget()
        left_out = demonstrations(self.base)
        for index, cell in enumerate(self.ep.nb.cells):
            if index not in left_out:
                self.ep.preprocess_cell(cell, self.resources, index)
        failing = [gid for gid, o in self.ep.outcomes.items() if not o.passed]
        if self.ep.stopped or failing:
            raise RuntimeError(f"the reference solution of {self.notebook} does not pass: "
                               f"{self.ep.stopped or failing}")

    def _stop_kernel(self) -> None:
        if self._kernel is not None:
            self._kernel.__exit__(None, None, None)
            self._kernel = None

    def _run(self, cell, index: int):
        cell = copy.deepcopy(cell)
        self.ep.preprocess_cell(cell, self.resources, index)
        return cell

    def grade(self, student: str, case_nb: nbformat.NotebookNode) -> Result:
        """Run the case from its first changed cell on, score every check, then restore the reference."""
        case_nb = _as_graded(case_nb, self.notebook)
        changed = _changed(self.base, case_nb)
        first = changed[0] if changed else len(self.base.cells)
        self.ep.restart_budget()
        self.ep.outcomes.clear()
        if unbound := sorted(unbound_names(self.base, case_nb)):
            self._run(nbformat.v4.new_code_cell(f"for _name in {unbound!r}:\n    globals().pop(_name, None)\n"
                                                "del _name\n"), first)
        cells, failed = {}, {}
        for index, cell in enumerate(self.base.cells):
            meta = _meta(cell)
            if index in changed:
                self._run(case_nb.cells[index], index)
            elif meta.get("grade") and cell.cell_type == "code" and meta.get("grade_id") in checker.HELPER_CELLS:
                continue   # the checks' shared helpers: in the checker since it started, no check of their own
            elif meta.get("grade") and cell.cell_type == "code":
                points = float(meta.get("points", 0))
                if index < first:   # ran before anything changed: as in the reference run
                    cells[meta["grade_id"]] = [points, points]
                    continue
                done = self._run(cell, index)
                gid = meta["grade_id"]
                error = self._error(gid, done)
                cells[gid] = [0.0 if error else points, points]
                if error and points:
                    failed[gid] = error
            if self.ep.stopped:
                break
        total = sum(self.points.values())
        if self.ep.stopped:   # as grading scores a stopped notebook: 0, every check lost
            why = self.ep.stopped
            failed = {gid: failed.get(gid, f"{STOPPED}: {why}") for gid, m in self.points.items() if m}
            cells = {gid: [0.0, m] for gid, m in self.points.items()}
            self._stop_kernel()
            self._start()
            return Result(student, self.notebook, 0.0, total, f"graded; {why}", failed, cells,
                          outcome=Outcome.STOPPED)
        if changed:   # what a case's cells may have switched for the whole kernel (an answer leaving gradients off)
            self._run(nbformat.v4.new_code_cell(RESET), changed[0])
        for index in changed:   # the reference answers again, for the next case
            self._run(self.base.cells[index], index)
        return Result(student, self.notebook, sum(s for s, _ in cells.values()), total, "graded", failed, cells)

    def _error(self, gid: str, cell) -> str:
        outcome = self.ep.outcomes.get(gid)
        if outcome is not None:
            return "" if outcome.passed else f"{outcome.ename}: {outcome.evalue}"
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        return error_line(errors[-1]) if errors else ""


def grade_cases(notebook: str, answers: dict[str, dict[str, str]], cell_timeout: int = 60,
                isolation: str = "auto") -> list[Result]:
    """{student: their answers by solution grade_id} of one notebook, graded at check level in one kernel."""
    jail.set_notebook_env()   # as grading runs notebooks (grading.py)
    with Session(notebook, cell_timeout, sandbox.isolation(isolation)) as session:
        return [session.grade(student, samples.fill(notebook, case)) for student, case in answers.items()]


def _grade_notebook(notebook: str, answers: dict[str, dict[str, str]], cell_timeout: int, isolation: str):
    return grade_cases(notebook, answers, cell_timeout, isolation)


def _init_worker(parent: tuple[dict[str, str], str]) -> None:
    workers.adopt(*parent)


def grade_many(work: dict[str, dict[str, dict[str, str]]], jobs: int = 2, cell_timeout: int = 60,
               isolation: str = "auto") -> list[Result]:
    """{notebook: {student: answers}}, one session per notebook, `jobs` notebooks at once (the longest first) in
    worker processes; jobs=0, or one notebook: one after another in this process."""
    from concurrent.futures import ProcessPoolExecutor

    order = sorted(work, key=lambda nb: -len(work[nb]))
    if jobs <= 0 or len(order) <= 1:
        return [r for nb in order for r in grade_cases(nb, work[nb], cell_timeout, isolation)]
    ctx = workers.context(imports_of(sorted(COURSE.glob("*.ipynb")), first_use=False))
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(workers.here(jobs),)) as pool:
        futures = [pool.submit(_grade_notebook, nb, work[nb], cell_timeout, isolation) for nb in order]
        return [r for f in futures for r in f.result()]
