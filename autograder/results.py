"""Write what grading found: `grades.csv`, `details.json`, and a table on the terminal."""
from __future__ import annotations

import csv
import json
import re
from dataclasses import asdict
from pathlib import Path

from .outcome import Result

COLUMNS = ["student_id", "notebook", "score", "max_score", "status", "failed_checks", "feedback", "flags", "repairs"]


#: what a spreadsheet reads as the start of a formula (`=HYPERLINK(...)` as a folder name)
FORMULA_START = tuple("=+-@\t\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?(e[+-]?\d+)?")


def _fmt(x: float) -> str:
    return f"{x:g}"


def csv_cell(value: str) -> str:
    """A text cell as a spreadsheet shows it and never runs it: one that would start a formula gets a `'` first
    (OWASP's advice on CSV injection); numbers are kept as they are."""
    return "'" + value if value.startswith(FORMULA_START) and not NUMBER.fullmatch(value) else value


def write_csv(results: list[Result], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for r in results:
            failed = " | ".join(f"{gid}: {msg}" for gid, msg in r.failed.items())
            w.writerow([csv_cell(v) for v in (r.student_id, r.notebook, _fmt(r.score), _fmt(r.max_score), r.status,
                                              failed, r.feedback, " | ".join(r.flags), " | ".join(r.repairs))])


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


def page_path(out: Path, folder: str, name: str) -> Path:
    """`out/feedback/<folder>/<name>`, ready to be written: a link where a student's folder or page should be (not
    the grader's: someone put it there) is removed, so that writing never follows it elsewhere. (`out/feedback`
    itself may be a link an instructor made, to a shared folder: it is kept.)"""
    dest = out / "feedback" / folder / name
    for path in (dest.parent, dest):
        if path.is_symlink():
            path.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest


def prune_pages(results: list[Result], out: Path) -> int:
    """Remove the feedback pages under out/feedback that no row links: an earlier run's into the same folder,
    which would contradict these grades if sent (a file renamed since, now refused). How many went."""
    root = out / "feedback"
    if root.is_symlink() or not root.is_dir():   # a folder an instructor linked elsewhere may hold others' pages
        return 0
    linked = {out / r.feedback for r in results if r.feedback}
    folders = [f for f in root.iterdir() if f.is_dir() and not f.is_symlink()]   # never into a link out of OUT
    stale = [page for folder in folders for page in folder.glob("*.html") if page not in linked]
    for page in stale:
        page.unlink()   # a link is removed, never what it points to
    for folder in folders:
        if not any(folder.iterdir()):
            folder.rmdir()
    return len(stale)


def write_all(results: list[Result], out: Path) -> None:
    """grades.csv, details.json and the report for `results`; out/feedback keeps only the pages they link."""
    from .report import write_report

    out.mkdir(parents=True, exist_ok=True)
    prune_pages(results, out)
    write_csv(results, out / "grades.csv")
    write_details(results, out / "details.json")
    write_report(results, out)
