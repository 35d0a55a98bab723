"""Undo the common ways of faking a passing check, before every graded test cell runs.

At kernel start (before any student code) the grader snapshots `builtins`, `numpy` and `numpy.testing`
and IPython's hooks. Before each test cell it restores them: the AST and input transformers (an
assert-stripping transformer goes), event callbacks, custom exception handlers, patched methods of the
shell, `sys.excepthook`, and every snapshotted module attribute that was replaced (`np.allclose =
lambda *a, **k: True` goes); PyTorch's `allclose` / `equal` / `isclose` / `testing.assert_close` are
restored from their C implementations. What it had to undo comes back to the grader out of the kernel,
as a flag for the instructor, with a nonce that tells a live guard from a missing or faked one.

The guard runs through `user_expressions`, which IPython evaluates without AST transformers. Code
written against it (replacing the snapshot, faking the answer) can defeat it, so the grader does not
take a passing test cell on the kernel's word alone: right after it, the same kernel runs a *canary*,
a cell built like a test cell whose checks must all fail (random values, a fresh nonce). An honest
kernel answers with exactly one `AssertionError` naming the nonce and how many checks failed; anything
else (no error, another count, another message) means asserts, exceptions or comparisons are being
faked, and the test cell before it scores 0. The verdict is read and judged by the grader, outside the
kernel. The static scan (scan.py) flags, for the instructor, what such code needs.
"""
from __future__ import annotations

import ast
import json
import secrets

MODULE = "_mha_grader_guard"

SETUP = r'''
def _install():
    import builtins, sys, types
    import numpy, numpy.testing
    shell = get_ipython()
    snap = {m.__name__: dict(vars(m)) for m in (builtins, numpy, numpy.testing)}
    mods = {m.__name__: m for m in (builtins, numpy, numpy.testing)}
    events = {k: list(v) for k, v in shell.events.callbacks.items()}
    cleanup = list(shell.input_transformers_cleanup)
    compiler, flags, excepthook = shell.compile, shell.compile.flags, sys.excepthook
    methods = ("run_cell", "run_ast_nodes", "run_code", "showtraceback", "_showtraceback", "showsyntaxerror",
               "user_expressions")
    own = {n: vars(shell)[n] for n in methods if n in vars(shell)}
    trusted = ("matplotlib", "matplotlib_inline", "ipykernel", "IPython", "ipywidgets")

    def run(nonce):
        fixed = []
        for name, module in mods.items():
            now = vars(module)
            for key, value in snap[name].items():
                if now.get(key) is not value:
                    setattr(module, key, value)
                    fixed.append(f"{name}.{key}")
        if shell.ast_transformers:
            fixed.append(f"{len(shell.ast_transformers)} AST transformer(s)")
            shell.ast_transformers[:] = []
        if shell.input_transformers_post:
            fixed.append("input transformers")
            shell.input_transformers_post[:] = []
        if list(shell.input_transformers_cleanup) != cleanup:
            fixed.append("input cleanup transformers")
            shell.input_transformers_cleanup[:] = cleanup
        for key, value in shell.events.callbacks.items():
            keep = [f for f in value if f in events.get(key, [])
                    or str(getattr(f, "__module__", "")).startswith(trusted)]
            if keep != list(value):
                fixed.append(f"{key} callbacks")
                value[:] = keep
        if shell.custom_exceptions:
            fixed.append("custom exception handler")
            shell.set_custom_exc((), None)
        for key in methods:
            if vars(shell).get(key) is not own.get(key):
                fixed.append(f"shell.{key}")
                if key in own:
                    setattr(shell, key, own[key])
                else:
                    delattr(shell, key)
        if shell.compile is not compiler or shell.compile.flags != flags:
            fixed.append("the compiler")
            shell.compile, compiler.flags = compiler, flags
        if sys.excepthook is not excepthook:
            fixed.append("sys.excepthook")
            sys.excepthook = excepthook
        torch = sys.modules.get("torch")
        if torch is not None:
            for key in ("allclose", "equal", "isclose"):
                if getattr(torch, key) is not getattr(torch._C._VariableFunctions, key):
                    fixed.append(f"torch.{key}")
                    setattr(torch, key, getattr(torch._C._VariableFunctions, key))
            testing = sys.modules.get("torch.testing")
            compare = sys.modules.get("torch.testing._comparison")
            if testing and compare and testing.assert_close is not compare.assert_close:
                fixed.append("torch.testing.assert_close")
                testing.assert_close = compare.assert_close
        return "%s %s" % (nonce, __import__("json").dumps(fixed))

    sys.modules["_mha_grader_guard"] = types.SimpleNamespace(run=run)

_install()
del _install
'''


