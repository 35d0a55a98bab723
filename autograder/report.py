"""The class report for the instructor: the class at a glance (student x notebook), each check's pass rate
and the mistakes behind its failures, score distributions, and what needs a look. One HTML file that fits
a 1280 px window and works offline (no scripts or styles from elsewhere)."""
from __future__ import annotations

import base64
import html
import io
import math
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from .outcome import NOT_SANDBOXED, Outcome, Result

CHARTS_PER_ROW = 4


def _mistake(message: str) -> str:
    """The sentence that names the mistake: hidden tests name it in their message, after the error type."""
    text = message.split(": ", 1)[-1] if message.startswith(("AssertionError", "NotImplementedError")) else message
    return text[:200]


def common_mistakes(results: list[Result]) -> list[tuple[str, str, str, int]]:
    """[(notebook, check, message, number of students)], most common first.

    Hidden tests name the mistake in their message, so equal messages mean the same mistake.
    """
    counts: Counter = Counter()
    for r in results:
        for check, message in r.failed.items():
            counts[(r.notebook, check, _mistake(message))] += 1
    return [(nb, check, msg, n) for (nb, check, msg), n in counts.most_common()]


def _figure_png(results: list[Result]) -> bytes:
    """Score histograms, CHARTS_PER_ROW to a row, 1000 px wide whatever the number of notebooks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    notebooks = sorted({r.notebook for r in results if r.graded}) or [""]
    cols = min(len(notebooks), CHARTS_PER_ROW)
    rows = math.ceil(len(notebooks) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.3 * rows), squeeze=False)
    for ax in axes.flat[len(notebooks):]:
        ax.set_visible(False)
    for ax, nb in zip(axes.flat, notebooks):
        fractions = [100 * r.score / r.max_score for r in results if r.notebook == nb and r.max_score]
        ax.hist(fractions, bins=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.01], color="#4c72b0")
        ax.set_title(nb.removesuffix(".ipynb"), fontsize=9)
        ax.set_xlabel("score (%)", fontsize=8)
        ax.set_xlim(0, 100)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.tick_params(labelsize=8)
    for row in axes:
        row[0].set_ylabel("students", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
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


def _table(head: list[str], rows: list[list[str]], empty: str = "") -> str:
    """An HTML table, or the sentence `empty` when there are no rows."""
    if not rows and empty:
        return f'<p class="none">{html.escape(empty)}</p>'
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def _colour(fraction: float) -> str:
    """Red (0) through yellow to green (1), light enough for black text."""
    return f"hsl({round(120 * fraction)}, 65%, 82%)"


def _matrix(results: list[Result]) -> str:
    """Student x notebook: each score coloured by its fraction and linked to that feedback page; sortable."""
    notebooks = sorted({r.notebook for r in results})
    by = {(r.student_id, r.notebook): r for r in results}
    head = "".join(f'<th title="{html.escape(nb)}" data-type="num">{html.escape(nb.split("_")[0])}</th>'
                   for nb in notebooks)
    rows = []
    for student in sorted({r.student_id for r in results}):
        cells, got, top = [], 0.0, 0.0
        for nb in notebooks:
            r = by.get((student, nb))
            if r is None:
                cells.append('<td class="missing" data-sort="-1" title="not handed in">–</td>')
                continue
            got, top = got + r.score, top + r.max_score
            fraction = r.score / r.max_score if r.max_score else 0.0
            text = html.escape(f"{r.score:g}/{r.max_score:g}")
            tip = html.escape(f"{student}, {nb}: {r.status}", quote=True)
            link = f'<a href="{html.escape(quote(r.feedback))}">{text}</a>' if r.feedback else text
            mark = "" if r.outcome is Outcome.GRADED and not r.errors else " ⚠"
            cells.append(f'<td style="background:{_colour(fraction)}" data-sort="{fraction:.4f}" title="{tip}">'
                         f"{link}{mark}</td>")
        total = got / top if top else 0.0
        rows.append(f'<tr><td data-sort="{html.escape(student)}">{html.escape(student)}</td>{"".join(cells)}'
                    f'<td data-sort="{total:.4f}">{100 * total:.0f}%</td></tr>')
    return (f'<table id="matrix" class="sortable"><thead><tr><th data-type="text">student</th>{head}'
            f'<th data-type="num">total</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _checks(results: list[Result]) -> str:
    """Per notebook: each check's pass rate among the notebooks that ran, and the mistakes behind its failures."""
    parts = []
    for nb in sorted({r.notebook for r in results if r.graded}):
        graded = [r for r in results if r.notebook == nb and r.graded]
        names = list(dict.fromkeys(gid for r in graded for gid in r.cells))
        rows = []
        for gid in names:
            ran = [r for r in graded if gid in r.cells]
            passed = sum(r.cells[gid][0] >= r.cells[gid][1] for r in ran)
            points = max(r.cells[gid][1] for r in ran)
            why = Counter(_mistake(r.failed[gid]) for r in ran if gid in r.failed)
            mistakes = "".join(f"<li>{n} × {html.escape(msg)}</li>" for msg, n in why.most_common())
            rate = passed / len(ran)
            rows.append(f"<tr><td><code>{html.escape(gid)}</code></td><td>{points:g}</td>"
                        f'<td class="rate"><span class="bar" style="width:{100 * rate:.0f}%;background:'
                        f'{_colour(rate)}"></span><span class="num">{passed}/{len(ran)} ({100 * rate:.0f}%)</span></td>'
                        f'<td>{f"<ul>{mistakes}</ul>" if mistakes else ""}</td></tr>')
        parts.append(f"<h3>{html.escape(nb)}</h3><table class=\"checks\"><tr><th>check</th><th>points</th>"
                     f"<th>passed</th><th>mistakes behind the failures (students)</th></tr>{''.join(rows)}</table>")
    return "".join(parts) or '<p class="none">No notebook was graded.</p>'


