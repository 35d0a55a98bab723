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

