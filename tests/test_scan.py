"""Tampering: the static scan flags it, the guard undoes it, and it earns no points."""
import ast
import csv

import nbformat
import pytest

from autograder import grading, results, samples, scan
from autograder.sandbox import Limits
from conftest import NOTEBOOKS

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
# Defeats the guard (its answer is faked with the nonce it is given), then strips every assert and raise.
FAKE_GUARD = '''
import sys
sys.modules["_mha_grader_guard"].run = lambda nonce: "%s []" % nonce
''' + STRIP
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


@pytest.fixture(scope="module")
def tampered(tmp_path_factory):
    root = tmp_path_factory.mktemp("tamper")
    subs = root / "submissions"
    cases = {
        "a_plain_wrong": {"head_dim": WRONG_HEAD_DIM, "split_heads": WRONG_SPLIT},
        "b_strips_asserts": {"head_dim": STRIP + WRONG_HEAD_DIM, "split_heads": WRONG_SPLIT},
        "c_patches_allclose": {"head_dim": PATCH + WRONG_HEAD_DIM, "split_heads": WRONG_SPLIT},
        "d_swallows_errors": {"head_dim": SWALLOW + WRONG_HEAD_DIM, "split_heads": WRONG_SPLIT},
        "e_always_equal": {"head_dim": ALWAYS_EQUAL, "split_heads": WRONG_SPLIT},
        "g_fakes_guard": {"head_dim": FAKE_GUARD + WRONG_HEAD_DIM, "split_heads": WRONG_SPLIT},
        "f_prints_history": {"split_heads": samples.reference_answers(NB)["split_heads"]
                             + "\nprint('\\n'.join(In))\nprint('\\n'.join(_ih))\n"},
        "z_correct": {},
    }
    for student, answers in cases.items():
        samples.write_submission(subs, student, NB, samples.fill(NB, answers))
    out = root / "out"
    graded = grading.grade(subs, out, cell_timeout=30, progress=False, jobs=2,
                           limits=Limits(notebook_timeout=300, memory_mb=2048))
    results.write_all(graded, out)
    return {r.student_id: r for r in graded}, out


@pytest.mark.parametrize("student", ["b_strips_asserts", "c_patches_allclose", "d_swallows_errors"])
def test_tampering_earns_nothing(tampered, student):
    rows, _ = tampered
    plain, cheat = rows["a_plain_wrong"], rows[student]
    assert cheat.score == plain.score < plain.max_score, (cheat.score, cheat.failed)
    assert set(cheat.failed) == set(plain.failed)


def test_a_kernel_that_fakes_the_guard_is_caught_by_the_canary(tampered):
    """With the guard's answer faked, asserts are stripped for real: the canary, judged outside the
    kernel, zeroes every test cell that ran after it and says why."""
    rows, _ = tampered
    plain, cheat = rows["a_plain_wrong"], rows["g_fakes_guard"]
    assert cheat.score == 0 < plain.score, (cheat.score, cheat.failed)
    assert "TamperedKernel" in cheat.failed["check_split_heads"]
    assert "the canary failed" in " | ".join(cheat.flags)


def test_tampering_is_flagged_statically_and_at_run_time(tampered):
    rows, out = tampered
    flags = {s: " | ".join(r.flags) for s, r in rows.items()}
    assert "head_dim: defines an AST transformer" in flags["b_strips_asserts"]
    assert "undid 1 AST transformer(s)" in flags["b_strips_asserts"]
    assert "head_dim: patches np.allclose" in flags["c_patches_allclose"]
    assert "undid numpy.allclose" in flags["c_patches_allclose"]
    assert "undid numpy.testing.assert_allclose" in flags["c_patches_allclose"]
    assert "undid custom exception handler" in flags["d_swallows_errors"]
    assert "__eq__ always returns the same value" in flags["e_always_equal"]
    assert flags["a_plain_wrong"] == flags["z_correct"] == ""
    with (out / "grades.csv").open() as f:
        csv_flags = {r["student_id"]: r["flags"] for r in csv.DictReader(f)}
    assert csv_flags == flags
    page = (out / "report.html").read_text()
    assert "Code flagged for a look" in page and "patches np.allclose" in page


def test_an_always_equal_object_fails_the_type_check(tampered):
    rows, _ = tampered
    assert "check_head_dim" in rows["e_always_equal"].failed
    assert "of type Anything" in rows["e_always_equal"].failed["check_head_dim"]


def test_the_correct_submission_is_untouched(tampered):
    rows, _ = tampered
    assert rows["z_correct"].status == "graded" and rows["z_correct"].score == rows["z_correct"].max_score


def test_later_cells_cannot_print_the_hidden_tests_from_history(tampered):
    import html

    from test_feedback import _hidden_snippets

    _, out = tampered
    page = html.unescape((out / "feedback" / "f_prints_history" / "01_projections.html").read_text())
    assert page.count("np.set_printoptions(precision=3") >= 2   # In and _ih were printed ...
    leaked = [s for s in _hidden_snippets(NB) if s in page]
    assert not leaked, leaked[:3]   # ... without the test cells


def test_no_correct_or_blank_notebook_is_flagged(batch):
    """The guard and the scan raise nothing on the solutions, the stubs or the catalogue's correct variants."""
    by_student, _, _ = batch
    rows = [r for s, rs in by_student.items() if s in ("solution", "blank") or s.startswith("correct-") for r in rs]
    assert rows
    flagged = {(r.student_id, r.notebook): r.flags for r in rows if r.flags}
    assert not flagged, flagged
