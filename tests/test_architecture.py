"""The layout that keeps `autograder/` easy to change: no import cycles, light data modules, small modules."""
import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "autograder"
LIGHT = ["outcome", "options", "results", "report", "progress", "errors", "paths"]
HEAVY = ["nbgrader", "nbclient", "nbconvert", "jupyter_client", "zmq", "torch"]


def _imports() -> dict[str, set[str]]:
    """{module: the package's modules it imports, at any depth of its code}."""
    found = {}
    for path in PACKAGE.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        found[path.stem] = deps
    return found


def test_no_module_imports_itself_through_others():
    graph = _imports()
    for start in graph:
        seen, todo = set(), list(graph[start])
        while todo:
            name = todo.pop()
            assert name != start, f"autograder.{start} imports itself through others: an import cycle"
            if name not in seen and name in graph:
                seen.add(name)
                todo.extend(graph[name])


def test_the_data_modules_import_nothing_heavy():
    code = (f"import sys; import {', '.join('autograder.' + m for m in LIGHT)}; "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


def test_every_module_stays_under_300_lines():
    long = {p.name: n for p in PACKAGE.glob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > 300}
    assert not long, f"split these modules by responsibility: {long}"


def test_the_one_private_api_we_override_is_still_there():
    """sandbox.SandboxKernelManager overrides jupyter_client's `_async_pre_start_kernel` to hand a forked kernel
    its template's provisioner (why: the comment there). If an upgrade renames it, forked kernels would
    silently start as fresh ones: this fails first."""
    import inspect

    from jupyter_client.manager import AsyncKernelManager

    source = inspect.getsource(AsyncKernelManager._async_pre_start_kernel)
    assert "if self.provisioner is None" in source and "create_provisioner_instance" in source
    assert "await self._async_pre_start_kernel(" in inspect.getsource(AsyncKernelManager._async_start_kernel)
