"""OUT/gradebook.db: nbgrader's tools see every score, and nothing waits for manual grading."""
import warnings

from autograder.gradebook import write_gradebook
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
