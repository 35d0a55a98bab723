"""`grade --shard` without i/N takes its shard from the scheduler (Slurm arrays, Kubernetes Indexed Jobs), and
docs/slurm's scripts grade a class in shards whose merge equals grading it on one machine.

`test_slurm_grades_like_one_machine` runs them on a real one-node Slurm (tests/slurm/slurm.sh starts munged,
slurmctld and slurmd in a temporary folder, as root): docs/slurm/submit.sh submits a 2-task array over a
4-student class, then the merge, and the merged output must equal one `grade` of the class. Without Slurm
(Debian: apt-get install slurm-wlm munge) it is skipped, except under MHA_CI=1 (.ci/run), where that is a
failure; `test_the_slurm_array_script_grades_like_one_machine` then replays the array script with bash and the
variables Slurm would set, so the scripts are still run.
"""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
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


def _cells(out: Path) -> dict:
    return {(r["student_id"], r["notebook"]): (r["score"], r["cells"], r["failed"])
            for r in json.loads((out / "details.json").read_text())}


STUDENTS = ["amy", "ben", "cleo", "dan"]


class SampleClass:
    """4 students of notebook 01 (ben wrong), and one `grade` of them on this machine, started at once in the
    background (it runs while Slurm grades the same class): `one()` waits for it and returns its output."""

    def __init__(self, root: Path):
        assert {grading.in_shard(s, (1, 2)) for s in STUDENTS} == {True, False}   # both shards have work
        self.subs, self.out = root / "submissions", root / "one"
        wrong = {"head_dim": "def head_dim(d_model, num_heads):\n    return d_model // num_heads\n"}
        for s in STUDENTS:
            samples.write_submission(self.subs, s, NB, samples.fill(NB, wrong if s == "ben" else None))
        self._grading = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(self.subs), "--out",
                                          str(self.out), "--quiet", "--jobs", "1"], cwd=REPO,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def one(self) -> Path:
        _, err = self._grading.communicate()
        assert self._grading.returncode == 0, err[-2000:]
        one = _rows(self.out)
        assert len(one) == 4 and one[("ben", NB)]["score"] != one[("ben", NB)]["max_score"]
        return self.out


@pytest.fixture(scope="module")
def sample_class(tmp_path_factory):
    sample = SampleClass(tmp_path_factory.mktemp("class"))
    yield sample
    if sample._grading.poll() is None:   # a test that failed early
        sample._grading.kill()
        sample._grading.communicate()


def _same_as_one_machine(merged: Path, one: Path) -> None:
    assert _rows(merged) == _rows(one)
    assert _cells(merged) == _cells(one)
    assert all((merged / "feedback" / s / "01_projections.html").exists() for s in STUDENTS)


SLURM_TOOLS = ("munged", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo")


def _slurm_missing() -> str | None:
    """Why a one-node Slurm can't be started here, or None."""
    path = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"
    missing = [t for t in SLURM_TOOLS if not shutil.which(t, path=path)]
    if missing:
        return f"no {', '.join(missing)} (Debian: apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "tests/slurm/slurm.sh starts slurmd, which must run as root"
    return None


def _ci() -> bool:
    return os.environ.get("MHA_CI") == "1"


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    """A one-node Slurm for this module: the environment that reaches it (SLURM_CONF); stopped afterwards."""
    why = _slurm_missing()
    if why:
        if _ci():
            pytest.fail(f"MHA_CI=1: the Slurm test must run, not skip: {why}")
        pytest.skip(f"no Slurm to run the array on: {why}")
    where = tmp_path_factory.mktemp("slurm")
    script = REPO / "tests" / "slurm" / "slurm.sh"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_"))}   # only ours
    env["PATH"] = f"{env.get('PATH', '')}:/usr/sbin:/sbin"
    started = subprocess.run(["bash", str(script), "start", str(where)], env=env, capture_output=True, text=True)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield {**env, "SLURM_CONF": str(where / "slurm.conf")}
    finally:
        subprocess.run(["bash", str(script), "stop", str(where)], env=env, capture_output=True)


def _job_states(job: str, env: dict) -> list[str]:
    """The JobState of each job (or array task) `job` names, e.g. ["COMPLETED", "RUNNING"]."""
    shown = subprocess.run(["scontrol", "--oneliner", "show", "job", job], env=env, capture_output=True, text=True)
    return [word.split("=", 1)[1] for line in shown.stdout.splitlines() for word in line.split()
            if word.startswith("JobState=")]


def test_slurm_grades_like_one_machine(slurm_cluster, sample_class, tmp_path):
    env = {**slurm_cluster, "SUBMISSIONS": str(sample_class.subs), "OUT": str(tmp_path / "term"),
           "PYTHON": sys.executable, "MHA_COURSE": str(REPO)}
    # the docs' scripts ask for 4 CPUs a task; this node may have 2, so the test asks for 1 (--jobs 1)
    submitted = subprocess.run(["bash", str(REPO / "docs/slurm/submit.sh"), "2", "--cpus-per-task=1"],
                               cwd=tmp_path, env=env, capture_output=True, text=True)
    assert submitted.returncode == 0, submitted.stderr
    ids = re.search(r"job array (\d+)\S* .*merge: job (\d+)", submitted.stdout)
    assert ids, submitted.stdout
    array, merge = ids.groups()
    deadline = time.monotonic() + 300
    while True:
        states = _job_states(array, env) + _job_states(merge, env)
        if states and all(s == "COMPLETED" for s in states):
            break
        logs = "".join(f"\n--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(tmp_path.glob("mha-*.log")))
        assert not set(states) & {"FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"}, states + [logs]
        assert time.monotonic() < deadline, f"not done after 300 s: {states}{logs}"
        time.sleep(0.5)
    for task in (0, 1):
        log = (tmp_path / f"mha-grade-{array}_{task}.log").read_text()
        assert f"grading shard {task + 1}/2 (Slurm array task {task} of 2)" in log   # Slurm's own variables
    _same_as_one_machine(tmp_path / "term" / "all", sample_class.one())


@pytest.mark.skipif(not _slurm_missing() or _ci(), reason="test_slurm_grades_like_one_machine runs the scripts "
                                                          "on a real Slurm")
def test_the_slurm_array_script_grades_like_one_machine(sample_class, tmp_path):
    """Where no Slurm can run: the array script's commands, with the variables Slurm sets for tasks 0 and 1."""
    env = {**os.environ, "MHA_COURSE": str(REPO), "PYTHON": sys.executable, "SUBMISSIONS": str(sample_class.subs),
           "OUT": str(tmp_path / "term"), "SLURM_CPUS_PER_TASK": "1", "SLURM_SUBMIT_DIR": str(tmp_path)}
    for task in (0, 1):
        done = subprocess.run(["bash", str(REPO / "docs/slurm/grade-array.sbatch")], env={**env, **slurm(task, 2)},
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"grading shard {task + 1}/2 (Slurm array task {task} of 2)" in done.stderr
    done = subprocess.run(["bash", str(REPO / "docs/slurm/merge.sbatch")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    _same_as_one_machine(tmp_path / "term" / "all", sample_class.one())
