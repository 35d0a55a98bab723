"""Every catalogued wrong answer loses points with a message naming the mistake; correct variants keep full marks."""
import pytest

from autograder import samples
from conftest import catalogue_files


def _cases():
    for path in catalogue_files():
        cat = samples.load_catalogue(path)
        for kind in ("WRONG", "CORRECT"):
            for case in cat[kind]:
                yield pytest.param(f"{kind.lower()}-{case['name']}", id=f"{path.stem}-{kind.lower()}-{case['name']}")


@pytest.mark.parametrize("student", list(_cases()))
def test_catalogue_case(batch, student):
    by_student, cases, _ = batch
    assert samples.check_catalogue({student: cases[student]}, by_student.get(student, [])) == []



def test_class_report_counts_each_diagnosed_mistake(batch):
    from autograder.report import common_mistakes

    by_student, cases, _ = batch
    rows = [r for results in by_student.values() for r in results]
    mistakes = {(nb, check, msg.split(":")[0]): n for nb, check, msg, n in common_mistakes(rows)}
    # the catalogue's two splits that mix tokens (one of them also rewrites its input), counted as one mistake
    mixing = [s for s, case in cases.items() if "mix tokens" in case.get("fails", {}).get("check_split_heads", "")]
    assert len(mixing) == 2, mixing
    assert mistakes[("01_projections.ipynb", "check_split_heads", "your heads mix tokens")] == len(mixing)
    # the blank notebooks fail every check with the same "not done yet" message
    assert any(msg.startswith("Exercise not done yet") for _, _, msg, _ in common_mistakes(rows))


def test_catalogue_is_big_enough():
    """Issue 3: at least 25 wrong answers and 8 correct variants across notebooks 01-04."""
    wrong = correct = 0
    for path in catalogue_files():
        if path.stem in ("nb01", "nb02", "nb03", "nb04"):
            cat = samples.load_catalogue(path)
            wrong, correct = wrong + len(cat["WRONG"]), correct + len(cat["CORRECT"])
    assert wrong >= 25 and correct >= 8, (wrong, correct)


def _own_checks(notebook: str, exercise: str) -> set[str]:
    """The checks that test one exercise (by its grade_id): those that follow it, before the next exercise."""
    from autograder.checker import HELPER_CELLS, spec_for
    from autograder.paths import SOLUTIONS

    import nbformat
    nb = nbformat.read(SOLUTIONS / notebook, as_version=4)
    owner, checks = None, set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            owner = meta["grade_id"]
        elif meta.get("grade") and owner == exercise and meta["grade_id"] not in HELPER_CELLS:
            checks.add(meta["grade_id"])
    assert checks and checks <= set(spec_for(SOLUTIONS / notebook).checks)
    return checks


@pytest.mark.parametrize("path", catalogue_files(), ids=lambda p: p.stem)
def test_one_wrong_early_exercise_costs_points_in_its_own_checks_only(batch, path):
    """Issue 12: the wrong answers to each notebook's first exercises that later exercises build on lose
    points in their own checks and nowhere else (later checks use the reference solution)."""
    by_student, _, _ = batch
    cat = samples.load_catalogue(path)
    first = [c for c in cat["WRONG"] if len(c["answers"]) == 1]
    exercises = {next(iter(c["answers"])) for c in first}
    order = [e for e in samples.reference_answers(cat["NOTEBOOK"]) if e in exercises]
    earliest = [c for c in first if next(iter(c["answers"])) == order[0]]
    assert earliest
    for case in earliest:
        (row,) = by_student[f"wrong-{case['name']}"]
        own = _own_checks(cat["NOTEBOOK"], order[0])
        assert row.failed and set(row.failed) <= own, (case["name"], row.failed, own)


def test_check_level_grades_as_the_whole_notebook_does(batch):
    """The sampled submissions (the first wrong answer of every notebook, and two blank notebooks, one with an
    unanswered question) were graded both ways: the same score, the same failed checks and the same messages."""
    from conftest import WHOLE_BLANKS

    assert len(batch.both) >= len(catalogue_files()) + len(WHOLE_BLANKS)
    for key, (whole, quick) in batch.both.items():
        assert whole.graded and quick.graded, (key, whole.status, quick.status)
        assert (quick.score, quick.max_score) == (whole.score, whole.max_score), key
        assert quick.failed == whole.failed, key


