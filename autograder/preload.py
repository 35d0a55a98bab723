"""What a grading worker's kernel template imports before it forks kernels (forkserver.py, zygote.py)."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterable

import nbformat

#: Modules that an imported module loads on first use, not at import: PyTorch's optimizers and some torch.nn
#: functions import torch._dynamo (and with it sympy), about a second of CPU in every kernel of notebooks 04,
#: 06 and 08 unless the template has it.
ON_FIRST_USE = {"torch.nn": ("torch._dynamo",)}


def imports_of(notebooks: Iterable[Path], first_use: bool = True) -> list[str]:
    """The modules the code cells of `notebooks` import at top level (`import a.b`, `from a.b import c`), and
    (`first_use`) what those load on first use (ON_FIRST_USE)."""
    found: set[str] = set()
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, ast.Import):
                    found.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.add(node.module)
    for module, later in ON_FIRST_USE.items():
        if first_use and module in found:
            found.update(later)
    return sorted(found)
