"""The class report for the instructor: score distributions and the mistakes the class made most."""
from __future__ import annotations

import base64
import html
import io
from collections import Counter
from pathlib import Path

from .outcome import Result


def common_mistakes(results: list[Result]) -> list[tuple[str, str, str, int]]:
    """[(notebook, check, message, number of students)], most common first.

    Hidden tests name the mistake in their message, so equal messages mean the same mistake.
    """
    counts: Counter = Counter()
    for r in results:
        for check, message in r.failed.items():
            text = message.split(": ", 1)[-1] if message.startswith(("AssertionError", "NotImplementedError")) else message
            counts[(r.notebook, check, text[:200])] += 1
    return [(nb, check, msg, n) for (nb, check, msg), n in counts.most_common()]


def _figure_png(results: list[Result]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    notebooks = sorted({r.notebook for r in results if r.graded})
    fig, axes = plt.subplots(1, max(len(notebooks), 1), figsize=(3.2 * max(len(notebooks), 1), 2.8), squeeze=False)
    for ax, nb in zip(axes[0], notebooks):
        rows = [r for r in results if r.notebook == nb and r.max_score]
        fractions = [100 * r.score / r.max_score for r in rows]
        ax.hist(fractions, bins=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.01], color="#4c72b0")
        ax.set_title(nb.removesuffix(".ipynb"), fontsize=9)
        ax.set_xlabel("score (%)")
        ax.set_xlim(0, 100)
    axes[0][0].set_ylabel("students")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _summary_rows(results: list[Result]) -> list[list[str]]:
    rows = []
    for nb in sorted({r.notebook for r in results}):
        mine = [r for r in results if r.notebook == nb]
        graded = [r for r in mine if r.graded]
        top = max((r.max_score for r in mine), default=0)
        mean = sum(r.score for r in graded) / len(graded) if graded else 0
        rows.append([nb, str(len(mine)), str(len(graded)), f"{mean:.1f} / {top:g}",
                     str(sum(r.score == r.max_score for r in graded)), str(len(mine) - len(graded))])
    return rows


def _table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def write_report(results: list[Result], out: Path) -> Path:
    """Write out/report.html and out/report.png; return the HTML path."""
    png = _figure_png(results)
    (out / "report.png").write_bytes(png)
    students = len({r.student_id for r in results})
    mistakes = common_mistakes(results)
    problems = [[r.student_id, r.notebook, r.status] for r in results if not r.graded or r.errors]
    flagged = [[r.student_id, r.notebook, "; ".join(f for f in r.flags if f != "not sandboxed")]
               for r in results if any(f != "not sandboxed" for f in r.flags)]
    repaired = [[r.student_id, r.notebook, "; ".join(r.repairs)] for r in results if r.repairs]
    unsandboxed = sum("not sandboxed" in r.flags for r in results)
    banner = (f'<p style="background:#fdd;padding:8px;border:2px solid #c00"><b>{unsandboxed} notebooks ran WITHOUT '
              "a sandbox</b> (bubblewrap missing): their code could read the solutions and hidden tests.</p>"
              if unsandboxed else "")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Class report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}th{{background:#f0f0f0}}</style></head><body>
<h1>Class report</h1>{banner}<p>{students} students, {len(results)} notebooks handed in.</p>
<h2>Scores</h2>{_table(["notebook", "handed in", "graded", "mean score", "full marks", "not graded"], _summary_rows(results))}
<img alt="Score distribution per notebook" src="data:image/png;base64,{base64.b64encode(png).decode()}">
<h2>Most common mistakes</h2>
<p>Each row is one failing check message; the hidden checks name the mistake they detected.</p>
{_table(["students", "notebook", "check", "message"], [[str(n), nb, check, msg] for nb, check, msg, n in mistakes])}
<h2>Submissions that need a look</h2>
<p>Not graded, or graded while one of the learner's own cells failed.</p>
{_table(["student", "notebook", "status"], problems)}
<h2>Notebooks repaired before grading</h2>
<p>Cells that lost their nbgrader metadata, were reordered, duplicated, deleted, edited or turned into
markdown were matched back to the released notebook; the released checks ran. Each student's feedback
starts with the same list.</p>
{_table(["student", "notebook", "repairs"], repaired)}
<h2>Code flagged for a look</h2>
<p>A static scan of the code each learner wrote: patching NumPy / PyTorch / builtins / IPython, AST
transformers, always-true comparisons, file, process and network use. Flags never change a score: the
checks run in the grader, not in the learner's kernel, so such code gains nothing there; it may still be
worth a conversation.</p>
{_table(["student", "notebook", "flags"], flagged)}
</body></html>"""
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