def test_cases_that_read_a_later_name_are_graded_whole(batch):
    """A wrong attention that divides by the global d_model (which a later section sets to 16) can't be graded
    at check level; an unanswered question can: the name only the reference answer binds is removed first."""
    from autograder import checklevel

    assert "wrong-attn_sqrt_d_model" in batch.whole and "wrong-question_unanswered" not in batch.whole
    nb = "02_scaled_attention.ipynb"
    reads_d_model = samples.fill(nb, {"scaled_dot_product_attention": (
        "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
        "    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d_model)\n"
        "    return softmax(scores, axis=-1) @ V, softmax(scores, axis=-1)\n")})
    assert checklevel.needs_whole_notebook(samples.fill(nb), reads_d_model) == {"d_model"}
    assert checklevel.needs_whole_notebook(samples.fill(nb), samples.fill(nb)) == set()
    unanswered = samples.fill(nb, blank=True)
    assert checklevel.needs_whole_notebook(samples.fill(nb), unanswered) == set()
    assert checklevel.unbound_names(samples.fill(nb), unanswered) == {"scaling_answer"}


def test_the_reference_run_leaves_out_what_no_exercise_reads_and_a_case_that_reads_it_is_graded_whole():
    """At check level, notebook 06's reference run skips its trainings, sweeps and plots (no exercise and no check
    in the kernel reads a name they bind) and keeps its exercises, checks, imports and earlier pieces. A case
    whose answer reads a name only those cells bind (the trained `model`) can't be graded there: it goes whole."""
    from autograder import checklevel

    nb = "06_heads_in_action.ipynb"
    base = checklevel._as_graded(samples.fill(nb), nb)
    left_out = checklevel.demonstrations(base)
    meta = [c.metadata.get("nbgrader", {}) for c in base.cells]
    assert any("model, losses = train_model(num_heads=4)" in base.cells[i].source for i in left_out)
    assert any("HEAD_COUNTS = " in base.cells[i].source for i in left_out)
    assert not any(meta[i].get("solution") or meta[i].get("grade") for i in left_out)
    assert not any(meta[i].get("grade_id") in ("setup", "earlier_pieces") for i in left_out)
    reads_model = samples.fill(nb, {"head_importance": (
        "def head_importance(loss_fn, num_heads):\n"
        "    return np.array([loss_fn([j != i for j in range(num_heads)]) for i in range(model.mha.num_heads)])\n")})
    assert checklevel.needs_whole_notebook(samples.fill(nb), reads_model) == {"model"}


def test_a_case_that_binds_a_name_of_a_given_cell_is_graded_whole():
    """Running the reference answers again can't undo a case's own `causal_mask` (notebook 04's earlier pieces
    define it): the cases after it, in the same kernel, would call it. So that case is graded whole."""
    from autograder import checklevel

    nb = "04_output_projection.ipynb"
    own_mask = samples.fill(nb, {"multi_head_attention": (
        "def causal_mask(n):\n    return np.tril(np.ones((n, n), dtype=bool))\n\n"
        + samples.reference_answers(nb)["multi_head_attention"])})
    assert checklevel.needs_whole_notebook(samples.fill(nb), own_mask) == {"causal_mask"}


def test_a_name_that_another_cell_binds_too_is_not_removed():
    """If an earlier or later cell binds the name that the reference answer binds and the case doesn't, removing
    it would be as wrong as keeping the reference's value: that case is graded whole."""
    from autograder import checklevel

    nb = "02_scaled_attention.ipynb"
    base = samples.fill(nb)
    assert checklevel.unbound_names(base, samples.fill(nb, {"scaling_answer": "pass\n"})) == {"scaling_answer"}
    earlier = next(i for i, c in enumerate(base.cells) if c.cell_type == "code")
    base.cells[earlier].source += "\nscaling_answer = 'A'\n"
    case = samples.fill(nb, {"scaling_answer": "pass\n"})
    case.cells[earlier].source = base.cells[earlier].source
    assert checklevel.needs_whole_notebook(base, case) == {"scaling_answer"}
    assert checklevel.unbound_names(base, case) == set()
