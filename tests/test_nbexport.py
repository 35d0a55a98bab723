"""`export-nbgrader DIR` writes a standard nbgrader course that plain nbgrader releases and autogrades."""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import samples
from autograder.paths import COURSE
from conftest import NOTEBOOKS

REPO = Path(__file__).resolve().parent.parent
NB = NOTEBOOKS[0]
ASSIGNMENT = Path(NB).stem


def nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("nbgrader-course")
    done = subprocess.run([sys.executable, "-m", "autograder", "export-nbgrader", str(root)], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return root


def test_layout_is_nbgraders(exported):
    assert sorted(p.name for p in (exported / "source").iterdir()) == [Path(n).stem for n in NOTEBOOKS]
    for name in NOTEBOOKS:
        assert (exported / "source" / Path(name).stem / name).is_file()
    config = (exported / "nbgrader_config.py").read_text()
    assert 'c.CourseDirectory.course_id = \'mha-course\'' in config and "MHA_FAST" in config
    compile(config, "nbgrader_config.py", "exec")


def test_nbgrader_releases_the_course_and_grades_it(exported):
    nbgrader("generate_assignment", ASSIGNMENT, cwd=exported)
    released = nbformat.read(exported / "release" / ASSIGNMENT / NB, as_version=4)
    ours = nbformat.read(COURSE / NB, as_version=4)
    # what nbgrader releases there is what `release` puts in course/, self-check included
    assert [(c.cell_type, c.source) for c in released.cells] == [(c.cell_type, c.source) for c in ours.cells]
    wrong = {"head_dim": "def head_dim(d_model, num_heads):\n    return d_model // num_heads\n"}
    for student, nb in (("amy", samples.fill(NB)), ("ben", samples.fill(NB, wrong))):
        path = exported / "submitted" / student / ASSIGNMENT / NB
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    nbgrader("autograde", ASSIGNMENT, "--create", cwd=exported)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{exported / 'gradebook.db'}") as gb:
        scores = {s: gb.find_submission(ASSIGNMENT, s).score for s in ("amy", "ben")}
        top = gb.find_assignment(ASSIGNMENT).max_score
    assert top == 8 and scores["amy"] == 8 and scores["ben"] < 8
