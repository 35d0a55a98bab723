"""Quiz checks that explain a learner's answer without giving the right one away (issue 15).

A quiz's visible check stores the right answer only as a salted hash, and the explanation of each answer
scrambled with a key made from the salt and that answer (XOR with SHAKE-256): the check shows the explanation of
the letter the learner chose, and says whether it is right, and nothing in the notebook reads as the answer
before the learner answers. The hidden tests keep the plain explanations; after editing one, rebuild the tables
of the check cell with `single_choice_table` or `statements_table` (`tests/test_quiz.py` checks that every quiz's
visible check agrees with its hidden tests).
"""
from __future__ import annotations

import base64
import hashlib


def digest(salt: str, choice: str) -> str:
    """The stored hash of an answer (16 hex digits)."""
    return hashlib.sha256((salt + choice).encode()).hexdigest()[:16]


def scramble(salt: str, choice: str, text: str) -> str:
    data = text.encode()
    key = hashlib.shake_256((salt + choice).encode()).digest(len(data))
    return base64.b64encode(bytes(a ^ b for a, b in zip(data, key))).decode()


def unscramble(salt: str, choice: str, blob: str) -> str:
    data = base64.b64decode(blob)
    key = hashlib.shake_256((salt + choice).encode()).digest(len(data))
    return bytes(a ^ b for a, b in zip(data, key)).decode()


def _literal(blob: str, indent: str, width: int = 96) -> str:
    """A base64 string as implicitly concatenated literals, at most `width` characters per line."""
    parts = [blob[i:i + width] for i in range(0, len(blob), width)]
    if len(parts) == 1:
        return f'"{parts[0]}"'
    return "(" + f"\n{indent} ".join(f'"{p}"' for p in parts) + ")"


def single_choice_table(salt: str, right: str, explanations: dict[str, str]) -> str:
    """Source of `quiz_right_hash = ...` and `quiz_scrambled = {...}` for a one-letter quiz."""
    lines = [f'quiz_right_hash = "{digest(salt, right)}"', "quiz_scrambled = {"]
    for letter, text in sorted(explanations.items()):
        lines.append(f'    "{letter}": {_literal(scramble(salt, letter, text), " " * 9)},')
    return "\n".join(lines + ["}"])


def statements_table(salt: str, true: set[str], explanations: dict[str, str]) -> str:
    """Source of `quiz_right_hashes` and `quiz_scrambled` for a 'which statements are true' quiz: per letter, the hash of
    the right verdict ('<letter> true' or '<letter> false') and its explanation scrambled with the wrong verdict."""
    lines = ["quiz_right_hashes = {"]
    for letter in sorted(explanations):
        verdict = "true" if letter in true else "false"
        lines.append(f'    "{letter}": "{digest(salt, f"{letter} {verdict}")}",')
    lines += ["}", "quiz_scrambled = {"]
    for letter, text in sorted(explanations.items()):
        wrong = "false" if letter in true else "true"
        lines.append(f'    "{letter}": {_literal(scramble(salt, f"{letter} {wrong}", text), " " * 9)},')
    return "\n".join(lines + ["}"])
