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
