"""OUT/gradebook.db: nbgrader's tools see every score, and nothing waits for manual grading."""
import warnings

from autograder.gradebook import write_gradebook
from autograder.names import safe_id
from autograder.nbcourse import build_course
from autograder.outcome import Outcome, Result

NB1, NB2 = "01_projections.ipynb", "02_scaled_attention.ipynb"


def test_a_student_who_handed_in_some_notebooks_waits_for_no_manual_grading(tmp_path):
    from nbgrader.api import Gradebook

    course = build_course(tmp_path / "course", only=[NB1, NB2])
    results = [Result("amy", NB1, 2.0, 8.0, "graded", cells={"check_head_dim": [2.0, 2.0]}),
               Result("amy", NB2, 0.0, 14.0, "invalid notebook: not valid JSON", outcome=Outcome.REFUSED)]
    (tmp_path / "out").mkdir()
    path = write_gradebook(results, course.root / "gradebook.db", tmp_path / "out")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(f"sqlite:///{path}") as gb:
            sub = gb.find_submission("mha", "amy")
            assert not sub.needs_manual_grade
            scores = {nb.name: (nb.score, nb.needs_manual_grade) for nb in sub.notebooks}
            waiting = [(nb.name, g.name) for nb in sub.notebooks for g in nb.grades if g.needs_manual_grade]
    assert not waiting, waiting   # formgrader would list these as waiting for a grader
    assert scores["01_projections"] == (2.0, False)
    assert all(score == 0 for name, (score, _) in scores.items() if name != "01_projections"), scores


def test_a_student_whose_files_were_all_refused_is_in_the_gradebook_without_a_submission(tmp_path):
    """nbgrader's export lists them with 0; before, they were missing from it. An unknown owner adds no one."""
    from nbgrader.api import Gradebook

    course = build_course(tmp_path / "course", only=[NB1])
    results = [Result("amy", NB1, 8.0, 8.0, "graded", cells={"check_head_dim": [2.0, 2.0]}),
               Result("bob", NB1, 0.0, 8.0, "invalid notebook: not valid JSON", outcome=Outcome.REFUSED),
               Result("Zoë Ng", NB1, 0.0, 8.0, "invalid notebook: the file is empty", outcome=Outcome.REFUSED),
               Result("?", "x.ipynb", 0.0, 0.0, "not graded: can't tell whose file", outcome=Outcome.REFUSED)]
    (tmp_path / "out").mkdir()
    path = write_gradebook(results, course.root / "gradebook.db", tmp_path / "out")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(f"sqlite:///{path}") as gb:
            students = sorted(s.id for s in gb.students)
            submitted = sorted(s.student.id for s in gb.find_assignment("mha").submissions)
    assert students == sorted(["amy", "bob", safe_id("Zoë Ng")]) and submitted == ["amy"]


def test_a_grading_worker_shares_one_engine_per_gradebook(tmp_path, monkeypatch):
    """nbgrader makes a new SQLAlchemy engine, with an empty statement cache, each time it opens its gradebook
    (about ten times a notebook); a grading worker shares one per database (nbcourse.share_gradebook_engines).
    This holds only while nbgrader's Gradebook makes its engine through `nbgrader.api.create_engine`."""
    import nbgrader.api
    from nbgrader.api import Gradebook

    from autograder.nbcourse import share_gradebook_engines

    import sqlalchemy

    # as nbgrader has it (a grading run in this process may have shared it already); put back afterwards
    monkeypatch.setattr(nbgrader.api, "create_engine", sqlalchemy.create_engine)
    share_gradebook_engines(most=2)
    urls = [f"sqlite:///{tmp_path / f'{name}.db'}" for name in ("a", "b", "c")]
    with Gradebook(urls[0]) as first:
        first.add_student("amy")
    with Gradebook(urls[0]) as again:   # the same engine, and what the first one wrote
        assert again.engine is first.engine and [s.id for s in again.students] == ["amy"]
    with Gradebook(urls[1]) as other, Gradebook(urls[2]):
        assert other.engine is not first.engine and other.students == []
    with Gradebook(urls[0]) as later:   # the two most recent databases keep their engines: a new one here
        assert later.engine is not first.engine and [s.id for s in later.students] == ["amy"]


def test_a_new_gradebook_is_stamped_with_nbgraders_version_without_running_alembic(tmp_path, monkeypatch):
    """nbgrader stamps a new gradebook with its database version, asked of the program `alembic heads` (3 s of CPU
    in a new Python); the grader reads the same migration scripts in its own process
    (nbcourse.stamp_gradebooks_in_process). The stamp is the program's, and no program runs: not even found."""
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    import nbgrader.api
    from nbgrader.api import Gradebook
    from nbgrader.dbutil import _temp_alembic_ini

    from autograder.nbcourse import stamp_gradebooks_in_process

    with _temp_alembic_ini(f"sqlite:///{tmp_path / 'scratch.db'}") as ini:   # what nbgrader runs, run here
        heads = subprocess.run([str(Path(sys.executable).parent / "alembic"), "-c", ini, "heads"],
                               capture_output=True, text=True, check=True).stdout
    monkeypatch.setattr(nbgrader.api, "get_alembic_version", nbgrader.api.get_alembic_version)   # put back after
    stamp_gradebooks_in_process()
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))   # `alembic` can't be found now
    monkeypatch.setattr(subprocess, "Popen", None)                 # nor any program started
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(f"sqlite:///{tmp_path / 'new.db'}") as gb:
            gb.add_student("amy")
    stamp, = sqlite3.connect(tmp_path / "new.db").execute("SELECT version_num FROM alembic_version").fetchone()
    assert stamp == heads.split()[0] and len(stamp) == 12, (stamp, heads)
