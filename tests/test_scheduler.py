"""`grade --shard` without i/N takes its shard from the scheduler (Slurm arrays, Kubernetes Indexed Jobs), and
docs/slurm's array script grades a class in shards whose merge equals grading it on one machine.

No slurmd runs here: the test runs the array script's own commands (`bash docs/slurm/grade-array.sbatch`,
its #SBATCH lines are comments to bash) with the variables Slurm sets for tasks 0 and 1 of a 2-task array,
then docs/slurm/merge.sbatch, and compares the result with one `grade` of the whole class.
"""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from autograder import cli, grading, samples, scheduler
from autograder.errors import CourseError
from conftest import NOTEBOOKS

REPO = Path(__file__).resolve().parent.parent
NB = NOTEBOOKS[0]


def slurm(task: int, count: int, low: int = 0, step: int = 1) -> dict[str, str]:
    return {"SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_COUNT": str(count),
            "SLURM_ARRAY_TASK_MIN": str(low), "SLURM_ARRAY_TASK_MAX": str(low + (count - 1) * step),
            "SLURM_ARRAY_TASK_STEP": str(step)}


@pytest.mark.parametrize("env, text, want", [
    (slurm(0, 4), "auto", (1, 4)),
    (slurm(3, 4), "auto", (4, 4)),
    (slurm(1, 3, low=1), "auto", (1, 3)),            # --array=1-3
    (slurm(5, 4, low=1, step=2), "auto", (3, 4)),    # --array=1-7:2 -> tasks 1 3 5 7
    (slurm(2, 4), "auto/4", (3, 4)),
    ({"JOB_COMPLETION_INDEX": "0"}, "auto/3", (1, 3)),
    ({"JOB_COMPLETION_INDEX": "2"}, "auto/3", (3, 3)),
    ({"JOB_COMPLETION_INDEX": "1", "MHA_SHARD_COUNT": "2"}, "auto", (2, 2)),
    ({"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"}, "2/5", (2, 5)),   # i/N given wins
    ({}, None, (1, 1)),
])
def test_shard_from_the_scheduler(env, text, want):
    assert scheduler.shard(text, env)[0] == want


@pytest.mark.parametrize("env, text, words", [
    ({}, "auto", "no SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX"),
    ({"JOB_COMPLETION_INDEX": "1"}, "auto", "number of shards is not"),
    ({"JOB_COMPLETION_INDEX": "3"}, "auto/3", "not below 3"),
    (slurm(1, 4), "auto/2", "the Slurm array has 4 tasks"),
    ({**slurm(0, 2), "SLURM_ARRAY_TASK_MAX": "5"}, "auto", "has gaps"),   # --array=0,5
    ({"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"}, "auto", "not a number"),
    ({}, "auto/0", "expected auto/N"),
])
def test_a_shard_that_cannot_be_known_is_refused(env, text, words):
    with pytest.raises(CourseError, match=words):
        scheduler.shard(text, env)


def test_grade_takes_a_bare_shard_option():
    args = cli.parser().parse_args(["grade", "SUBS", "--out", "OUT", "--shard"])
    assert args.shard == scheduler.AUTO
    assert cli.parser().parse_args(["grade", "SUBS", "--out", "OUT", "--shard", "2/3"]).shard == "2/3"


def test_the_kubernetes_manifest_shards_as_many_as_it_completes():
    docs = REPO / "docs" / "kubernetes"
    job = yaml.safe_load((docs / "grade-indexed-job.yaml").read_text())
    assert job["spec"]["completionMode"] == "Indexed"
    command = " ".join(job["spec"]["template"]["spec"]["containers"][0]["args"])
    assert f"--shard auto/{job['spec']['completions']}" in command and "shard-$JOB_COMPLETION_INDEX" in command
    merge = yaml.safe_load((docs / "merge-job.yaml").read_text())
    assert "autograder merge /term/out/shard-*" in " ".join(merge["spec"]["template"]["spec"]["containers"][0]["command"])


def _rows(out: Path) -> dict:
    with (out / "grades.csv").open(encoding="utf-8") as f:
        return {(r["student_id"], r["notebook"]): r for r in csv.DictReader(f)}


def test_the_slurm_array_script_grades_like_one_machine(tmp_path):
    students = ["amy", "ben", "cleo", "dan"]
    assert {grading.in_shard(s, (1, 2)) for s in students} == {True, False}   # both tasks have work
    subs = tmp_path / "submissions"
    for s in students:
        wrong = {"head_dim": "def head_dim(d_model, num_heads):\n    return d_model // num_heads\n"}
        samples.write_submission(subs, s, NB, samples.fill(NB, wrong if s == "ben" else None))
    env = {**os.environ, "MHA_COURSE": str(REPO), "PYTHON": sys.executable, "SUBMISSIONS": str(subs),
           "OUT": str(tmp_path / "term"), "SLURM_CPUS_PER_TASK": "1", "SLURM_SUBMIT_DIR": str(tmp_path)}
    for task in (0, 1):
        done = subprocess.run(["bash", str(REPO / "docs/slurm/grade-array.sbatch")], env={**env, **slurm(task, 2)},
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"grading shard {task + 1}/2 (Slurm array task {task} of 2)" in done.stderr
    done = subprocess.run(["bash", str(REPO / "docs/slurm/merge.sbatch")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    single = subprocess.run([sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(tmp_path / "one"),
                             "--quiet", "--jobs", "1"], cwd=REPO, capture_output=True, text=True)
    assert single.returncode == 0, single.stderr[-2000:]
    merged, one = _rows(tmp_path / "term" / "all"), _rows(tmp_path / "one")
    assert merged == one and len(one) == 4
    assert one[("ben", NB)]["score"] != one[("ben", NB)]["max_score"]
    merged_cells, one_cells = ({(r["student_id"], r["notebook"]): (r["score"], r["cells"], r["failed"])
                                for r in json.loads((out / "details.json").read_text())}
                               for out in (tmp_path / "term" / "all", tmp_path / "one"))
    assert merged_cells == one_cells
    assert all((tmp_path / "term" / "all" / "feedback" / s / "01_projections.html").exists() for s in students)
