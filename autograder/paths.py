"""Where the course lives: the solution notebooks, the released notebooks, the sample answers."""
from __future__ import annotations

from pathlib import Path

def _repo() -> Path:
    """The course checkout: the folder above this package, or the current folder when installed elsewhere."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "solutions").is_dir() else Path.cwd()


REPO = _repo()
SOLUTIONS = REPO / "solutions"
COURSE = REPO / "course"

#: nbgrader needs an assignment name; every notebook of the course belongs to this one.
ASSIGNMENT = "mha"


def notebook_names(folder: Path = SOLUTIONS) -> list[str]:
    """File names of the course notebooks in `folder`, in course order (01_..., 02_...)."""
    return sorted(p.name for p in folder.glob("*.ipynb"))

