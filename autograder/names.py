"""Names: which course notebook a file name means, which student ids are usable, and their file-system form.

- A notebook may be handed in renamed; these are recognised (and said in the row's flags): another letter case
  (`01_Projections.IPYNB`), spaces around the name, a `Copy of ` prefix (Google Drive, Colab), a `.json` added
  after `.ipynb` (some browsers), and resubmission numbers `-1` (Canvas), ` (2)` or `(2)` (browsers).
- A student id may hold any Unicode letters and digits, spaces and the punctuation of names (`josé`,
  `Jane Doe`, `O'Brien`); it is kept as it came. `safe_id` gives the form for file names.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import PurePosixPath

#: "01_projections-1.ipynb" (Canvas resubmission) and "01_projections (1).ipynb" (browser copy)
VERSION = re.compile(r"^(?P<stem>.+?)(?:-(?P<dash>\d+)| ?\((?P<paren>\d+)\))$", re.ASCII)
COPY_OF = re.compile(r"^(?:copy of\s+)+", re.I)
#: one mark that a file manager or browser adds to a copy's name: a resubmission number "-1" (Canvas) or " (2)"
#: (browsers), or a copy's " - Copy", " - Copy (2)" (Windows), " copy", " copy 2", " 2" (macOS), whose numbers say
#: nothing about which file is later
COPY_MARK = re.compile(r"^(?P<stem>.+?)(?P<mark>-(?P<dash>\d+)| ?\((?P<paren>\d+)\)| - copy(?: \(\d+\))?"
                       r"| copy(?: \d+)?| \d+)$", re.I | re.ASCII)
#: Punctuation a name can hold, besides letters, digits, combining marks, spaces and dashes.
NAME_PUNCTUATION = set("._@+-'’,()&")
MAX_ID_CHARS = 200
#: The file-system form of an id is the id itself only when it is made of these (and not a Windows device name):
#: lower case only, as macOS's and Windows's disks take `Amy` and `amy` for one name
PLAIN_ID = re.compile(r"^[a-z0-9](?:[a-z0-9._@+-]{0,62}[a-z0-9])?$")
WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}


def split_version(file_name: str) -> tuple[str, int]:
    """("01_projections.ipynb", 1) for "01_projections-1.ipynb" or "01_projections (1).ipynb"."""
    path = PurePosixPath(file_name)
    m = VERSION.match(path.stem)
    if not m:
        return file_name, 0
    return m["stem"] + path.suffix, int(m["dash"] or m["paren"])


def looks_like_notebook(file_name: str) -> bool:
    """Could this file be a notebook? Its name says `.ipynb` somewhere (`x.IPYNB`, `x.ipynb.json`, `x.ipynb `)."""
    return ".ipynb" in file_name.lower()


def without_copy_marks(file_name: str) -> tuple[str, int, list[str]]:
    """(the name with every copy mark taken off, the outermost resubmission number or 0, the marks taken,
    outermost first): `01_projections (1) (2).ipynb` -> ("01_projections.ipynb", 2, [" (2)", " (1)"]),
    `01_projections copy 2.ipynb` -> ("01_projections.ipynb", 0, [" copy 2"])."""
    path = PurePosixPath(file_name)
    stem, number, marks = path.stem, None, []
    while len(marks) < 5 and (m := COPY_MARK.match(stem)):
        stem = m["stem"]
        marks.append(m["mark"])
        digits = m["dash"] or m["paren"]
        number = int(digits) if number is None and digits else number
    return stem + path.suffix, number or 0, marks


def normalise(file_name: str, known: list[str]) -> tuple[str, int, list[str]]:
    """(notebook, resubmission number, notes) for a handed-in file name. A name that is no known notebook,
    even renamed, comes back as it is, number 0 and no notes."""
    if file_name in known:
        return file_name, 0, []
    name, changes = file_name.strip(), []
    if name != file_name:
        changes.append("spaces around the name")
    if name.lower().endswith(".ipynb.json"):
        name = name[: -len(".json")]
        changes.append("'.json' added to the name")
    if (prefix := COPY_OF.match(name)) and name[prefix.end():]:
        name = name[prefix.end():]
        changes.append(f"'{prefix.group().strip()}' before the name")
    by_case = {k.lower(): k for k in known}
    base, version = split_version(name)
    unmarked, copy_number, marks = without_copy_marks(name)
    for candidate, number in ((name, 0), (base, version), (unmarked, copy_number)):
        notebook = candidate if candidate in known else by_case.get(candidate.lower())
        if notebook is None:
            continue
        if candidate == unmarked != base:
            changes.append(f"a copy's marks after the name: {''.join(reversed(marks))!r}")
        if notebook != candidate:
            changes.append("other letter case")
        notes = [f"handed in as {file_name!r}: graded as {notebook} (renamed: {', '.join(changes)})"] if changes else []
        return notebook, number, notes
    return file_name, 0, []


def valid_id(student_id: str) -> bool:
    """A usable student id: starts with a letter or digit; then letters, digits, marks, spaces, dashes and
    `. _ @ + - ' ’ , ( ) &`; at most 200 characters. No slashes, colons or control characters."""
    if not student_id or len(student_id) > MAX_ID_CHARS or not student_id[0].isalnum():
        return False
    return all(c in NAME_PUNCTUATION or unicodedata.category(c)[0] in "LMN" or unicodedata.category(c) in ("Zs", "Pd")
               for c in student_id)


def safe_id(student_id: str) -> str:
    """The student id as a file or folder name: deterministic, ASCII, safe on Linux, macOS and Windows.

    An id of lower-case ASCII letters, digits and `. _ @ + -` (up to 64 characters, starting and ending with a
    letter or digit, not a Windows device name) is its own safe form. Any other id becomes an ASCII slug of it, `~`
    and 12 hex digits of its SHA-256 (`josé` -> `jose~…`, `Jane Doe` -> `Jane_Doe~…`, `Amy` -> `Amy~…`): plain ids
    never hold `~` or capitals, so distinct ids get names that differ even on a disk that ignores letter case
    (macOS, Windows), where `Amy` and `amy` would be one folder.
    """
    if PLAIN_ID.match(student_id) and student_id.split(".")[0].upper() not in WINDOWS_DEVICES:
        return student_id
    ascii_form = unicodedata.normalize("NFKD", student_id).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9._@+-]+", "_", ascii_form).strip("._-")[:48].rstrip("._-") or "student"
    return f"{slug}~{hashlib.sha256(student_id.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"
