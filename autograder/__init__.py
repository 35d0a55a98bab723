"""mha-course autograder: release the course and grade submissions with nbgrader."""

__version__ = "0.1.0"
