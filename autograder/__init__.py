"""mha-course autograder: release the course and grade submissions with nbgrader."""
import sys

__version__ = "0.1.0"

# nbformat imports jsonschema, whose optional `rfc3987_syntax` compiles 38 grammars at import: about
# 1 s in the grader and again in every worker, for IRI format checks that notebook validation never
# uses (it checks no `format`). Without it jsonschema skips those two format checkers; nothing else changes.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
