"""The trusted side of grading: every graded check runs here, in the grading worker, never in the
learner's kernel. Only values cross (wire.py, rpc.py).

For one notebook, the checker holds a namespace made from the release's own locked cells (`setup`,
`earlier_pieces`, ...: trusted copies, whatever the learner did to theirs) and the reference solutions
of the notebook's exercises. When check C of exercise E runs, the names it uses are bound as follows:

- names that exercise E defines (`split_heads`): the learner's, as a value (a string, an array) or a
  `Remote` (a function, a class, a module) whose calls run in the learner's kernel and return values;
- names that another exercise of the notebook defines (`head_dim`): the reference solution, here; and in
  the learner's kernel, for the time of the check, the learner's own earlier exercises are swapped for
  the reference too (a call back to this process), so that one mistake costs points once; a check that
  fails so may pass with the learner's own earlier exercises instead (`Checker.run`);
- names of the release's locked cells, of the notebook's shared check helpers and of earlier checks: this
  namespace's own;
- nothing else: a check never reads a variable of the learner's notebook (the data a check uses comes
  from the release's cells or from the check itself, so a learner can't change a check's inputs).

Helpers that several checks of a notebook use (`mha_cases_`, `sm_`) are defined once, in a locked grade cell
of 0 points (`HELPER_CELLS`) whose code is all hidden tests: they run here, from the source notebook, once per
notebook, before any check. That cell is never run in the learner's kernel and is not a check: it has no
verdict and no score of its own. (In plain nbgrader, `export-nbgrader`, it runs in the kernel like any test
cell, before the checks that use it.)

A check passes when its code runs to the end; its message is the exception it raised. Nothing is read
from the learner's outputs. Checks in `LEARNER_SIDE` ask *how* the learner computed something and can
only be answered by the learner's process: they still run in the kernel (see the README).
"""
from __future__ import annotations

import ast
import contextlib
import inspect
import io
import types
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nbformat

from . import mirror, rpc

#: Locked cells of the release whose definitions the checks use (run here, statement by statement).
TRUSTED_CELLS = ("setup", "earlier_pieces", "torch_pieces", "sentence", "fake_gpu", "head_outputs", "model_pieces")
#: Checks of *how* a learner computed something: they run in the learner's kernel (small in points).
LEARNER_SIDE = frozenset({"check_sdpa_mha_fused", "check_module_grad", "check_layer_norm_gradients",
                          "check_block_gradients", "check_lm_loss_gradients"})
#: Locked 0-point grade cells holding the hidden helpers of a notebook's checks (run here once, never in the
#: kernel; no check of their own). A `LEARNER_SIDE` check can't use them: they are not in the learner's kernel.
HELPER_CELLS = frozenset({"check_helpers"})

#: the most characters of a check's message (and of the learner's traceback) and of what it printed that are kept:
#: a message can show a learner's value, and one reply of 1 MB made a 50 MB message (a 50 MB grades.csv)
MAX_MESSAGE, MAX_PRINTED = 4_000, 20_000


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f" [... {len(text) - limit:,} more characters cut]"


@dataclass
class Check:
    grade_id: str
    code: types.CodeType          # its source, compiled once (a catalogue runs each check hundreds of times)
    exercise: frozenset[str]      # names the exercise under test defines


@dataclass
class Spec:
    """What the checker needs of one notebook, read once from its source (solutions) notebook."""
    trusted: list[ast.stmt] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    exercise_names: dict[str, int] = field(default_factory=dict)    # name -> position of its exercise
    checks: dict[str, Check] = field(default_factory=dict)
    helpers: list[str] = field(default_factory=list)     # sources of the HELPER_CELLS, in order


def defined_names(tree: ast.Module) -> set[str]:   # the names a cell's top-level statements bind
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


@lru_cache(maxsize=32)
def load_spec(source_notebook: str, mtime: float) -> Spec:
    """The checks of a source notebook (with solutions and hidden tests), in order."""
    nb = nbformat.read(source_notebook, as_version=4)
    spec = Spec()
    current: frozenset[str] = frozenset()
    for position, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        tree = ast.parse(cell.source)
        if meta.get("grade") and meta.get("grade_id") in HELPER_CELLS:
            spec.helpers.append(cell.source)
        elif meta.get("grade"):
            gid = meta["grade_id"]
            spec.checks[gid] = Check(gid, compile(tree, f"<{gid}>", "exec"), current)
        elif meta.get("solution"):
            current = frozenset(defined_names(tree))
            spec.references.append(cell.source)
            for name in current:
                spec.exercise_names[name] = position
        elif meta.get("locked") and meta.get("grade_id") in TRUSTED_CELLS:
            spec.trusted.extend(tree.body)
    return spec


