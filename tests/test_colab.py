"""A notebook saved by Colab (nbformat 4.0 without cell ids, Colab metadata, outputs) grades like the original."""
import json
import random

import nbformat
import pytest

from autograder import grading, samples
from conftest import NOTEBOOKS


def as_colab_saves_it(nb: nbformat.NotebookNode, seed: int = 0) -> str:
    """Roughly what File -> Download .ipynb in Colab gives back for a notebook it opened from GitHub."""
    rnd = random.Random(seed)
    data = json.loads(nbformat.writes(nb))
    data["nbformat_minor"] = 0
    data["metadata"] = {"colab": {"provenance": [], "name": "01_projections.ipynb"},
                        "kernelspec": {"name": "python3", "display_name": "Python 3"},
                        "language_info": {"name": "python"}, "accelerator": "GPU"}
    for cell in data["cells"]:
        cell.pop("id", None)
        cell["metadata"]["id"] = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyzABCDEF0123456789") for _ in range(12))
        if cell["cell_type"] == "code":
            cell["metadata"]["colab"] = {"base_uri": "https://localhost:8080/"}
            cell["metadata"]["outputId"] = f"{rnd.getrandbits(64):016x}"
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["something old\n"]}]
            cell["execution_count"] = rnd.randint(1, 99)
    return json.dumps(data, indent=2)


@pytest.fixture(scope="module")
def colab_batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("colab")
    name = NOTEBOOKS[0]
    wrong = {"split_heads": "def split_heads(X, num_heads):\n    return X.reshape(num_heads, X.shape[-2], -1)\n"}
    samples.write_submission(root / "subs", "colab_right", name, as_colab_saves_it(samples.fill(name), seed=1))
    samples.write_submission(root / "subs", "colab_wrong", name, as_colab_saves_it(samples.fill(name, wrong), seed=2))
    results = grading.grade(root / "subs", root / "out", progress=False)
    return {r.student_id: r for r in results}


def test_colab_saved_correct_notebook_gets_full_marks(colab_batch):
    row = colab_batch["colab_right"]
    assert row.status.startswith("graded") and row.score == row.max_score > 0, (row.status, row.failed)


def test_colab_saved_wrong_notebook_gets_the_same_diagnosis(colab_batch):
    row = colab_batch["colab_wrong"]
    assert row.score < row.max_score
    assert "mix tokens" in row.failed["check_split_heads"]
