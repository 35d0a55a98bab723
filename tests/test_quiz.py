"""Issue 15: every quiz's visible check says whether the learner's letter is right and explains it, agrees with the
hidden tests, and does not show the right answer in plain text."""
import itertools

import nbformat
import pytest

from autograder import quiz
from autograder.paths import SOLUTIONS

# (notebook, check grade_id, answer variable, right answer)
SINGLE = [("03_concat_vs_sum.ipynb", "check_question_sum", "answer", "B"),
          ("04_output_projection.ipynb", "check_quiz_summing", "answer_summing", "B"),
          ("06_heads_in_action.ipynb", "check_many_heads_question", "answer_many_heads", "B"),
          ("07_grouped_query_attention.ipynb", "check_quiz_gqa", "answer_gqa", "B")]
RAISE_SINGLE = '    raise AssertionError(f"not {quiz_choice}: {quiz_why}")'
RAISE_STATEMENTS = ('    raise AssertionError(f"{len(quiz_wrong)} of the 6 statements are wrong in your answer: " '
                    '+ "; ".join(quiz_wrong))')


def _cell(notebook, grade_id):
    nb = nbformat.read(SOLUTIONS / notebook, as_version=4)
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _run(source, **answer):
    """None if the cell passes with this answer, else its AssertionError message."""
    try:
        exec(source, dict(answer))
    except AssertionError as err:
        return str(err)
    return None


@pytest.mark.parametrize("notebook, grade_id, var, right", SINGLE, ids=[s[1] for s in SINGLE])
def test_single_choice_quiz_explains_every_letter_like_the_hidden_tests(notebook, grade_id, var, right):
    source = _cell(notebook, grade_id)
    visible = source.split("### BEGIN HIDDEN TESTS")[0]
    assert RAISE_SINGLE in visible
    hidden_only = source.replace(RAISE_SINGLE, "    pass")          # what grading alone says
    for letter in "ABCD":
        said = _run(visible, **{var: f" {letter.lower()} "})   # the form checks accept any case and spaces
        if letter == right:
            assert said is None and _run(source, **{var: letter}) is None
        else:
            assert said and said.startswith(f"not {letter}: "), said
            assert _run(hidden_only, **{var: letter}), f"the hidden tests accept {letter}"


def test_statements_quiz_explains_each_wrong_statement():
    source = _cell("02_scaled_attention.ipynb", "check_scaling_answer")
    visible = source.split("### BEGIN HIDDEN TESTS")[0]
    assert RAISE_STATEMENTS in visible
    right = {"a", "c", "d"}
    assert _run(source, scaling_answer=right) is None
    hidden_only = source.replace(RAISE_STATEMENTS, "    pass")
    for size in (1, 2):
        for flipped in itertools.combinations("abcdef", size):
            chosen = right ^ set(flipped)
            if not chosen:
                continue
            said = _run(visible, scaling_answer=chosen)
            assert said and all(f"statement {letter} is" in said for letter in flipped), (chosen, said)
            assert sum(f"statement {letter} is" in said for letter in "abcdef") == size, said
            assert _run(hidden_only, scaling_answer=chosen), f"the hidden tests accept {sorted(chosen)}"


def test_scrambling_round_trip():
    blob = quiz.scramble("salt", "C", "an explanation, with ünïcode")
    assert "explanation" not in blob
    assert quiz.unscramble("salt", "C", blob) == "an explanation, with ünïcode"
    assert quiz.scramble("salt", "B", "an explanation, with ünïcode") != blob
