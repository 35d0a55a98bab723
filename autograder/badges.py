"""README's "Open in Colab" and "Launch Binder" badges: one row per course notebook, from ONE repository URL.

The URL lives in pyproject.toml (`[tool.mha-course] repository = "https://github.com/OWNER/REPO"`; optional
`branch`, default "main"). `python -m autograder release` rewrites the block of README.md between the two
markers below, and `release --check` fails when that block is stale. To move the course (a fork, a new
owner), change the URL there and run `python -m autograder release`.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import nbformat

START, END = "<!-- badges:start -->", "<!-- badges:end -->"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
GITHUB = re.compile(r"^https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")


def _tool_table(text: str) -> dict[str, str]:
    """The `[tool.mha-course]` table of a pyproject.toml (tomllib where there is one: Python 3.11+)."""
    try:
        import tomllib
    except ImportError:                                   # Python 3.10: the table holds plain strings only
        m = re.search(r"^\[tool\.mha-course\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
        pairs = re.findall(r'^\s*([A-Za-z0-9_-]+)\s*=\s*"([^"]*)"', m.group(1), re.M) if m else []
        return dict(pairs)
    return tomllib.loads(text).get("tool", {}).get("mha-course", {})


def repository(pyproject: Path) -> tuple[str, str, str]:
    """(owner, repo, branch) from `[tool.mha-course]` in `pyproject`."""
    table = _tool_table(pyproject.read_text(encoding="utf-8"))
    url = table.get("repository", "")
    m = GITHUB.match(url)
    if not m:
        raise ValueError(f"{pyproject}: [tool.mha-course] repository should be https://github.com/OWNER/REPO, "
                         f"got {url!r}")
    return m.group(1), m.group(2), table.get("branch", "main")


def colab_url(owner: str, repo: str, notebook: str, branch: str = "main") -> str:
    return f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/course/{notebook}"


def binder_url(owner: str, repo: str, notebook: str, branch: str = "main") -> str:
    return f"https://mybinder.org/v2/gh/{owner}/{repo}/{branch}?labpath={quote('course/' + notebook, safe='')}"


def title(notebook_text: str, fallback: str) -> str:
    """The notebook's first Markdown heading ("01 · From token embeddings to attention heads")."""
    nb = nbformat.reads(notebook_text, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def block(notebooks: dict[str, str], owner: str, repo: str, branch: str = "main") -> str:
    """The README block (markers included) for {file name: released notebook text}."""
    rows = [START,
            "<!-- written by `python -m autograder release` from [tool.mha-course] in pyproject.toml: "
            "edit there, not here -->",
            "| notebook | Colab | Binder |", "|---|---|---|"]
    for name in sorted(notebooks):
        stem = name.removesuffix(".ipynb")
        rows.append(f"| {title(notebooks[name], stem)} (`{name}`) "
                    f"| [![Open in Colab]({COLAB_BADGE})]({colab_url(owner, repo, name, branch)}) "
                    f"| [![Launch Binder]({BINDER_BADGE})]({binder_url(owner, repo, name, branch)}) |")
    rows.append(END)
    return "\n".join(rows)


def render(readme: str, new_block: str) -> str:
    """`readme` with the text between the markers (markers included) replaced by `new_block`."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start or readme.count(START) != 1 or readme.count(END) != 1:
        raise ValueError(f"README.md needs exactly one {START} ... {END} block for the badges")
    return readme[:start] + new_block + readme[end + len(END):]


def update_readme(repo_dir: Path, notebooks: dict[str, str], check: bool = False) -> str | None:
    """Bring repo_dir/README.md's badge block up to date with `notebooks` ({file name: released text}).

    Returns a line for the release log: what changed, or (with `check`) why README.md is stale; None when
    it is up to date or when repo_dir has no README.md and pyproject.toml (a course folder elsewhere).
    """
    readme, pyproject = repo_dir / "README.md", repo_dir / "pyproject.toml"
    if not readme.is_file() or not pyproject.is_file():
        return None
    text = readme.read_text(encoding="utf-8")
    new = render(text, block(notebooks, *repository(pyproject)))
    if new == text:
        return None
    if check:
        return "stale: README.md's Colab/Binder badges differ from what course/ and pyproject.toml give"
    readme.write_text(new, encoding="utf-8")
    return "updated the Colab/Binder badges in README.md"
