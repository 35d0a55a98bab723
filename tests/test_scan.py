"""The static scan flags code an instructor may want to read (it never changes a score; tests/test_tampering.py
shows that such code earns nothing)."""
import ast

import pytest

from autograder import samples, scan
from conftest import NOTEBOOKS, catalogue_files

NB = NOTEBOOKS[0]
WRONG_HEAD_DIM = "def head_dim(d_model, num_heads):\n    return d_model // num_heads\n"   # no divisibility check
WRONG_SPLIT = samples.SAMPLE_CLASS["ben"]["answers"]["split_heads"]                      # mixes tokens

STRIP = '''
import ast

class StripChecks(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
    def visit_Raise(self, node):
        return ast.Pass()

get_ipython().ast_transformers.append(StripChecks())
'''
PATCH = '''
import numpy as np
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
'''
ALWAYS_EQUAL = '''
class Anything:
    def __eq__(self, other):
        return True

def head_dim(d_model, num_heads):
    return Anything()
'''
SWALLOW = "get_ipython().set_custom_exc((AssertionError,), lambda *args, **kwargs: None)\n"
READ = "text = open('/etc/passwd').read()\n"


@pytest.mark.parametrize("source, words", [
    (PATCH, ["patches np.allclose", "patches np.testing.assert_allclose"]),
    (STRIP, ["defines an AST transformer (StripChecks)", "uses get_ipython().ast_transformers"]),
    (ALWAYS_EQUAL, ["class Anything: __eq__ always returns the same value"]),
    (SWALLOW, ["uses get_ipython().set_custom_exc"]),
    (READ, ["reads files or sockets (open)"]),
    ("import os, subprocess\nos._exit(1)\n", ["imports os", "imports subprocess", "calls os._exit"]),
    ("import ctypes, socket\n", ["imports ctypes", "imports socket"]),
    ("import builtins\nbuiltins.isinstance = lambda *a: True\n", ["patches builtins.isinstance"]),
    ("setattr(np, 'array_equal', lambda *a: True)\n", ["patches np with setattr"]),
    ("path = 'gradebook.db'\n", ["mentions 'gradebook.db'"]),
    # found by a helper: an sdpa_mha that calls SDPA only while a check watches (11/11): no check can see it
    ("import torch\nwatched = torch.overrides._get_current_function_mode_stack()\n",
     ["inspects PyTorch's function modes (torch.overrides._get_current_function_mode_stack)"]),
    ("from torch.overrides import _get_current_function_mode_stack as s\n",
     ["inspects PyTorch's function modes (_get_current_function_mode_stack as s)"]),
])
def test_scan_flags_suspicious_code(source, words):
    found = scan.scan_code(ast.parse(source))
    for w in words:
        assert w in found, found


def test_scan_leaves_ordinary_answers_and_released_cells_alone():
    answers = samples.reference_answers(NB)
    released = scan.released_sources(samples.COURSE / NB)
    assert scan.scan_notebook(samples.fill(NB), released) == []
    nb = samples.fill(NB, {"head_dim": "%timeit 1 + 1\n" + answers["head_dim"]})
    assert scan.scan_notebook(nb, released) == []
    nb = samples.fill(NB, {"head_dim": PATCH + answers["head_dim"]})
    assert scan.scan_notebook(nb, released)[0] == "head_dim: patches np.allclose"


def test_no_correct_or_blank_notebook_is_flagged(batch):
    """The scan raises nothing on the stubs or the catalogue's correct variants (nor on the solutions: the demo's
    ada, tests/test_cli.py): not on the rows graded whole, and, as grading scans them, not on any of them (most
    are graded at check level, which doesn't scan)."""
    by_student, _, _ = batch
    rows = [r for s, rs in by_student.items() if s == "blank" or s.startswith("correct-") for r in rs if r.flags]
    assert not rows, [(r.student_id, r.notebook, r.flags) for r in rows]
    flagged = {}
    for name in NOTEBOOKS:
        released = scan.released_sources(samples.COURSE / name)
        flagged[("blank", name)] = scan.scan_notebook(samples.fill(name, blank=True), released)
    for path in catalogue_files():
        cat = samples.load_catalogue(path)
        released = scan.released_sources(samples.COURSE / cat["NOTEBOOK"])
        for case in cat["CORRECT"]:
            flagged[(case["name"], cat["NOTEBOOK"])] = scan.scan_notebook(samples.fill(cat["NOTEBOOK"], case["answers"]),
                                                                          released)
    assert len(flagged) > 50 and not {k: v for k, v in flagged.items() if v}, {k: v for k, v in flagged.items() if v}


@pytest.mark.parametrize("answer, flag", [
    ("    return F.layer_norm(x, x.shape[-1:], gamma, beta, eps=eps)\n", "calls F.layer_norm"),
    ("    return torch.nn.functional.layer_norm(x, x.shape[-1:], gamma, beta, eps)\n",
     "calls torch.nn.functional.layer_norm"),
    ("    from torch.nn.functional import layer_norm as ln\n    return ln(x, x.shape[-1:], gamma, beta, eps)\n",
     "calls torch.nn.functional.layer_norm"),
    ("    norm = nn.LayerNorm(x.shape[-1], eps=eps)\n    return norm(x) * gamma + beta\n", "calls nn.LayerNorm"),
])
def test_an_exercise_answered_with_the_library_function_it_replaces_is_flagged(answer, flag):
    """Found by a helper attacking the grader: notebook 08's layer_norm that calls F.layer_norm (the exercise says
    not to) is right to the last bit, so it keeps its points; the flag tells the instructor."""
    name = "08_transformer_capstone.ipynb"
    released = scan.released_sources(samples.COURSE / name)
    head = "def layer_norm(x, gamma, beta, eps=1e-5):\n"
    assert scan.scan_notebook(samples.fill(name, {"layer_norm": head + answer}), released) == [
        f"layer_norm: {flag} (the exercise asks for its own code)"]

