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
import pytest

from autograder import gradescope, samples
from conftest import NOTEBOOKS

REPO = Path(__file__).resolve().parent.parent
NB1, NB2 = NOTEBOOKS[0], NOTEBOOKS[1]
TORCH = next(line.removeprefix("torch==").strip() for line in (REPO / "requirements.txt").read_text().splitlines()
             if line.startswith("torch=="))


def test_the_zip_has_gradescopes_scripts_at_its_top(tmp_path):
    out = gradescope.build(tmp_path / "autograder.zip")
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
    assert {"setup.sh", "run_autograder", "autograder/gradescope.py", f"solutions/{NB1}", f"course/{NB1}",
            "requirements-instructor.txt", "constraints.txt"} <= names
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert gradescope.build(tmp_path / "again.zip").read_bytes() == out.read_bytes()   # reproducible


def _gradescope_folder(tmp_path: Path) -> Path:
    """A folder laid out as Gradescope lays out /autograder: the zip (expecting 01 and 02) in source/,
    run_autograder, and amy's upload: 01 with head_dim wrong, no 02, and a stray notes.txt."""
    done = subprocess.run([sys.executable, "-m", "autograder", "gradescope", "--out", str(tmp_path / "ag.zip"),
                           "--notebooks", "01,02"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "autograder"                       # stands for /autograder
    with zipfile.ZipFile(tmp_path / "ag.zip") as zf:
        zf.extractall(root / "source")                   # Gradescope unpacks the zip to /autograder/source
    for script in ("setup.sh", "run_autograder"):        # zipfile does not restore the modes
        os.chmod(root / "source" / script, 0o755)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    wrong = {"head_dim": "def head_dim(d_model, num_heads):\n    return d_model // num_heads\n"}
    (root / "submission").mkdir()
    nbformat.write(samples.fill(NB1, wrong), root / "submission" / NB1)      # 02 is not handed in
    (root / "submission" / "notes.txt").write_text("my notes")
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"email": "amy@example.org", "id": 7}]}))
    return root


def _run_autograder(root: Path, env: dict) -> dict:
    """Run root/run_autograder as Gradescope does; check and return results.json."""
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
    return result


def test_run_autograder_writes_results_json(tmp_path):
    root = _gradescope_folder(tmp_path)
    _run_autograder(root, {**os.environ, "MHA_GRADESCOPE_ROOT": str(root), "MHA_PYTHON": sys.executable})


def test_setup_sh_installs_the_cpu_build_of_torch():
    setup = gradescope.SETUP
    assert 'TORCH_INDEX="${MHA_TORCH_INDEX-https://download.pytorch.org/whl/cpu}"' in setup   # the default
    torch_line = next(line for line in setup.splitlines() if "install" in line and "torch==" in line)
    assert '--index-url "$TORCH_INDEX"' in torch_line      # torch alone, from that index only
    assert "-r requirements-instructor.txt -c constraints.txt" in setup


@pytest.mark.skipif(os.environ.get("MHA_SLOW") != "1",
                    reason="runs the zip's setup.sh for real: a fresh venv and every pinned package (over a minute); "
                           "MHA_SLOW=1 runs it")
def test_setup_sh_builds_the_image_run_autograder_grades_with(tmp_path):
    """The whole Gradescope flow: setup.sh from the zip makes its venv (from this Python, without its packages)
    and nbgrader's course; run_autograder then grades with that venv's Python, as on Gradescope."""
    root = _gradescope_folder(tmp_path)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "MHA_PYTHON", "MHA_CACHE", "VIRTUAL_ENV") and not k.startswith("MHA_GRADESCOPE")}
    env.update(MHA_GRADESCOPE_ROOT=str(root), MHA_SETUP_PYTHON=sys.executable,
               # torch from pip's own indexes here (this machine's CPU wheel), not download.pytorch.org
               MHA_TORCH_INDEX=os.environ.get("MHA_TORCH_INDEX", ""))
    try:
        done = subprocess.run([str(root / "source" / "setup.sh")], cwd=root, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        venv = root / "venv"
        assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()
        where = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys, nbgrader, torch; print(sys.prefix); "
                                "print(torch.__version__)"], env=env, capture_output=True, text=True, cwd=root)
        assert where.returncode == 0 and where.stdout.split()[0] == str(venv), where.stderr
        assert where.stdout.split()[1].startswith(TORCH)
        assert any((root / "cache").iterdir())            # nbgrader's course, built once by setup.sh
        _run_autograder(root, env)                         # no MHA_PYTHON: the venv setup.sh made
    finally:
        shutil.rmtree(root / "venv", ignore_errors=True)   # over a gigabyte


def test_checks_without_hidden_tests_are_visible():
    from autograder.outcome import Result

    r = Result("amy", "04_output_projection.ipynb", 1, 2, "graded",
               cells={"check_module_grad": [1, 1], "check_module_forward": [0, 3]},
               failed={"check_module_forward": "AssertionError: you forgot W_O"})
    tests = {t["name"]: t for t in gradescope.results_json([r], ["04_output_projection.ipynb"], "hidden")["tests"]}
    assert tests["04_output_projection: check_module_grad"]["visibility"] == "visible"
    assert tests["04_output_projection: check_module_forward"]["visibility"] == "hidden"
    assert tests["04_output_projection: check_module_forward"]["output"] == "AssertionError: you forgot W_O"
