"""`gradescope --out autograder.zip` builds a Gradescope autograder; its run_autograder grades a submission
laid out as Gradescope lays it out (a temporary root stands for /autograder) and writes results.json."""
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat

from autograder import gradescope, samples
from conftest import NOTEBOOKS

REPO = Path(__file__).resolve().parent.parent
NB1, NB2 = NOTEBOOKS[0], NOTEBOOKS[1]


def test_the_zip_has_gradescopes_scripts_at_its_top(tmp_path):
    out = gradescope.build(tmp_path / "autograder.zip")
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
    assert {"setup.sh", "run_autograder", "autograder/gradescope.py", f"solutions/{NB1}", f"course/{NB1}",
            "requirements-instructor.txt", "constraints.txt"} <= names
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert gradescope.build(tmp_path / "again.zip").read_bytes() == out.read_bytes()   # reproducible


def test_run_autograder_writes_results_json(tmp_path):
    done = subprocess.run([sys.executable, "-m", "autograder", "gradescope", "--out", str(tmp_path / "ag.zip"),
                           "--notebooks", "01,02"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "autograder"                       # stands for /autograder
    with zipfile.ZipFile(tmp_path / "ag.zip") as zf:
        zf.extractall(root / "source")                   # Gradescope unpacks the zip to /autograder/source
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    os.chmod(root / "run_autograder", 0o755)
    wrong = {"head_dim": "def head_dim(d_model, num_heads):\n    return d_model // num_heads\n"}
    (root / "submission").mkdir()
    nbformat.write(samples.fill(NB1, wrong), root / "submission" / NB1)      # 02 is not handed in
    (root / "submission" / "notes.txt").write_text("my notes")
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"email": "amy@example.org", "id": 7}]}))
    env = {**os.environ, "MHA_GRADESCOPE_ROOT": str(root), "MHA_PYTHON": sys.executable}
    done = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    result = json.loads((root / "results" / "results.json").read_text())
    tests = {t["name"]: t for t in result["tests"]}
    for t in result["tests"]:
        assert set(t) >= {"name", "score", "max_score", "output", "visibility"}
    head = tests["01_projections: check_head_dim"]
    assert (head["score"], head["max_score"], head["visibility"]) == (0, 2, "after_due_date")
    assert "divisible" in head["output"]                  # the message that names the mistake
    split = tests["01_projections: check_split_heads"]
    assert (split["score"], split["max_score"], split["output"]) == (3, 3, "")
    assert sum(t["max_score"] for name, t in tests.items() if name.startswith("01_projections: check")) == 8
    missing = tests["02_scaled_attention: not handed in"]
    assert (missing["score"], missing["max_score"], missing["visibility"]) == (0, 14, "visible")
    assert result["score"] == 6 and "notes.txt: not graded here" in result["output"]


def test_checks_without_hidden_tests_are_visible():
    from autograder.outcome import Result

    r = Result("amy", "04_output_projection.ipynb", 1, 2, "graded",
               cells={"check_module_grad": [1, 1], "check_module_forward": [0, 3]},
               failed={"check_module_forward": "AssertionError: you forgot W_O"})
    tests = {t["name"]: t for t in gradescope.results_json([r], ["04_output_projection.ipynb"], "hidden")["tests"]}
    assert tests["04_output_projection: check_module_grad"]["visibility"] == "visible"
    assert tests["04_output_projection: check_module_forward"]["visibility"] == "hidden"
    assert tests["04_output_projection: check_module_forward"]["output"] == "AssertionError: you forgot W_O"
