"""README's Colab/Binder badges come from the one repository URL in pyproject.toml and follow course/."""
import shutil
import sys
from pathlib import Path

import pytest

from autograder import badges, release
from autograder.paths import COURSE, REPO, notebook_names

URL = "https://github.com/mha-course/mha-course"


def course_texts(course: Path = COURSE) -> dict[str, str]:
    return {name: (course / name).read_text(encoding="utf-8") for name in notebook_names(course)}


@pytest.fixture
def repo_copy(tmp_path):
    """README.md, pyproject.toml and course/ copied into tmp_path."""
    for name in ("README.md", "pyproject.toml"):
        shutil.copy2(REPO / name, tmp_path / name)
    shutil.copytree(COURSE, tmp_path / "course")
    return tmp_path


def test_readme_badges_are_up_to_date():
    assert badges.update_readme(REPO, course_texts(), check=True) is None, \
        "README.md's badges are stale: run `python -m autograder release`"


def test_one_badge_pair_per_course_notebook():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index(badges.START):readme.index(badges.END)]
    names = notebook_names(COURSE)
    assert names
    for name in names:
        assert (f"(https://colab.research.google.com/github/mha-course/mha-course/blob/main/course/{name})"
                in block)
        assert f"(https://mybinder.org/v2/gh/mha-course/mha-course/main?labpath=course%2F{name})" in block
    assert block.count("[![Open in Colab]") == block.count("[![Launch Binder]") == len(names)


def test_urls():
    assert badges.repository(REPO / "pyproject.toml") == ("mha-course", "mha-course", "main")
    assert (badges.colab_url("a", "b", "01_x.ipynb")
            == "https://colab.research.google.com/github/a/b/blob/main/course/01_x.ipynb")
    assert (badges.binder_url("a", "b", "01_x.ipynb", "dev")
            == "https://mybinder.org/v2/gh/a/b/dev?labpath=course%2F01_x.ipynb")


def test_repository_url_lives_in_pyproject_only():
    """Outside pyproject.toml the URL appears only in README's generated block."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    outside = readme[:readme.index(badges.START)] + readme[readme.index(badges.END):]
    assert "github.com/mha-course" not in outside and "gh/mha-course" not in outside
    assert (REPO / "pyproject.toml").read_text(encoding="utf-8").count(URL) == 1
    for folder, pattern in (("course", "*.ipynb"), ("solutions", "*.ipynb"), ("autograder", "*.py"),
                            (".", "*.yml"), (".", "*.txt")):
        for path in (REPO / folder).glob(pattern):
            assert "github.com/mha-course" not in path.read_text(encoding="utf-8"), f"{path} repeats the URL"


def test_changing_the_url_regenerates_the_block(repo_copy):
    pyproject = repo_copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(URL, "https://github.com/someone/fork.git"))
    notebooks = course_texts(repo_copy / "course")
    before = (repo_copy / "README.md").read_text()
    assert "stale" in badges.update_readme(repo_copy, notebooks, check=True)
    assert (repo_copy / "README.md").read_text() == before            # --check writes nothing
    assert "updated" in badges.update_readme(repo_copy, notebooks)
    after = (repo_copy / "README.md").read_text()
    assert "mha-course/mha-course" not in after
    assert after.count("https://colab.research.google.com/github/someone/fork/blob/main/course/") == len(notebooks)
    assert after.count("https://mybinder.org/v2/gh/someone/fork/main?labpath=course%2F") == len(notebooks)
    # only the block changed
    assert after[:after.index(badges.START)] == before[:before.index(badges.START)]
    assert after[after.index(badges.END):] == before[before.index(badges.END):]
    assert badges.update_readme(repo_copy, notebooks, check=True) is None


def test_release_check_fails_on_stale_badges_and_release_repairs_them(repo_copy, monkeypatch, capsys):
    # nbgrader is not needed here: the released notebooks are the committed course/
    monkeypatch.setattr(release, "released_notebooks", lambda solutions=None: course_texts())
    course = repo_copy / "course"
    assert release.release(course, check=True) == 0
    readme = repo_copy / "README.md"
    readme.write_text(readme.read_text().replace("02_scaled_attention", "02_old_name"))
    capsys.readouterr()
    assert release.release(course, check=True) == 1
    assert "stale: README.md's Colab/Binder badges" in capsys.readouterr().out
    assert release.release(course) == 0
    assert "updated the Colab/Binder badges in README.md" in capsys.readouterr().out
    assert release.release(course, check=True) == 0


def test_bad_configuration_is_reported(repo_copy):
    pyproject = repo_copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(URL, "https://gitlab.com/x/y"))
    with pytest.raises(ValueError, match="github.com/OWNER/REPO"):
        badges.update_readme(repo_copy, course_texts())
    readme = repo_copy / "README.md"
    readme.write_text(readme.read_text().replace(badges.END, ""))
    with pytest.raises(ValueError, match="badges:end"):
        badges.render(readme.read_text(), "x")


def test_python_310_fallback_reads_the_same_table(monkeypatch):
    text = (REPO / "pyproject.toml").read_text()
    with_tomllib = badges._tool_table(text)
    monkeypatch.setitem(sys.modules, "tomllib", None)                 # `import tomllib` raises ImportError
    assert badges._tool_table(text) == with_tomllib == {"repository": URL}
