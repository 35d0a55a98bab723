"""Gradescope: `python -m autograder gradescope --out autograder.zip` builds a Gradescope autograder that
grades the uploaded notebooks with this grader and writes Gradescope's results.json.

The zip holds Gradescope's two scripts, `setup.sh` (run once, as root, to build the image: Python, bubblewrap,
the pinned packages) and `run_autograder` (run for every submission), plus this package, `solutions/`,
`course/` and the requirements. Gradescope unpacks it to /autograder/source; `run_autograder` runs
`python -m autograder.gradescope`, which grades /autograder/submission as one student and writes
/autograder/results/results.json:
- one test per check (test cell) of each graded notebook: `name` "01_projections: check_head_dim", `score`,
  `max_score`, `output` the message that names the mistake (empty when it passes), `visibility` "visible" for
  a check without hidden tests and "after_due_date" (or `--hidden-visibility`) for one with hidden tests: the
  grader scores a test cell as a whole, so a cell's visible and hidden asserts are one Gradescope test;
- a visible test for each notebook that could not be graded or was stopped, or that the assignment expects
  and was not handed in (`--notebooks`), with the reason;
- `score` the total, `output` a summary (repairs made before grading included).
`MHA_GRADESCOPE_ROOT` replaces /autograder (tests), `MHA_PYTHON` the Python that runs the grader; `setup.sh` also
reads `MHA_SETUP_PYTHON` (the Python its venv is made from) and `MHA_TORCH_INDEX` (where torch comes from).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat

from .paths import REPO, SOLUTIONS, notebook_names
from .errors import CourseError

VISIBILITIES = ("after_due_date", "after_published", "hidden", "visible")
CONFIG = "gradescope.json"
SOURCES = ["requirements.txt", "requirements-instructor.txt", "constraints.txt", "pyproject.toml", "README.md"]

SETUP = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, to build the autograder's image; the zip is in /autograder/source.
# For a test run elsewhere: MHA_GRADESCOPE_ROOT replaces /autograder, MHA_SETUP_PYTHON the Python the venv is
# made from (default python3), MHA_TORCH_INDEX the index torch comes from (default PyTorch's CPU index; set
# and empty: pip's own indexes, as configured on that machine).
set -euo pipefail
ROOT="${MHA_GRADESCOPE_ROOT:-/autograder}"
PYTHON3="${MHA_SETUP_PYTHON:-python3}"
TORCH_INDEX="${MHA_TORCH_INDEX-https://download.pytorch.org/whl/cpu}"
cd "$ROOT/source"
# system packages, only those missing (Gradescope's Ubuntu image has python3, without venv or bubblewrap)
need=()
command -v "$PYTHON3" >/dev/null || need+=(python3)
"$PYTHON3" -c "import ensurepip, venv" 2>/dev/null || need+=(python3-venv python3-pip)
command -v bwrap >/dev/null || need+=(bubblewrap)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
"$PYTHON3" -c "import sys; sys.exit(sys.version_info < (3, 11))" || {
    echo "setup.sh: $("$PYTHON3" --version) is too old: the pinned packages need Python 3.11+ (Ubuntu 24.04)" >&2
    exit 1
}
"$PYTHON3" -m venv "$ROOT/venv"
# the CPU build of PyTorch first, from PyTorch's CPU index only (PyPI's Linux wheel carries CUDA, gigabytes
# Gradescope does not need); the pinned packages then find it installed
if [ -n "$TORCH_INDEX" ]; then
    "$ROOT/venv/bin/pip" install -q "torch==$(sed -n 's/^torch==//p' requirements.txt)" --index-url "$TORCH_INDEX"
fi
"$ROOT/venv/bin/pip" install -q -r requirements-instructor.txt -c constraints.txt
# build nbgrader's course once, here, rather than for every submission
MHA_CACHE="$ROOT/cache" "$ROOT/venv/bin/python" -c "from autograder.nbcourse import build_course; \
import tempfile, pathlib; build_course(pathlib.Path(tempfile.mkdtemp()))"
"""

