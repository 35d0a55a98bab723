"""One frozen options object per grading run: defaults, then an instructor's nbgrader_config.py, then the
command line; an nbgrader_config.py really changes how notebooks are graded."""
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import cli, options, samples
from autograder.errors import CourseError
from autograder.options import GradeOptions, Limits

REPO = Path(__file__).resolve().parent.parent
NB = "01_projections.ipynb"
CONFIG = """c = get_config()
c.Execute.timeout = 7
c.SandboxedExecute.limits = {"memory_mb": 1500, "notebook_timeout": 90}
c.SandboxedExecute.kernels = "fresh"
c.CourseDirectory.root = "/somewhere/else"
"""


def test_an_nbgrader_config_sets_the_options_it_may_and_names_the_rest(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(CONFIG)
    opts, ignored = options.from_nbgrader_config(tmp_path / "nbgrader_config.py")
    assert opts == GradeOptions(cell_timeout=7, kernels="fresh", limits=Limits(memory_mb=1500, notebook_timeout=90))
    assert ignored == ["c.CourseDirectory.root"]
    with pytest.raises(dataclasses.FrozenInstanceError):   # frozen: what a stage was handed can't change under the next one
        opts.cell_timeout = 3


def test_the_command_line_wins_over_the_config_and_the_config_over_defaults(tmp_path, monkeypatch):
    (tmp_path / "nbgrader_config.py").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)   # nbgrader's convention: the config in the folder the command runs in
    args = cli.parser().parse_args(["grade", "SUBS", "--out", "OUT", "--memory", "900", "--jobs", "3"])
    opts, _ = options.from_args(args)
    assert (opts.cell_timeout, opts.jobs, opts.kernels, opts.isolation) == (7, 3, "fresh", "auto")
    assert opts.limits == Limits(memory_mb=900, notebook_timeout=90)
    monkeypatch.chdir(REPO)
    plain, _ = options.from_args(cli.parser().parse_args(["grade", "SUBS", "--out", "OUT", "--quiet"]))
    assert plain == GradeOptions(progress=False)


@pytest.mark.parametrize("text, words", [
    ("c = get_config()\nc.SandboxedExecute.limits = {'memroy_mb': 10}\n", "has no memroy_mb"),
    ("c = get_config()\nc.Execute.timeout = (\n", "could not be read (SyntaxError"),
])
def test_a_config_that_cannot_be_used_is_refused_with_what_to_fix(tmp_path, text, words):
    (tmp_path / "nbgrader_config.py").write_text(text)
    with pytest.raises(CourseError, match=words.replace("(", r"\(")):
        options.from_nbgrader_config(tmp_path / "nbgrader_config.py")


def test_the_configs_cell_timeout_stops_a_slow_cell(tmp_path):
    config = tmp_path / "nbgrader_config.py"
    config.write_text("c = get_config()\nc.Execute.timeout = 3\nc.Exchange.root = '/srv/exchange'\n")
    slow = "import time\ntime.sleep(30)\n" + samples.reference_answers(NB)["head_dim"]
    samples.write_submission(tmp_path / "subs", "slow", NB, samples.fill(NB, {"head_dim": slow}))
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(tmp_path / "subs"), "--out",
                           str(tmp_path / "out"), "--quiet", "--config", str(config)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ignored c.Exchange.root" in done.stderr
    grades = (tmp_path / "out" / "grades.csv").read_text()
    assert "head_dim timed out (limit 3 s per cell)" in grades, grades