def spec_for(source_notebook: Path) -> Spec:
    return load_spec(str(source_notebook), source_notebook.stat().st_mtime)


def _run_tolerant(statements: list[ast.stmt], ns: dict) -> None:
    """Run the release's locked cells here, one statement at a time: a statement that needs the
    learner's notebook (a demonstration on a trained model) is skipped; its definitions are kept."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for statement in statements:
            try:
                exec(compile(ast.Module([statement], []), "<release>", "exec"), ns)
            except Exception:   # noqa: BLE001,S112 - a demonstration that needs the learner's state
                continue


def _record_init(ns: dict) -> None:
    """Trusted nn.Module classes remember their constructor arguments, so that an instance can be sent
    to the learner's kernel by value (class name, arguments, state) and rebuilt there."""
    torch = ns.get("torch")
    for value in list(ns.values()) if torch is not None else []:
        if isinstance(value, type) and issubclass(value, torch.nn.Module) and "__init__" in vars(value) \
                and not getattr(value.__init__, "_mha_records", False):
            original = value.__init__

            def __init__(self, *args, _original=original, **kwargs):
                _original(self, *args, **kwargs)
                self._mha_init = (list(args), dict(kwargs))
            __init__._mha_records = True
            value.__init__ = __init__


class TrustedPeer(rpc.Peer):
    """The checker's end: learner objects are `Remote`s; trusted modules go across by value."""

    def __init__(self, sock):
        super().__init__(sock, kind="your", on_module=self._module_node)

    @staticmethod
    def _module_node(obj, enc):
        """A trusted module goes across as something the learner's kernel rebuilds (after the call, its
        state comes back): a course class by name, constructor arguments and state; a PyTorch class pickled
        (trusted data, unpickled in the learner's process only)."""
        if not hasattr(obj, "state_dict"):
            return None
        init = getattr(obj, "_mha_init", None)
        if init is not None:
            return {"t": "module", "cls": type(obj).__name__, "init": enc([init[0], init[1]]),
                    "state": enc(dict(obj.state_dict())), "training": bool(getattr(obj, "training", True))}
        if type(obj).__module__.startswith("torch."):
            import torch
            data = io.BytesIO()
            torch.save(obj, data)
            return {"t": "module", "pickle": enc(data.getvalue())}
        return None

    def apply_sync(self, states, sent):
        after, frozen = states.pop("args", None), states.pop("frozen", None)
        if sent is not None and type(after) is list and len(after) == 2:
            mirror.copy_back(sent[1:], after)
        for number, state in states.items():
            module = self.objects.get(number) if type(number) is int else None
            if module is None and type(number) is str and number.isdigit():
                module = self.objects.get(int(number))
            if module is not None and hasattr(module, "load_state_dict") and type(state) is dict:
                mirror.load_module(module, state, frozen.get(str(number)) if type(frozen) is dict else None)

    def handle(self, op, args):
        """The learner's kernel may only *call* what the checker gave it (a reference solution, a check's
        `loss_fn`, a pretend GPU's methods): no attributes, items or copies of the checker's objects, which
        would reach the grader's builtins, modules and gradebook."""
        if op == "call" and len(args) == 3 and isinstance(args[0], CALLABLE) and not isinstance(args[0], rpc.Remote) \
                and type(args[1]) is list and type(args[2]) is dict:
            return args[0](*args[1], **args[2])
        raise PermissionError(f"the grader's objects can only be called, not used with {str(op)[:20]!r}")


#: What learner code may call on the checker's side: plain functions and bound methods, nothing else.
CALLABLE = (types.FunctionType, types.MethodType)


@dataclass
class Outcome:
    passed: bool
    output: str = ""              # what the check printed
    ename: str = ""
    evalue: str = ""
    learner_trace: str = ""       # the learner's own frames, when the learner's code raised
    learner_output: str = ""      # what the learner's code printed while the check ran


