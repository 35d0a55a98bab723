"""Binder's environment.yml and the pinned requirements name the same learner packages and versions."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def pins(lines):
    return dict(m.groups() for m in (re.match(r"^\s*-?\s*([A-Za-z0-9_.-]+)==([^\s#]+)", ln) for ln in lines) if m)


def test_environment_yml_matches_requirements():
    req = pins((REPO / "requirements.txt").read_text().splitlines())
    env = pins((REPO / "environment.yml").read_text().splitlines())
    assert req and env == req


def test_constraints_agree_with_pins():
    locked = {k.lower(): v for k, v in pins((REPO / "constraints.txt").read_text().splitlines()).items()}
    for path in ("requirements.txt", "requirements-instructor.txt"):
        for name, version in pins((REPO / path).read_text().splitlines()).items():
            assert locked.get(name.lower()) == version, f"{path} pins {name}=={version}, constraints.txt has {locked.get(name.lower())}"
