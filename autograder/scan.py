"""A static scan of the code a learner wrote, for code that may be trying to cheat the grader.

It only flags (the `flags` column of grades.csv and the class report); it never changes a score. A flag
means "a person should look", not "this is cheating": `import os` is usually harmless.
"""
from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import nbformat

#: Names whose attributes a learner has no reason to assign: patching them can fake a passing check.
PATCHABLE = {"np", "numpy", "torch", "builtins", "__builtins__", "math", "sys", "unittest", "pytest",
             "IPython", "nbgrader", "testing", "npt"}
RISKY_MODULES = {"os", "subprocess", "ctypes", "socket", "shutil", "multiprocessing", "signal", "urllib",
                 "requests", "http", "sqlite3", "pty", "gc", "inspect", "builtins", "importlib", "pickle",
                 "threading", "asyncio", "resource", "mmap", "sysconfig", "IPython"}
IPYTHON_HOOKS = {"ast_transformers", "input_transformers_post", "input_transformers_cleanup",
                 "input_transformer_manager", "set_custom_exc", "showtraceback", "showsyntaxerror",
                 "run_cell", "run_ast_nodes", "events", "register_magic_function", "user_expressions",
                 "excepthook", "settrace", "setprofile", "addaudithook", "_showtraceback"}
FILE_READERS = {"open", "read_text", "read_bytes", "loadtxt", "genfromtxt", "fromfile", "listdir", "scandir",
                "walk", "glob", "iglob", "rglob", "connect"}
DYNAMIC = {"exec", "eval", "compile", "__import__", "globals"}   # setattr: only on PATCHABLE names
#: How a check watches the PyTorch calls a learner's function makes (a TorchFunctionMode): code that looks for it
#: can behave one way while watched and another way while not
MODE_WORDS = ("mode_stack", "function_mode", "dispatch_mode", "torch_function")
#: What an exercise asks the learner to write instead of calling: {its grade_id: the library's names for it}.
#: The values are right either way, so no check can tell; the flag asks a person to look.
REPLACED = {"layer_norm": {"layer_norm", "LayerNorm"}}


def _root(node: ast.AST) -> str | None:
    """`np` for `np.testing.assert_allclose`."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    if isinstance(node, ast.Call):
        return _root(node.func)
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # noqa: BLE001 - unparse of odd nodes
        return "?"


def _always_true(fn: ast.AST) -> bool:
    """A function (or lambda) whose every return is a constant: `def __eq__(self, other): return True`."""
    if isinstance(fn, ast.Lambda):
        return isinstance(fn.body, ast.Constant)
    returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return)]
    return bool(returns) and all(isinstance(r.value, ast.Constant) for r in returns)


def scan_code(tree: ast.AST) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                if isinstance(t, (ast.Attribute, ast.Subscript)) and _root(t) in PATCHABLE:
                    found.append(f"patches {_dotted(t)}")
                if isinstance(t, ast.Attribute) and t.attr in IPYTHON_HOOKS:
                    found.append(f"replaces {_dotted(t)}")
        elif isinstance(node, ast.Attribute) and node.attr in IPYTHON_HOOKS:
            found.append(f"uses {_dotted(node)}")
        elif isinstance(node, (ast.Attribute, ast.alias)) and any(
                w in (node.attr if isinstance(node, ast.Attribute) else node.name).lower() for w in MODE_WORDS):
            found.append(f"inspects PyTorch's function modes ({_dotted(node)})")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"imports {n}" for n in names if n.split(".")[0] in RISKY_MODULES]
        elif isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
            if name in ("setattr", "delattr") and node.args and _root(node.args[0]) in PATCHABLE:
                found.append(f"patches {_dotted(node.args[0])} with {name}")
            elif name in FILE_READERS:
                found.append(f"reads files or sockets ({_dotted(fn)})")
            elif name in DYNAMIC:
                found.append(f"runs dynamic code ({name})")
            elif name in ("_exit", "kill", "fork", "system", "popen", "abort"):
                found.append(f"calls {_dotted(fn)}")
        elif isinstance(node, ast.ClassDef):
            bases = {_dotted(b) for b in node.bases}
            if bases & {"ast.NodeTransformer", "NodeTransformer", "ast.NodeVisitor"}:
                found.append(f"defines an AST transformer ({node.name})")
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    name, fn = item.name, item
                elif isinstance(item, ast.Assign) and isinstance(item.value, ast.Lambda):
                    name, fn = _dotted(item.targets[0]), item.value
                else:
                    continue
                if name in ("__eq__", "__ne__", "__bool__", "__lt__", "__gt__") and _always_true(fn):
                    found.append(f"class {node.name}: {name} always returns the same value")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                "gradebook" in node.value or "solutions/" in node.value or "HIDDEN TESTS" in node.value):
            found.append(f"mentions {node.value[:40]!r}")
        elif isinstance(node, ast.Name) and node.id == "Assert" or (
                isinstance(node, ast.Attribute) and node.attr == "Assert"):
            found.append("refers to ast.Assert (strips asserts?)")
    return found


def _library_calls(tree: ast.AST, names: set[str]) -> list[str]:
    """`F.layer_norm` for each call of a library's function named in `names` (`torch.nn.functional.layer_norm(...)`,
    `nn.LayerNorm(...)`), or import of one (`from torch.nn.functional import layer_norm`)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in names:
            found.append(_dotted(node.func))
        elif isinstance(node, ast.ImportFrom):
            found += [f"{node.module}.{a.name}" for a in node.names if a.name in names]
    return found


def _python(source: str) -> str:
    """The cell as plain Python: IPython magics (`%timeit`, `!ls`) become calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - keep the raw source
        return source


def own_cells(nb: nbformat.NotebookNode, released: Iterable[str]) -> list[tuple[str, str]]:
    """[(label, source)] of the code cells the learner wrote or changed: not locked test cells, not
    cells left exactly as released."""
    same = {s.strip() for s in released}
    cells = []
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        meta = meta if isinstance(meta, dict) else {}
        source = cell.get("source", "")
        source = source if isinstance(source, str) else "".join(map(str, source))
        if cell.get("cell_type") != "code" or meta.get("grade") or source.strip() in same:
            continue
        cells.append((str(meta.get("grade_id") or f"cell {i + 1}"), source))
    return cells


def scan_notebook(nb: nbformat.NotebookNode, released: Iterable[str] = ()) -> list[str]:
    """Flags for one submission, e.g. ["head_dim: patches np.allclose"]; [] when nothing looks odd."""
    flags: list[str] = []
    for label, source in own_cells(nb, released):
        cell = label if label.startswith("cell ") else f"cell {label}"
        try:
            tree = ast.parse(_python(source))
            found = [f"{label}: {finding}" for finding in scan_code(tree)]
            found += [f"{label}: calls {name} (the exercise asks for its own code)"
                      for name in _library_calls(tree, REPLACED.get(label, set()))]
        except SyntaxError:
            continue
        except (RecursionError, MemoryError):   # `1+1+...` 100,000 terms: the parser gives up, so does the scan
            found = [f"could not scan {cell} (too deeply nested)"]
        except Exception as err:  # noqa: BLE001 - e.g. ValueError for a null byte; one cell never stops a batch
            found = [f"could not scan {cell} ({type(err).__name__}: {str(err)[:80]})"]
        for flag in found:
            if flag not in flags:
                flags.append(flag)
    return flags


def released_sources(*paths: Path) -> list[str]:
    """Sources of the code cells of the released notebook(s) that exist among `paths`."""
    return [c.source for p in paths if p.exists()
            for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code"]