def setup_expression() -> str:
    return f"exec({SETUP!r}, {{'get_ipython': get_ipython}})"


def check_expression(nonce: str) -> str:
    return f"__import__('sys').modules[{MODULE!r}].run({nonce!r})"


def new_nonce() -> str:
    return secrets.token_hex(8)


def canary_value() -> float:
    return secrets.randbelow(10**6) / 1000 - 500


def read_reply(reply: dict, nonce: str) -> list[str]:
    """What the guard undid, from an execute_reply; a missing or wrong answer is itself a finding."""
    result = reply.get("content", {}).get("user_expressions", {}).get("guard", {})
    if result.get("status") != "ok":
        return [f"the grader's guard did not run ({result.get('ename', 'no answer')})"]
    text = result.get("data", {}).get("text/plain", "")
    try:
        text = ast.literal_eval(text)   # the repr of a str
        got, fixed = text.split(" ", 1)
        if got != nonce:
            return ["the grader's guard answered with the wrong nonce (faked)"]
        return [f"undid {f}" for f in json.loads(fixed)]
    except Exception:  # noqa: BLE001 - anything unexpected means someone changed the guard
        return [f"the grader's guard gave an unreadable answer ({text[:60]!r})"]


CANARY_FAILS = 7   # checks in CANARY that an honest kernel fails


def canary_source(nonce: str, value: float) -> str:
    """A cell like a test cell whose every check must fail; run after a passing test cell."""
    return f'''def _mha_canary_{nonce}():
    import sys
    import numpy
    a = numpy.full(3, {value!r})
    b = a + 0.5
    fails = 0
    try:
        assert numpy.allclose(a, b), "differs"
    except AssertionError:
        fails += 1
    try:
        assert numpy.array_equal(a, b), "differs"
    except AssertionError:
        fails += 1
    try:
        numpy.testing.assert_allclose(a, b)
    except AssertionError:
        fails += 1
    try:
        assert a.tolist() == b.tolist(), "differs"
    except AssertionError:
        fails += 1
    try:
        if a[0] != b[0]:
            raise AssertionError("differs")
    except AssertionError:
        fails += 1
    torch = sys.modules.get("torch")
    if torch is None:
        fails += 2
    else:
        try:
            assert torch.allclose(torch.as_tensor(a), torch.as_tensor(b)), "differs"
        except AssertionError:
            fails += 1
        try:
            torch.testing.assert_close(torch.as_tensor(a), torch.as_tensor(b))
        except AssertionError:
            fails += 1
    assert fails < 0, "canary {nonce} %d" % fails
try:
    _mha_canary_{nonce}()
finally:
    del _mha_canary_{nonce}
'''


def canary_verdict(outputs: list, nonce: str) -> str | None:
    """None when the canary's outputs are what an honest kernel gives; else what was wrong."""
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if not errors:
        return "a check that must fail passed (asserts or exceptions are being suppressed)"
    expected = f"canary {nonce} {CANARY_FAILS}"
    last = errors[-1]
    if last.get("ename") != "AssertionError" or last.get("evalue") != expected:
        got = f"{last.get('ename')}: {last.get('evalue', '')}"[:80]
        return f"the comparison functions gave wrong answers ({got!r} instead of the expected failure)"
    return None
