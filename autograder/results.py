"""Write what grading found: `grades.csv`, `details.json`, and a table on the terminal."""
from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

from .outcome import Result

COLUMNS = ["student_id", "notebook", "score", "max_score", "status", "failed_checks", "feedback", "flags", "repairs"]


def _fmt(x: float) -> str:
    return f"{x:g}"


def write_csv(results: list[Result], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for r in results:
            failed = " | ".join(f"{gid}: {msg}" for gid, msg in r.failed.items())
            w.writerow([r.student_id, r.notebook, _fmt(r.score), _fmt(r.max_score), r.status, failed, r.feedback,
                        " | ".join(r.flags), " | ".join(r.repairs)])


def write_details(results: list[Result], path: Path) -> None:
    path.write_text(json.dumps([asdict(r) for r in results], indent=1), encoding="utf-8")


def table(results: list[Result], width: int = 100) -> str:
    """A plain-text grade table: one line per student and notebook, the first failing check beneath."""
    rows = [("student", "notebook", "score", "status")]
    rows += [(r.student_id, r.notebook.removesuffix(".ipynb"), f"{_fmt(r.score)}/{_fmt(r.max_score)}",
              r.status) for r in results]
    w = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(row[j].ljust(w[j]) for j in range(3)) + "  " + row[3])
        if i == 0:
            lines.append("-" * min(sum(w) + 6 + len(row[3]) + 40, 120))
        elif results[i - 1].failed:
            gid, msg = next(iter(results[i - 1].failed.items()))
            more = len(results[i - 1].failed) - 1
            text = f"{gid}: {msg}"
            text = text if len(text) <= width else text[: width - 3] + "..."
            lines.append(" " * (w[0] + 2) + "└ " + text + (f"  (+{more} more)" if more else ""))
    return "\n".join(lines)


def write_all(results: list[Result], out: Path) -> None:
    from .report import write_report

    out.mkdir(parents=True, exist_ok=True)
    write_csv(results, out / "grades.csv")
    write_details(results, out / "details.json")
    write_report(results, out)