class Checker:
    """The trusted namespace of one notebook's grading run; `run` one check at a time, in order."""

    def __init__(self, spec: Spec) -> None:
        self.spec, self.refused = spec, set()   # refused: the course's functions that raised in this run
        self.ns: dict = {"__name__": "__main__"}
        _run_tolerant(spec.trusted, self.ns)
        _record_init(self.ns)
        self.refs = dict(self.ns)
        for source in spec.references:
            _run_tolerant(ast.parse(source).body, self.refs)
        _record_init(self.refs)
        # The shared helpers of the checks: trusted code (hidden tests) of the source notebook, in this namespace.
        # Unlike the locked cells, not statement by statement: a helper that fails is the course's bug.
        for source in spec.helpers:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                exec(compile(source, "<check_helpers>", "exec"), self.ns)

    def bind(self, check: Check, peer: TrustedPeer) -> dict:
        """Bind the check's names (see the module's docstring); returns the learner's names to swap."""
        swap = {}
        position = min((self.spec.exercise_names.get(n, 1 << 30) for n in check.exercise), default=1 << 30)
        for name, where in self.spec.exercise_names.items():
            ref = self.refs.get(name)
            if name not in check.exercise and where < position and isinstance(ref, types.FunctionType):
                swap[name] = ref
        # Every exercise name is bound anew, used by the check directly or not: a trusted class (08's
        # `LayerNorm`) looks up `layer_norm` when it runs, and must find this check's binding, never one
        # left by an earlier check (a Remote of a closed connection).
        for name in sorted(self.spec.exercise_names):
            if name in check.exercise:
                self._from_learner(name, peer)
            elif name in self.refs:
                self.ns[name] = self.refs[name]
            else:
                self.ns.pop(name, None)
        return swap

    def _noting(self, name: str, ref):
        """`ref`, noting in `self.refused` a call with arguments it doesn't take."""
        signature = inspect.signature(ref)
        def course_function(*args, **kwargs):
            try:
                signature.bind(*args, **kwargs)
            except TypeError:
                self.refused.add(name)
            return ref(*args, **kwargs)
        return course_function

    def _from_learner(self, name: str, peer: TrustedPeer) -> None:
        try:
            self.ns[name] = peer.request("get", name)
        except NameError:
            self.ns.pop(name, None)

    def run(self, grade_id: str, peer: TrustedPeer) -> Outcome:
        """Run one check with the reference's earlier exercises in the kernel, then, if it failed so, with the learner's
        own, which counts if the swap caused the failure: a course function got arguments it doesn't take, or the check
        fails a third time with the reference's (not code that fails its first calls only, passing any later run)."""
        outcome, swapped = self._run(grade_id, peer, swap=True)
        if outcome.passed or not swapped:
            return outcome
        refused = sorted(self.refused)
        peer.request("unswap")
        own, _ = self._run(grade_id, peer, swap=False)
        if own.passed and (refused or not self._run(grade_id, peer, swap=True)[0].passed):
            return own
        if refused:   # the learner's own function takes those arguments: say why they were refused
            names = " and ".join(refused)
            outcome.evalue = _cut(f"{outcome.evalue} (while this check ran, your {names} was the course's {names}, so "
                                  "a mistake there costs points once: call it as its exercise says)", MAX_MESSAGE)
        return outcome

    def _run(self, grade_id: str, peer: TrustedPeer, swap: bool) -> tuple[Outcome, bool]:
        check = self.spec.checks[grade_id]
        printed = io.StringIO()
        swapped, self.refused = False, set()
        try:
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
                earlier = self.bind(check, peer)
                if earlier and swap:
                    peer.request("swap", {name: self._noting(name, ref) for name, ref in earlier.items()})
                    swapped = True
                exec(check.code, self.ns)
        except rpc.RemoteError:
            raise
        except BaseException as err:   # noqa: BLE001 - a failed check is an outcome, not a crash
            if isinstance(err, KeyboardInterrupt):
                raise
            return Outcome(False, _cut(printed.getvalue(), MAX_PRINTED), type(err).__name__, _cut(str(err), MAX_MESSAGE),
                           _cut(str(getattr(err, "remote_traceback", "")), MAX_MESSAGE)), swapped
        return Outcome(True, _cut(printed.getvalue(), MAX_PRINTED)), swapped
