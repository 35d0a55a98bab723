"""Undo the common ways of faking a passing check, before every graded test cell runs.

At kernel start (before any student code) the grader snapshots `builtins`, `numpy` and `numpy.testing`
and IPython's hooks. Before each test cell it restores them: the AST and input transformers (an
assert-stripping transformer goes), event callbacks, custom exception handlers, patched methods of the
shell, `sys.excepthook`, and every snapshotted module attribute that was replaced (`np.allclose =
lambda *a, **k: True` goes); PyTorch's `allclose` / `equal` / `isclose` / `testing.assert_close` are
restored from their C implementations. What it had to undo comes back to the grader out of the kernel,
as a flag for the instructor, with a nonce that tells a live guard from a missing or faked one.

This raises the bar; it is not a proof. Code written against this guard (replacing the snapshot, or
faking `user_expressions`) can still defeat it; the static scan (scan.py) flags what such code needs.
The guard runs through `user_expressions`, which IPython evaluates without AST transformers.
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
