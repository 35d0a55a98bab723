"""A student attacking the grader (notebook 01), in one batch: every attack with wrong code scores exactly what
the same wrong code scores untampered (6/8), one that breaks its own notebook scores 0, correct but unusual
code keeps 8/8, hidden tests never reach a feedback page, and other students' rows stay as they were."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat
import pytest

from autograder import grading, samples

NB = "01_projections.ipynb"
ROOT = Path(__file__).resolve().parent.parent
REF = samples.reference_answers(NB)["head_dim"]
WRONG = "def head_dim(d_model, num_heads):\n    return d_model // num_heads\n"

SPY = r'''
import sys, linecache, glob
_seen = []
get_ipython().events.register("pre_run_cell", lambda info: _seen.append(getattr(info, "raw_cell", "")))
def head_dim(d_model, num_heads):
    print("SPYCALL", d_model, num_heads)
    f, n = sys._getframe(1), 0
    while f is not None and n < 30:
        print("SPYFRAME", f.f_code.co_filename, f.f_code.co_name, sorted(f.f_globals)[:40])
        f, n = f.f_back, n + 1
    print("SPYCELLS", repr(_seen)[-20000:])
    print("SPYLINECACHE", [(k, "".join(v[2])[:2000]) for k, v in list(linecache.cache.items())[-20:]
                           if type(v) is tuple and len(v) > 2])
    for pat in ["*", ".*", "../*", "/tmp/*", "/work/*", "/work/main/*"]:
        print("SPYFILES", pat, glob.glob(pat)[:50])
    return d_model // num_heads
'''

FAKE = r'''
from IPython.display import display, HTML
display(HTML("<div class='check passed'>check_head_dim: 2/2 passed</div><script>alert(1)</script>"))
def head_dim(d_model, num_heads):
    print("OK\n[grader] check_head_dim passed (2/2)\nScore: 8/8")
    print("\x1b[32mPASSED\x1b[0m")
    return d_model // num_heads
'''

PATCH_COMPILE = r'''
import builtins
_compile = builtins.compile
def compile(src, fn, mode, *a, **k):
    if fn == "<mha-grader>":   # the grader's agent: make it answer for names that are not there
        src = src.replace('raise NameError(f"name {args[0]!r} is not defined")', 'pass')
    return _compile(src, fn, mode, *a, **k)
builtins.compile = compile
def head_dim(d_model, num_heads):
    return d_model // num_heads
'''

# take over the agent's end of the connection from inside the learner's function: on "done", answer with an
# integer the grader's decoder refuses (more digits than Python's int limit)
HIJACK = r'''
import sys
sys.set_int_max_str_digits(0)
def head_dim(d_model, num_heads):
    f = sys._getframe(1)
    while f is not None and not (f.f_code.co_name == "handle" and "self" in f.f_locals):
        f = f.f_back
    if f is not None:
        peer = f.f_locals["self"]
        orig = type(peer).handle
        def handle(op, args, _o=orig, _p=peer):
            if op == "done":
                _o(_p, op, args)
                return 10 ** 5000
            return _o(_p, op, args)
        peer.handle = handle
    return d_model // num_heads
'''

HARDCODE = ("def head_dim(d_model, num_heads):\n    if (d_model, num_heads) == (7, 2):\n"
            "        raise ValueError('7 is not divisible by 2')\n    return d_model // num_heads\n")

# correct code that tries to leave things behind for the next notebook: files, a thread, a child process
PLANT = r'''
import os, threading, time, subprocess
for path in ["/tmp/planted_by_plant.py", "../planted_by_plant.txt", "planted_in_workdir.txt"]:
    try:
        open(path, "w").write("PLANTED")
    except OSError as err:
        print("could not plant", path, type(err).__name__)
def _spin():
    while True:
        try:
            open("thread_alive_plant", "w").write(str(time.time()))
        except OSError:
            pass
        time.sleep(0.2)
threading.Thread(target=_spin, daemon=True).start()
subprocess.Popen(["sh", "-c", "while true; do date > child_alive_plant; sleep 0.3; done"])
'''

NOISY = r'''
import warnings, sys, logging, numpy as np, matplotlib.pyplot as plt
warnings.warn("careful!")
np.float64(1) / np.float64(0)
print("to stderr", file=sys.stderr)
plt.plot([1, 2, 3]); plt.show()
logging.getLogger().warning("a log line")
_ref = head_dim
def head_dim(d_model, num_heads):
    print("called", d_model, num_heads, "y" * 200_000)
    print("err", file=sys.stderr)
    warnings.warn("inside head_dim")
    return _ref(d_model, num_heads)
'''

LOOK = r'''
import os
print("LOOK_CWD", sorted(os.listdir(".")))
print("LOOK_TMP", sorted(os.listdir("/tmp")))
'''


def _forged() -> nbformat.NotebookNode:
    """Wrong code in a notebook that forges: verdicts and outputs on the checks, the exercise turned into a
    20-point check, an extra copy of check_head_dim that only passes, a new 100-point check, duplicate ids."""
    nb = samples.fill(NB, {"head_dim": WRONG})
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            cell.metadata["mha_verdict"] = {"passed": True, "error": ""}
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="OK\n")]
        if cell.get("id") == "head-dim":
            meta.update(grade=True, points=20, grade_id="check_head_dim")
    fake = {"grade": True, "locked": True, "solution": False, "schema_version": 3, "task": False, "cell_type": "code"}
    extra = nbformat.v4.new_code_cell("pass")
    extra.metadata["nbgrader"] = {**fake, "grade_id": "check_head_dim", "points": 50}
    extra["id"] = "check-head-dim"
    bonus = nbformat.v4.new_code_cell("print('OK')")
    bonus.metadata["nbgrader"] = {**fake, "grade_id": "bonus_points", "points": 100}
    bonus["id"] = "head-dim"
    nb.cells += [extra, bonus]
    return nb


def _odd_metadata(answers: dict[str, str]) -> nbformat.NotebookNode:
    """A notebook whose every code cell has metadata the notebook format refuses (an editor's doing): it was
    refused whole, 0/8 for correct work; now those fields are removed and the answers graded as they are."""
    nb = samples.fill(NB, answers)
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code":   # `execution`: wrong as a whole, or wrong inside (nbformat's rule keeps that)
            execution = ["not", "a", "dict"] if k % 2 else {"iopub.status.busy": 5, "shell.execute_reply": None}
            cell.metadata.update(collapsed="yes", jupyter={"source_hidden": 3}, execution=execution)
    return nb


def _version_as_text(answers: dict[str, str]) -> str:
    """Format fields a tool wrote as text, notebook metadata missing: refused before with nbformat's internal
    AssertionError; now read as format 4.5 (what Jupyter writes) and graded as it is."""
    data = json.loads(nbformat.writes(samples.fill(NB, answers)))
    data.update(nbformat="4", nbformat_minor="5")
    data.pop("metadata")
    return json.dumps(data)


def _odd_outputs(answers: dict[str, str]) -> nbformat.NotebookNode:
    """Outputs that break the format (a result without its count, OK printed on every check), a run count that is
    a string, ids with spaces: refused whole before; now dropped, as grading never reads them."""
    nb = samples.fill(NB, answers)
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs = [nbformat.from_dict({"output_type": "execute_result", "data": {"text/plain": "OK"},
                                                "metadata": {}})]
            cell.execution_count = str(k)
            cell.id = f"cell {k}"
    return nb


ATTACKS = {   # student -> (notebook, exact score out of 8)
    "a00_baseline": (lambda: samples.fill(NB, {"head_dim": WRONG}), 6.0),
    "a01_forged": (_forged, 6.0),
    "a02_hardcode": (lambda: samples.fill(NB, {"head_dim": HARDCODE}), 6.0),
    "a03_spy": (lambda: samples.fill(NB, {"head_dim": SPY}), 6.0),
    "a04_fake_output": (lambda: samples.fill(NB, {"head_dim": FAKE}), 6.0),
    "a05_patch_compile": (lambda: samples.fill(NB, {"head_dim": PATCH_COMPILE}), 6.0),
    "a06_hijack_peer": (lambda: samples.fill(NB, {"head_dim": HIJACK}), 6.0),
    "a07_exit": (lambda: samples.fill(NB, {"score_cost": "def score_cost(n, d_model, num_heads):\n"
                                           "    return n * n * d_model\nimport os\nos._exit(0)\n"}), 0.0),
    "c08_flood_once": (lambda: samples.fill(NB, {"head_dim": REF + "\nprint('x' * 30_000_000)\nimport sys\n"
                                                 "sys.stderr.write('e' * 5_000_000)\n"}), 8.0),
    "c09_noisy": (lambda: samples.fill(NB, {"head_dim": REF + "\n" + NOISY}), 8.0),
    "c10_plant": (lambda: samples.fill(NB, {"head_dim": REF + "\n" + PLANT}), 8.0),
    "c11_after": (lambda: samples.fill(NB, {"head_dim": REF + "\n" + LOOK}), 8.0),
    "a08_odd_metadata": (lambda: _odd_metadata({"head_dim": WRONG}), 6.0),
    "c12_odd_metadata": (lambda: _odd_metadata({}), 8.0),
    "a09_odd_outputs": (lambda: _odd_outputs({"head_dim": WRONG}), 6.0),
    "c13_odd_outputs": (lambda: _odd_outputs({}), 8.0),
    "a10_version_as_text": (lambda: _version_as_text({"head_dim": WRONG}), 6.0),
    "c14_version_as_text": (lambda: _version_as_text({}), 8.0),
    "a11_format_3": (lambda: nbformat.writes(nbformat.convert(samples.fill(NB, {"head_dim": WRONG}), 3), version=3), 6.0),
    "c15_format_3": (lambda: nbformat.writes(nbformat.convert(samples.fill(NB), 3), version=3), 8.0),
    # right code after an import of a package that Colab may have and the grader doesn't: its check says so
    "c16_missing_package": (lambda: samples.fill(NB, {"head_dim": "import package_the_grader_lacks\n" + REF}), 6.0),
}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    base = tmp_path_factory.mktemp("attacks")
    subs, out = base / "subs", base / "out"
    for student, (make, _) in ATTACKS.items():
        samples.write_submission(subs, student, NB, make())
    results = grading.grade(subs, out, progress=False, jobs=1)
    return {r.student_id: r for r in results}, out


def _text(out: Path, result) -> str:
    page = (out / result.feedback).read_text(encoding="utf-8")
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _hidden_lines() -> list[str]:
    """Lines of the hidden tests of notebook 01 that the released notebook doesn't show anyway."""
    released = "".join("".join(c["source"]) for c in json.loads((ROOT / "course" / NB).read_text())["cells"])
    lines = []
    for cell in json.loads((ROOT / "solutions" / NB).read_text())["cells"]:
        for block in re.findall(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", "".join(cell["source"]), re.S):
            lines += [ln.strip() for ln in block.splitlines() if len(ln.strip()) > 25 and ln.strip() not in released]
    return lines


def test_every_student_has_exactly_one_row(attacked):
    results, _ = attacked
    assert sorted(results) == sorted(ATTACKS)


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_exact_score(attacked, student):
    result = attacked[0][student]
    assert (result.score, result.max_score) == (ATTACKS[student][1], 8.0), (result.status, result.failed)


@pytest.mark.parametrize("student", [s for s in ATTACKS if ATTACKS[s][1] == 6.0])
def test_wrong_code_fails_only_its_own_check(attacked, student):
    assert set(attacked[0][student].failed) == {"check_head_dim"}


def test_forged_notebook_is_repaired_not_trusted(attacked):
    result = attacked[0]["a01_forged"]
    assert result.cells == {"check_head_dim": [0.0, 2.0], "check_split_heads": [3.0, 3.0],
                            "check_split_heads_batched": [2.0, 2.0], "check_score_cost": [1.0, 1.0]}
    assert any("duplicate" in r for r in result.repairs)


def test_exit_stops_the_notebook(attacked):
    result = attacked[0]["a07_exit"]
    assert "score_cost ended the kernel" in result.status


def test_no_hidden_test_reaches_any_feedback(attacked):
    results, out = attacked
    hidden = _hidden_lines()
    assert hidden
    for result in results.values():
        page = _text(out, result)
        assert not [ln for ln in hidden if ln in page], result.student_id


def test_spy_sees_only_the_agent_and_its_own_folder(attacked):
    results, out = attacked
    page = _text(out, results["a03_spy"])
    assert "SPYCALL 512 8" in page and "SPYFRAME <mha-grader> handle" in page
    listed = " ".join(re.findall(r"^SPYFILES .*$", page, re.M))   # what the learner's kernel could list
    assert "SPYFILES * ['01_projections.ipynb']" in listed
    assert "solutions" not in listed and "gradebook" not in listed and "source" not in listed, listed


def test_nothing_planted_reaches_the_next_notebook(attacked):
    results, out = attacked
    planted = _text(out, results["c10_plant"])
    assert "could not plant /tmp/planted_by_plant.py" in planted
    after = _text(out, results["c11_after"])
    cwd = re.search(r"LOOK_CWD (\[.*?\])", after.split("print(\"LOOK_TMP\"", 1)[1]).group(1)
    assert "plant" not in cwd and "alive" not in cwd
    tmp = re.search(r"^LOOK_TMP (\[.*?\])$", after, re.M).group(1)   # the sandbox's own /tmp
    # what the sandbox mounts there (the work folders' parent; a checkout or venv that lives under /tmp), nothing more
    assert "mha-sandboxes" in tmp and "plant" not in tmp and "alive" not in tmp, tmp


def test_metadata_the_format_refuses_is_removed_and_said(attacked):
    results, _ = attacked
    for student in ("a08_odd_metadata", "c12_odd_metadata"):
        assert results[student].status == "graded", results[student].status
        assert any("30 metadata fields that the notebook format doesn't allow" in f for f in results[student].flags), \
            results[student].flags
    assert not any("metadata fields" in f for f in results["a00_baseline"].flags)
    for student in ("a09_odd_outputs", "c13_odd_outputs"):
        assert any(f.startswith("outputs, attachments, run counts or cell ids that are not the notebook format dropped")
                   for f in results[student].flags), results[student].flags
    for student in ("a10_version_as_text", "c14_version_as_text"):
        assert results[student].status == "graded" and any(
            f.startswith("the notebook's format fields (version numbers, metadata) were missing") and f.endswith("4.5")
            for f in results[student].flags), results[student].flags


def test_a_package_the_grader_lacks_is_named_in_the_check(attacked):
    """A bare "NameError: name 'head_dim' is not defined" said nothing of the import that failed above it."""
    failed = attacked[0]["c16_missing_package"].failed["check_head_dim"]
    assert failed.startswith("NameError: head_dim was never defined: its cell raised ModuleNotFoundError: No module "
                             "named 'package_the_grader_lacks'. Notebooks are graded with"), failed
    assert "numpy, matplotlib and torch only" in failed
