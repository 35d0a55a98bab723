"""Combine the outputs of sharded grading runs (`grade --shard i/N`) into one grades.csv and report."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from .gradebook import write_gradebook
from .outcome import Result
from .nbcourse import build_course
from .paths import SOLUTIONS
from .results import write_all
from .errors import CourseError


def read_details(out: Path) -> list[Result]:
    """The results a grading run wrote to out/details.json."""
    path = out / "details.json"
    if not path.exists():
        raise CourseError(f"{out} has no details.json: is it the --out folder of a finished `grade --shard` run?")
    return [Result(**row) for row in json.loads(path.read_text(encoding="utf-8"))]


def parse_shard(text: str) -> tuple[int, int]:
    """"2/5" -> (2, 5); shards are numbered from 1."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise CourseError(f"--shard {text!r}: expected i/N, e.g. 1/4") from None
    if not 1 <= i <= n:
        raise CourseError(f"--shard {text!r}: i must be between 1 and N")
    return i, n


def merge(shard_outs: list[Path], out: Path, solutions: Path = SOLUTIONS) -> list[Result]:
    """Read every shard's results and check no row appears twice, then (nothing is written before) copy the
    feedback and write one output and one nbgrader gradebook."""
    results: list[Result] = []
    seen: dict[tuple[str, str], Path] = {}
    for shard in shard_outs:
        for r in read_details(shard):
            key = (r.student_id, r.notebook)
            if key in seen and r.student_id != "?":
                raise CourseError(f"{r.student_id}/{r.notebook} is in both {seen[key]} and {shard}: "
                                 "were these shards of different runs?")
            seen[key] = shard
            results.append(r)
    out.mkdir(parents=True, exist_ok=True)
    for shard in shard_outs:
        feedback = shard / "feedback"
        if feedback.is_dir() and shard.resolve() != out.resolve():
            shutil.copytree(feedback, out / "feedback", dirs_exist_ok=True)
    results.sort(key=lambda r: (r.student_id, r.notebook))
    write_all(results, out)
    with tempfile.TemporaryDirectory(prefix="mha-merge-") as tmp:
        course = build_course(Path(tmp), solutions)
        write_gradebook(results, course.root / "gradebook.db", out)
    return results