RUN = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission, write /autograder/results/results.json.
set -uo pipefail
ROOT="${MHA_GRADESCOPE_ROOT:-/autograder}"
PYTHON="${MHA_PYTHON:-$ROOT/venv/bin/python}"
export MHA_CACHE="${MHA_CACHE:-$ROOT/cache}"
cd "$ROOT/source"
exec "$PYTHON" -m autograder.gradescope --root "$ROOT"
"""


def build(out: Path, notebooks: list[str] | None = None, hidden_visibility: str = "after_due_date",
          repo: Path = REPO) -> Path:
    """Write the Gradescope autograder zip to `out`. `notebooks`: what the Gradescope assignment expects
    (default: all of the course); any other notebook handed in is not graded."""
    known = notebook_names(repo / "solutions")
    expected = notebooks or known
    unknown = sorted(set(expected) - set(known))
    if unknown:
        raise CourseError(f"--notebooks: not course notebooks: {', '.join(unknown)}")
    if hidden_visibility not in VISIBILITIES:
        raise CourseError(f"--hidden-visibility must be one of {', '.join(VISIBILITIES)}")
    out.parent.mkdir(parents=True, exist_ok=True)

    def add(zf: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))   # the same zip for the same course
        info.external_attr = (stat.S_IFREG | mode) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, data)

    with zipfile.ZipFile(out, "w") as zf:
        add(zf, "setup.sh", SETUP.encode(), 0o755)
        add(zf, "run_autograder", RUN.encode(), 0o755)
        add(zf, CONFIG, json.dumps({"notebooks": expected, "hidden_visibility": hidden_visibility}, indent=1).encode())
        files = sorted((repo / "autograder").glob("*.py")) + sorted((repo / "solutions").glob("*.ipynb")) \
            + sorted((repo / "course").glob("*.ipynb")) + [repo / name for name in SOURCES if (repo / name).is_file()]
        for path in files:
            add(zf, path.relative_to(repo).as_posix(), path.read_bytes())
    return out


def _has_hidden(solutions: Path, notebook: str) -> dict[str, bool]:
    """{check grade_id: whether the check cell has hidden tests} for one notebook."""
    nb = nbformat.read(solutions / notebook, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: "BEGIN HIDDEN TESTS" in c.source for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


def _student(root: Path) -> str:
    """The submitter, from Gradescope's submission_metadata.json (email, else user id); "submission" if none."""
    try:
        users = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8")).get("users") or []
        user = users[0]
        return str(user.get("email") or user.get("id") or "submission")
    except (OSError, ValueError, IndexError, AttributeError, TypeError):
        return "submission"


def results_json(graded: list, expected: list[str], hidden_visibility: str, solutions: Path = SOLUTIONS) -> dict:
    """Gradescope's results.json for one student's grading results."""
    from .outcome import Outcome

    tests, summary, total = [], [], 0.0
    handed_in = {r.notebook for r in graded}
    for r in sorted(graded, key=lambda r: r.notebook):
        stem = r.notebook.removesuffix(".ipynb")
        if r.notebook not in expected:
            why = r.status if r.outcome is Outcome.REFUSED else "not part of this assignment"
            summary.append(f"{r.notebook}: not graded here ({why})")
            continue
        if r.outcome in (Outcome.REFUSED, Outcome.FAILED) or not r.cells:
            tests.append({"name": f"{stem}: could not be graded", "score": 0.0, "max_score": r.max_score,
                          "output": r.status, "visibility": "visible"})
            summary.append(f"{r.notebook}: 0/{r.max_score:g}, {r.status}")
            continue
        hidden = _has_hidden(solutions, r.notebook)
        for gid, (score, top) in r.cells.items():
            tests.append({"name": f"{stem}: {gid}", "score": score, "max_score": top,
                          "output": r.failed.get(gid, ""),
                          "visibility": hidden_visibility if hidden.get(gid, True) else "visible"})
        if r.status != "graded":   # stopped (timeout, memory...) or a learner's own cell raised
            tests.append({"name": f"{stem}: how the notebook ran", "score": 0.0, "max_score": 0.0,
                          "output": r.status, "visibility": "visible"})
        total += r.score
        summary.append(f"{r.notebook}: {r.score:g}/{r.max_score:g} ({r.status})"
                       + "".join(f"\n  repaired before grading: {note}" for note in r.repairs))
    for name in expected:
        if name not in handed_in:
            top = _max_points(solutions, name)
            tests.append({"name": f"{name.removesuffix('.ipynb')}: not handed in", "score": 0.0, "max_score": top,
                          "output": f"No {name} in your submission: upload it with exactly this name.",
                          "visibility": "visible"})
            summary.append(f"{name}: not handed in")
    return {"score": total, "output": "\n".join(summary), "stdout_visibility": "hidden", "tests": tests}


def _max_points(solutions: Path, notebook: str) -> float:
    nb = nbformat.read(solutions / notebook, as_version=4)
    return float(sum(c.metadata.get("nbgrader", {}).get("points", 0) for c in nb.cells
                     if c.metadata.get("nbgrader", {}).get("grade")))


def run(root: Path) -> dict:
    """Grade root/submission as one student; write root/results/results.json and return it."""
    from . import grading

    config_path = REPO / CONFIG
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    expected = config.get("notebooks") or notebook_names(SOLUTIONS)
    visibility = config.get("hidden_visibility", "after_due_date")
    (root / "results").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mha-gradescope-") as tmp:
        subs = Path(tmp) / "submissions"
        subs.mkdir()
        # the submission is one student's folder (links are copied as links: intake reports, never follows them)
        shutil.copytree(root / "submission", subs / _student(root), symlinks=True)
        graded = grading.grade(subs, Path(tmp) / "out", progress=False, jobs=1)
    result = results_json(graded, expected, visibility)
    (root / "results" / "results.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder.gradescope", description="grade a Gradescope submission")
    p.add_argument("--root", type=Path, default=Path(os.environ.get("MHA_GRADESCOPE_ROOT", "/autograder")))
    args = p.parse_args(argv)
    try:
        result = run(args.root)
    except BaseException as err:  # noqa: BLE001 - Gradescope shows results.json, never a traceback
        result = {"score": 0.0, "output": f"The grader failed ({type(err).__name__}: {err}); tell your instructor.",
                  "tests": []}
        (args.root / "results").mkdir(parents=True, exist_ok=True)
        (args.root / "results" / "results.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
        raise
    print(f"score {result['score']:g}; {len(result['tests'])} tests written to {args.root / 'results' / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
