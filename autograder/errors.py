"""The one error the library raises for a problem its user can fix (a missing folder, a bad option, a zip
that can't be read): `cli.main` prints its message and exits with status 2. Anything else is a bug."""


class CourseError(Exception):
    """A problem with what the command was given, said in words that tell the user what to do."""
