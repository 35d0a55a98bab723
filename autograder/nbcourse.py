"""A throw-away nbgrader course directory built from `solutions/`.

nbgrader wants a course root with `source/<assignment>/`, a gradebook and a config. We build one in a
temporary folder for every release or grading run, so that nothing of nbgrader's state leaks between runs.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from traitlets.config import Config

from .paths import ASSIGNMENT, SOLUTIONS, notebook_names
from .options import GradeOptions
from .errors import CourseError

#: What a learner sees in place of a removed solution.
CODE_STUB = '# YOUR CODE HERE\nraise NotImplementedError("Exercise not done yet: replace this line with your code")'


def nbgrader_config(root: Path, options: GradeOptions | None = None, preload: list[str] | None = None) -> Config:
    """nbgrader's settings for a course in `root`; notebooks execute in the sandbox of `autograder.sandbox` as
    `options` say (their isolation already decided: "bwrap", or "none" for limits only)."""
    options = options or GradeOptions(isolation="bwrap")
    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = "mha-course"
    c.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    # Cells missing from a submission (deleted by the learner) are put back from the release.
    c.OverwriteCells.add_missing_cells = True
    # `Execute.timeout` wins over `ExecutePreprocessor.timeout` in nbgrader 0.9.
    c.Execute.timeout = options.cell_timeout
    # A cell that times out stops the notebook: its kernel is killed, not interrupted (see execute.py).
    c.Execute.interrupt_on_timeout = False
    c.Execute.shutdown_kernel = "immediate"
    c.SandboxedExecute.limits = asdict(options.limits)
    c.SandboxedExecute.isolation = options.isolation
    c.SandboxedExecute.kernels = options.kernels
    c.SandboxedExecute.preload = list(preload or [])
    # the checks run in the grader, from the source notebooks (with the hidden tests), never in the kernel
    c.SandboxedExecute.source_dir = str(root / "source" / ASSIGNMENT)
    c.Autograde.autograde_preprocessors = [  # nbgrader's list, with Execute replaced
        "autograder.execute.SandboxedExecute", "nbgrader.preprocessors.IgnorePattern",
        "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
        "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
        "nbgrader.preprocessors.CheckCellMetadata"]
    c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
    c.Exchange.root = str(root / "exchange")
    # Feedback shows what failed and why, but not the hidden tests' code (nbgrader shows it by default).
    c.GenerateFeedback.preprocessors = [
        "nbgrader.preprocessors.GetGrades",
        "autograder.feedback.HideHiddenTests",
        "autograder.feedback.Sanitize",
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    ]
    # nbconvert validates the notebook after every preprocessor (9 times per notebook); once, at the end, is
    # enough: an invalid result is still refused, only without the name of the preprocessor that made it
    c.Exporter.optimistic_validation = True
    c.Application.log_level = logging.WARNING
    return c


@dataclass
class NbgraderCourse:
    root: Path
    config: Config

    @property
    def api(self):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        if not hasattr(self, "_api"):
            coursedir = CourseDirectory(config=self.config)
            self._api = NbGraderAPI(coursedir, config=self.config)
        return self._api

    def release_dir(self) -> Path:
        return self.root / "release" / ASSIGNMENT

    def submitted_dir(self, student_id: str) -> Path:
        return self.root / "submitted" / student_id / ASSIGNMENT

    def autograded_notebook(self, student_id: str, notebook: str) -> Path:
        return self.root / "autograded" / student_id / ASSIGNMENT / notebook


def share_gradebook_engines(most: int = 16) -> None:
    """nbgrader opens its gradebook (`nbgrader.api.Gradebook`) about ten times for each notebook it grades, each
    time with a new SQLAlchemy engine whose compiled-statement cache starts empty: a tenth of a second of CPU
    per notebook. In a grading worker, the gradebooks of one database share one engine instead (the `most`
    recent databases keep theirs). nbgrader is pinned (==0.9.6) and tests/test_gradebook.py checks that
    Gradebook still makes its engine through `nbgrader.api.create_engine`."""
    import nbgrader.api as api
    from sqlalchemy import create_engine

    if getattr(api.create_engine, "shared", False):
        return
    engines: dict[tuple, object] = {}

    def shared(url, **kwargs):
        key = (str(url), tuple(sorted(kwargs.items())))
        if key not in engines:
            if len(engines) >= most:
                engines.pop(next(iter(engines))).dispose()
            engines[key] = create_engine(url, **kwargs)
        return engines[key]

    shared.shared = True
    api.create_engine = shared


def stamp_gradebooks_in_process() -> None:
    """nbgrader stamps each new gradebook with its database version, which it asks of `alembic heads` run as a
    program (`nbgrader.api.get_alembic_version`): a new Python that imports nbgrader again, about 3 s of CPU for
    every course generated. The version comes from the same migration scripts, read here in this process (0.1 s).
    nbgrader is pinned (==0.9.6); tests/test_gradebook.py checks that both ways give the same version."""
    import nbgrader.api as api

    if getattr(api.get_alembic_version, "in_process", False):
        return

    def in_process() -> str:
        from alembic.script import ScriptDirectory
        from nbgrader.dbutil import ALEMBIC_DIR

        head = ScriptDirectory(ALEMBIC_DIR).get_current_head()
        if head is None:
            raise CourseError(f"nbgrader's database migrations in {ALEMBIC_DIR} name no version")
        return head

    in_process.in_process = True  # type: ignore[attr-defined]
    api.get_alembic_version = in_process


def _cache_key(solutions: Path, names: list[str]) -> str:
    """Changes whenever generate_assignment could give something else: the notebooks, nbgrader, this file."""
    import nbgrader

    h = hashlib.sha256(f"{nbgrader.__version__}\n{CODE_STUB}\n".encode())
    h.update(Path(__file__).read_bytes())
    for name in names:
        h.update(name.encode() + b"\0" + (solutions / name).read_bytes())
    return h.hexdigest()[:20]


def cache_dir() -> Path:
    """Where generated courses are kept between runs: $MHA_CACHE, else ~/.cache/mha-course."""
    env = os.environ.get("MHA_CACHE")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mha-course"
    return base


def build_course(root: Path, solutions: Path = SOLUTIONS, use_cache: bool = True,
                 only: list[str] | None = None) -> NbgraderCourse:
    """An nbgrader course in `root` generated from the solution notebooks (`only` these, if given:
    nbgrader's autograde writes gradebook rows for every notebook of the course, handed in or not).

    nbgrader's generate_assignment takes about a second per notebook, so its result is kept in
    `cache_dir()` under a hash of everything it depends on, and copied from there when nothing changed.
    """
    names = [n for n in notebook_names(solutions) if only is None or n in only]
    if not names:
        raise CourseError(f"no notebooks found in {solutions}: the solution notebooks are the course's source")
    stamp_gradebooks_in_process()   # for the gradebook generated here, or one made later in this process
    cached = cache_dir() / f"course-{_cache_key(solutions, names)}"
    if use_cache and (cached / "gradebook.db").is_file():
        shutil.copytree(cached, root, dirs_exist_ok=True)
        return NbgraderCourse(root, nbgrader_config(root))
    course = _generate(root, solutions, names)
    if use_cache:
        _store(root, cached)
    return course


def _store(root: Path, cached: Path) -> None:
    """Copy, then rename: a parallel run sees the whole course or none of it. A cache that can't be
    written (read-only home, full disk) only costs time."""
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix="partial-", dir=cached.parent))
    except OSError:
        return
    try:
        shutil.copytree(root, partial, dirs_exist_ok=True)
        partial.rename(cached)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)


def _generate(root: Path, solutions: Path, names: list[str]) -> NbgraderCourse:
    """Copy the solution notebooks into `root/source/` and run nbgrader's generate_assignment there."""
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(solutions / name, source / name)
    course = NbgraderCourse(root, nbgrader_config(root))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = course.api.generate_assignment(ASSIGNMENT, force=True)
    if not result["success"]:
        raise CourseError("nbgrader generate_assignment failed on solutions/:\n" + result.get("error", "")
                         + result.get("log", ""))
    return course