STYLE = """body{font-family:sans-serif;max-width:1160px;margin:2em auto;padding:0 1em;box-sizing:border-box}
table{border-collapse:collapse;margin:1em 0;max-width:100%}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#f0f0f0}img{max-width:100%;height:auto}p.none{color:#555;font-style:italic}
#matrix td{text-align:center;white-space:nowrap}#matrix td:first-child{text-align:left}
#matrix th{cursor:pointer;user-select:none}#matrix th:after{content:" ⇅";color:#999}
#matrix td.missing{color:#999;background:#fafafa}#matrix a{color:#000}
table.checks{width:100%}table.checks td:first-child{white-space:nowrap}table.checks td.rate{width:170px;position:relative;white-space:nowrap}
.bar{position:absolute;left:0;top:0;bottom:0;opacity:.9}.num{position:relative}
table.checks ul{margin:0;padding-left:1.2em}"""

# Click a column heading of the matrix to sort by it; click again to reverse.
SORT = """document.querySelectorAll("table.sortable th").forEach((th, col) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0], up = th.dataset.dir !== "up";
  th.dataset.dir = up ? "up" : "down";
  const key = tr => tr.cells[col].dataset.sort;
  const rows = Array.from(body.rows).sort((a, b) => th.dataset.type === "num"
    ? parseFloat(key(a)) - parseFloat(key(b)) : key(a).localeCompare(key(b)));
  if (!up) rows.reverse();
  rows.forEach(tr => body.appendChild(tr));
}));"""


def write_report(results: list[Result], out: Path) -> Path:
    """Write out/report.html and out/report.png; return the HTML path."""
    png = _figure_png(results)
    (out / "report.png").write_bytes(png)
    course = [r for r in results if r.max_score > 0]   # course notebooks; other files have no maximum
    others = len(results) - len(course)
    students = len({r.student_id for r in course})
    mistakes = common_mistakes(results)
    problems = [[r.student_id, r.notebook, r.status] for r in results if not r.graded or r.errors]
    flagged = [[r.student_id, r.notebook, "; ".join(f for f in r.flags if f != NOT_SANDBOXED)]
               for r in results if any(f != NOT_SANDBOXED for f in r.flags)]
    repaired = [[r.student_id, r.notebook, "; ".join(r.repairs)] for r in results if r.repairs]
    unsandboxed = sum(NOT_SANDBOXED in r.flags for r in results)
    banner = (f'<p style="background:#fdd;padding:8px;border:2px solid #c00"><b>{unsandboxed} notebooks ran WITHOUT '
              "a sandbox</b> (bubblewrap missing): their code could read the solutions and hidden tests.</p>"
              if unsandboxed else "")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Class report</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head><body>
<h1>Class report</h1>{banner}<p>{students} students, {len(course)} course notebooks handed in{
    f"; {others} other file{'s' if others > 1 else ''}, not graded (see <em>Submissions that need a look</em>)"
    if others else ""}.</p>
<h2>The class at a glance</h2>
<p>One row per student, one column per notebook: the score, coloured from red (0) to green (full marks), links to
that student's feedback page; ⚠ marks a notebook that was not graded, was stopped, or where one of the learner's
own cells failed (hover for the status); – means not handed in. Click a column heading to sort by it.</p>
{_matrix(course) if course else '<p class="none">No course notebook was handed in.</p>'}
<h2>Scores</h2>{_table(["notebook", "handed in", "graded", "mean score", "full marks", "not graded"], _summary_rows(course))}
<img alt="Score distribution per notebook" src="data:image/png;base64,{base64.b64encode(png).decode()}">
<h2>Checks</h2>
<p>For each notebook, how many of the graded notebooks pass each check, and the mistakes (named by the hidden
checks) behind its failures.</p>
{_checks(results)}
<h2>Most common mistakes</h2>
<p>Each row is one failing check message; the hidden checks name the mistake they detected.</p>
{_table(["students", "notebook", "check", "message"], [[str(n), nb, check, msg] for nb, check, msg, n in mistakes],
        "No check failed.")}
<h2>Submissions that need a look</h2>
<p>Not graded, or graded while one of the learner's own cells failed.</p>
{_table(["student", "notebook", "status"], problems, "None: every notebook was graded and every learner's cell ran.")}
<h2>Notebooks repaired before grading</h2>
<p>Cells that lost their nbgrader metadata, were reordered, duplicated, deleted, edited or turned into
markdown were matched back to the released notebook; the released checks ran. Each student's feedback
starts with the same list.</p>
{_table(["student", "notebook", "repairs"], repaired, "None: every notebook had the released cells, in order.")}
<h2>Code flagged for a look</h2>
<p>A static scan of the code each learner wrote: patching NumPy / PyTorch / builtins / IPython, AST
transformers, always-true comparisons, file, process and network use. Flags never change a score: the
checks run in the grader, not in the learner's kernel, so such code gains nothing there; it may still be
worth a conversation.</p>
{_table(["student", "notebook", "flags"], flagged, "None: the scan flagged no code.")}
<script>{SORT}</script>
</body></html>"""
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
