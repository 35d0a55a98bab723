"""`python -m autograder release`: regenerate `course/` from `solutions/`, byte for byte reproducibly."""
from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat

from . import badges, pieces, staged
from .nbcourse import build_course
from .selfcheck import add_self_check
from .paths import COURSE, SOLUTIONS, notebook_names


def normalise(nb: nbformat.NotebookNode) -> str:
    """The released notebook as text with everything that varies between runs removed."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nbformat.writes(nb) + "\n"


def released_notebooks(solutions: Path = SOLUTIONS) -> dict[str, str]:
    """Run nbgrader's generate_assignment on `solutions` and return {file name: notebook text}."""
    with tempfile.TemporaryDirectory(prefix="mha-release-") as tmp:
        course = build_course(Path(tmp), solutions)
        return {name: normalise(add_self_check(nbformat.read(course.release_dir() / name, as_version=4)))
                for name in notebook_names(course.release_dir())}


def release(course_dir: Path = COURSE, solutions: Path = SOLUTIONS, check: bool = False,
            upto: str | None = None) -> int:
    """Write (or with `check`, compare) the student notebooks. Returns a process exit code.

    With `upto` ("03"), only the notebooks up to that one are released (a staged term, see staged.py): the
    later ones are removed from `course_dir` (with `check`: reported as extra)."""
    drift = pieces.stale(solutions, write=not check)   # the earlier-pieces cells and bench's copy (pieces.py)
    if drift and not check:
        print("rewrote from the solutions: " + ", ".join(drift))
    everything = released_notebooks(solutions)
    wanted = everything if upto is None else {n: everything[n] for n in staged.upto(sorted(everything), upto)}
    course_dir.mkdir(parents=True, exist_ok=True)
    present = set(notebook_names(course_dir))
    stale = sorted(name for name, text in wanted.items()
                   if name not in present or (course_dir / name).read_text(encoding="utf-8") != text)
    extra = sorted(present - set(wanted))
    # the record of a staged release (staged.MANIFEST): what `grade` checks leaked answers against; none for a full one
    record = staged.read_record(course_dir)
    record_wrong = record != sorted(wanted) if upto is not None else record is not None
    readme = badges.update_readme(course_dir.parent, wanted, check=check)  # README's Colab/Binder badges
    if check:
        if not stale and not extra and not readme and not drift and not record_wrong:
            print(f"course/ is up to date with solutions/ ({len(wanted)} notebooks)")
            return 0
        for name in drift:
            print(f"stale: {name} differs from the solution cells it copies (pieces.py)")
        for name in stale:
            print(f"stale: course/{name} differs from what solutions/{name} releases")
        for name in extra:
            print(f"extra: course/{name} " + (f"comes after --upto {upto}" if name in everything
                                               else "has no source in solutions/"))
        if record_wrong:
            print(f"stale: course/{staged.MANIFEST} " + (f"does not list the notebooks up to {upto}" if upto is not None
                                                         else "records a staged release; this is the full one"))
        if readme:
            print(readme)
        print(f"Run `python -m autograder release{f' --upto {upto}' if upto else ''}` and commit course/ "
              "(never edit course/ by hand).")
        return 1
    for name in stale:
        (course_dir / name).write_text(wanted[name], encoding="utf-8")
    for name in extra:
        (course_dir / name).unlink()
    print(f"released {len(wanted)} notebooks to {course_dir} ({len(stale)} changed, {len(extra)} removed)")
    if upto is None and record is not None:
        (course_dir / staged.MANIFEST).unlink()
        print(f"removed {staged.MANIFEST}: the whole course is released, no longer a staged term")
    if upto is not None:
        print(f"recorded what learners now have in {staged.record(course_dir, sorted(wanted), max(wanted))}")
        given = staged.exposed(course_dir, solutions)
        print(f"staged release up to {max(wanted)}: " + (
            "its earlier-pieces cells hold the answers of " + ", ".join(sorted(given)) + "; grade those first"
            if given else "no answers of an earlier notebook are in it"))
    if readme:
        print(readme)
    return 0
