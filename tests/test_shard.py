"""`grade --shard i/N` splits the class by student; `merge` puts the pieces back together."""
import csv
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import grading, samples
from autograder.merge import merge, parse_shard
from autograder.errors import CourseError
from conftest import NOTEBOOKS

REPO = Path(__file__).resolve().parent.parent
NB = NOTEBOOKS[0]
STUDENTS = ["amy", "ben", "cleo", "dan", "eve"]


def test_every_student_is_in_exactly_one_shard():
    for n in (1, 2, 3, 7):
        for student in STUDENTS + [f"s{i}" for i in range(50)]:
            assert sum(grading.in_shard(student, (i, n)) for i in range(1, n + 1)) == 1


@pytest.mark.parametrize("text", ["0/2", "3/2", "x", "1/0"])
def test_bad_shards_are_refused(text):
    with pytest.raises(CourseError):
        parse_shard(text)


def test_shards_merge_into_one_output(tmp_path):
    subs = tmp_path / "submissions"
    wrong = {"head_dim": "def head_dim(d_model, num_heads):\n    return d_model // num_heads\n"}
    for student in STUDENTS:
        samples.write_submission(subs, student, NB, samples.fill(NB, wrong if student in ("ben", "dan") else None))
    samples.write_submission(subs, "eve", "homework.ipynb", samples.fill(NB))
    outs = []
    for i in (1, 2):
        out = tmp_path / f"shard{i}"
        done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out),
                               "--shard", f"{i}/2", "--quiet", "--jobs", "1"], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        outs.append(out)
    with (outs[0] / "grades.csv").open() as f1, (outs[1] / "grades.csv").open() as f2:
        parts = [{r["student_id"] for r in csv.DictReader(f)} for f in (f1, f2)]
    assert parts[0] and parts[1] and not parts[0] & parts[1]
    done = subprocess.run([sys.executable, "-m", "autograder", "merge", *map(str, outs), "--out",
                           str(tmp_path / "all")], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    with (tmp_path / "all" / "grades.csv").open() as f:
        rows = {(r["student_id"], r["notebook"]): r for r in csv.DictReader(f)}
    assert {s for s, _ in rows} == set(STUDENTS)
    assert len(rows) == 6 and "unknown notebook" in rows[("eve", "homework.ipynb")]["status"]
    for s in STUDENTS:
        full = rows[(s, NB)]["score"] == rows[(s, NB)]["max_score"]
        assert full == (s not in ("ben", "dan"))
        assert (tmp_path / "all" / "feedback" / s / "01_projections.html").exists()
    assert (tmp_path / "all" / "report.html").exists()
    assert gradebook_scores(tmp_path / "all") == {(s, NB): float(r["score"]) for (s, nb), r in rows.items() if nb == NB}
    with pytest.raises(CourseError, match="in both"):
        merge([outs[0], outs[0]], tmp_path / "twice")


def gradebook_scores(out) -> dict[tuple[str, str], float]:
    """{(student, notebook): score} from out/gradebook.db, read with nbgrader's own API."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        return {(sub.student.id, nb.name + ".ipynb"): float(nb.score)
                for sub in gb.assignment_submissions("mha") for nb in sub.notebooks if nb.name + ".ipynb" == NB}
