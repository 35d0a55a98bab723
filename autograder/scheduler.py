"""Which shard am I? `grade --shard` without i/N asks the batch scheduler that started the job.

- Slurm job arrays (`sbatch --array=0-3`): `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT`, with
  `SLURM_ARRAY_TASK_MIN` and `SLURM_ARRAY_TASK_STEP` (an array `1-8:2` is 4 shards too).
- Kubernetes Indexed Jobs (`completionMode: Indexed`): `JOB_COMPLETION_INDEX`, counted from 0; the pod is not
  told how many completions there are, so the count is given: `--shard auto/4` (or `MHA_SHARD_COUNT=4`).
Shards are numbered from 1 (`--shard 1/4` is the first), as `merge.parse_shard` reads them.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping

from .merge import parse_shard
from .errors import CourseError

AUTO = "auto"


def _int(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    if not re.fullmatch(r"\d+", value):
        raise CourseError(f"--shard: {name}={value!r} is not a number")
    return int(value)


def from_env(count: int | None = None, env: Mapping[str, str] = os.environ) -> tuple[tuple[int, int], str]:
    """((i, n), where it came from) for this job, from the scheduler's environment variables."""
    task = _int(env, "SLURM_ARRAY_TASK_ID")
    if task is not None:
        n = _int(env, "SLURM_ARRAY_TASK_COUNT")
        low, step = _int(env, "SLURM_ARRAY_TASK_MIN") or 0, _int(env, "SLURM_ARRAY_TASK_STEP") or 1
        high = _int(env, "SLURM_ARRAY_TASK_MAX")
        if n is None:
            raise CourseError("--shard: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")
        if high is not None and (high - low) // step + 1 != n:
            raise CourseError(f"--shard: the Slurm array {low}-{high}:{step} has gaps ({n} tasks); use a range such as "
                             f"--array=0-{n - 1}")
        if count is not None and count != n:
            raise CourseError(f"--shard auto/{count}: the Slurm array has {n} tasks")
        i = (task - low) // step + 1
        if not 1 <= i <= n:
            raise CourseError(f"--shard: SLURM_ARRAY_TASK_ID={task} is outside the array ({low} to {high})")
        return (i, n), f"Slurm array task {task} of {n}"
    index = _int(env, "JOB_COMPLETION_INDEX")
    if index is not None:
        n = count if count is not None else _int(env, "MHA_SHARD_COUNT")
        if n is None:
            raise CourseError("--shard: JOB_COMPLETION_INDEX is set but the number of shards is not: give it as "
                             "--shard auto/N (N = the Job's completions) or MHA_SHARD_COUNT=N")
        if not 0 <= index < n:
            raise CourseError(f"--shard auto/{n}: JOB_COMPLETION_INDEX={index} is not below {n}")
        return (index + 1, n), f"Kubernetes completion index {index} of {n}"
    raise CourseError("--shard without i/N: no SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX in the environment "
                     "(not a Slurm array task or Kubernetes Indexed Job); give the shard as i/N")


def shard(text: str | None, env: Mapping[str, str] = os.environ) -> tuple[tuple[int, int], str | None]:
    """`--shard`'s value: "i/N" as given, or "auto" / "auto/N" from the scheduler; (1, 1) when not sharded.
    Returns the shard and, when it came from the scheduler, a sentence saying so."""
    if not text:
        return (1, 1), None
    if text == AUTO or text.startswith(AUTO + "/"):
        count = text.partition("/")[2]
        if count and not re.fullmatch(r"[1-9]\d*", count):
            raise CourseError(f"--shard {text!r}: expected auto/N with N the number of shards, e.g. auto/4")
        return from_env(int(count) if count else None, env)
    return parse_shard(text), None
