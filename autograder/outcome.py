"""What grading found, as data: one `Result` per student and notebook, with an `Outcome` and per-check
scores and messages. Light on purpose (no nbgrader, no kernels), so that writing results, the report,
merging shards and the gradebook can import it without the executor."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

#: the error names the executor gives the cell that stopped a notebook and every code cell after it
STOPPED, NOT_RUN = "KernelStopped", "NotRun"

#: the flag on every row graded without the sandbox (`--isolation none`); the report counts it apart
NOT_SANDBOXED = "not sandboxed"


class Outcome(str, Enum):
    GRADED = "graded"          # the notebook ran to its end; the checks decided the score
    STOPPED = "stopped"        # a timeout, crash, memory or disk limit stopped the kernel: the notebook scores 0
    REFUSED = "refused"        # the file could not be graded (invalid, unknown notebook, owner unknown): 0
    FAILED = "failed"          # the grader itself failed on this submission: 0, and worth a look


@dataclass
class Result:
    student_id: str
    notebook: str
    score: float
    max_score: float
    #: the outcome in words, for people (grades.csv, the terminal, the report)
    status: str
    #: test cells that lost points: {grade_id: "ErrorType: message"}
    failed: dict[str, str] = field(default_factory=dict)
    #: per test cell: {grade_id: [score, max_score]}
    cells: dict[str, list[float]] = field(default_factory=dict)
    feedback: str = ""
    #: what the instructor should look at: suspicious code, no sandbox (never changes the score)
    flags: list[str] = field(default_factory=list)
    #: what was repaired in the notebook before grading (repair.py), also shown atop its feedback
    repairs: list[str] = field(default_factory=list)
    #: the outcome as data: what code reads (never the status sentence)
    outcome: Outcome = Outcome.GRADED
    #: the learner's own cells that raised or timed out while the notebook still ran ("head_dim raised NameError")
    errors: list[str] = field(default_factory=list)
    #: what the LMS download says about the student ({"lms": "canvas", "canvas_user_id": "12345", "name": ...}
    #: or Moodle's participant id), for sending grades back (export.py); {} for other layouts
    identity: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.outcome = Outcome(self.outcome)

    @property
    def graded(self) -> bool:
        """The notebook ran and its checks were scored (stopped notebooks score 0 and are not `graded`)."""
        return self.outcome is Outcome.GRADED


def error_line(output: dict) -> str:
    """An error output of a notebook cell as one line, "ename: evalue" (what `Result.failed` holds)."""
    return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()


#: the cell metadata key under which the grader's executor records a check's verdict in the graded notebook:
#: {"passed": bool, "error": "ename: evalue"}; what grading scores (never what nbgrader read from outputs)
VERDICT = "mha_verdict"


def clear_verdicts(nb) -> None:
    """Drop every verdict a notebook carries: before a run, a submitted notebook's are forgeries."""
    for cell in nb.cells:
        cell.metadata.pop(VERDICT, None)


def verdicts(nb) -> dict[str, dict]:
    """{grade_id: verdict} of the checks that the grader ran on this (graded) notebook."""
    return {cell.metadata.get("nbgrader", {}).get("grade_id", ""): cell.metadata[VERDICT]
            for cell in nb.cells if VERDICT in cell.metadata}


def cell_label(cells: list, index: int) -> str:
    """A cell's name as the feedback page shows it: its grade id (`head_dim`, `check_split_heads`), or, for a
    cell without one, where it stands: `the cell after check_split_heads`, never a number the page doesn't show
    (a repair note or a learner's extra cells shift the numbers anyway)."""
    def gid(i: int) -> str:
        return cells[i].metadata.get("nbgrader", {}).get("grade_id") or ""

    if gid(index):
        return gid(index)
    before = next((gid(i) for i in range(index - 1, -1, -1) if gid(i)), "")
    after = next((gid(i) for i in range(index + 1, len(cells)) if gid(i)), "")
    return f"the cell after {before}" if before else f"the cell before {after}" if after else f"code cell {index + 1}"
