"""The class list: who should hand in, with the names and ids an LMS knows them by.

``course.py roster FILE.csv`` reads a CSV file with a header row, in the columns of nbgrader's
own ``nbgrader db student import``: ``id`` (the learner's folder name in ``submitted/``, required),
``first_name``, ``last_name``, ``email`` and ``lms_user_id`` (optional), and adds or updates each
learner in the gradebook. From then on the autograde summary lists learners of the roster who
handed nothing in as "not submitted", and the grade exports carry names, emails and LMS ids.

Spreadsheets in many languages save CSV with ``;`` or tabs between values, so the separator is
read from the header row, and Excel may save it as UTF-16 (:func:`read_table`). A row with more
values than the header has columns (a name with an unquoted comma in it) is an error, never a
silent shift of every later column. An id must be
usable as a folder name that nbgrader can grade and an LMS can match (:func:`id_problem`), and
is read in Unicode's composed form, as ``collect`` writes folder names (:func:`learner_id`).
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from pathlib import Path

from .course_folder import CourseFolder, nbgrader_api
from .exports import FORMULA_START

COLUMNS = ("id", "first_name", "last_name", "email", "lms_user_id")
# nbgrader finds a learner's notebooks with a glob pattern that holds the id.
GLOB = set("[]*?")
# The learner's feedback zip is <id>.zip, and a file name has at most 255 bytes.
MAX_BYTES = 255 - len(".zip")


def learner_id(name: str) -> str:
    """``name`` in Unicode's composed form (NFC): a Mac writes ``é`` in a zip's folder names as
    ``e`` and an accent (NFD), an LMS export as one character; both must be one learner."""
    return unicodedata.normalize("NFC", name)


def id_problem(student: str) -> str | None:
    """Why ``student`` cannot be a learner's id, or None when it can."""
    if not student.strip():
        return "is empty"
    if student != student.strip() or any(ord(c) < 32 or ord(c) == 127 for c in student):
        return "has spaces at an end, or control characters (a tab, a line break)"
    if "/" in student or "\\" in student:
        return "has a / or \\, which no folder name can hold"
    if GLOB & set(student):
        return "has one of [ ] * ?, which nbgrader reads as a file name pattern"
    if student.startswith(FORMULA_START):
        return "starts with = + - or @, which a spreadsheet opens as a formula"
    if student.startswith("."):
        return "starts with '.', a hidden folder"
    if len(student.encode("utf-8")) > MAX_BYTES:
        return f"is longer than {MAX_BYTES} bytes, too long for the name of its feedback zip"
    return None


def read_table(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the rows of a CSV file as spreadsheets and LMSs save one, each row as its
    line number and its values by column, stripped; exit with a clear error when it cannot be
    read, or a row has more values than the header has columns.

    Text is UTF-8, with or without the BOM a spreadsheet writes, or UTF-16 with its BOM (Excel's
    "Unicode text"); values are separated by commas, ``;`` or tabs, whichever the header has most.
    """
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise SystemExit(
                f"{path} is not UTF-8 text (byte {error.start}): save it as 'CSV UTF-8' (Excel)"
                " or as Text CSV with the character set Unicode (UTF-8) (LibreOffice)"
            ) from None
    first = text.split("\n", 1)[0]
    separator = max(",;\t", key=first.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=separator)
    rows = []
    for row in reader:
        if None in row:  # csv puts the values beyond the header's columns there
            raise SystemExit(
                f"{path}, line {reader.line_num}: more values than columns"
                f" ({', '.join(reader.fieldnames)}); a value with {separator!r} in it must be"
                " in double quotes"
            )
        rows.append((reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items()}))
    return [name.strip() for name in reader.fieldnames or []], rows


def read_roster(path: Path) -> list[dict[str, str]]:
    """The learners of a roster file, one dict per row; exit with a clear error when it is wrong."""
    if not path.is_file():
        raise SystemExit(
            f"no roster file {path}: write a CSV file with columns {', '.join(COLUMNS)}"
        )
    header, rows = read_table(path)
    unknown = [name for name in header if name not in COLUMNS]
    if "id" not in header or unknown:
        raise SystemExit(
            f"{path}: columns {', '.join(header) or '(none)'}; a roster needs 'id' and may have"
            f" {', '.join(COLUMNS[1:])}" + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    learners = []
    for line, row in rows:
        row["id"] = learner_id(row["id"])
        problem = id_problem(row["id"])
        if problem:
            raise SystemExit(f"{path}, line {line}: the id {row['id']!r} {problem}")
        learners.append(row)
    # Two learners under one LMS id would both get whichever grade the LMS imports last.
    for column in ("id", "lms_user_id"):
        values = [row[column] for row in learners if row.get(column)]
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise SystemExit(f"{path}: {column}s listed twice: {', '.join(repeated)}")
    return learners


def import_roster(folder: CourseFolder, path: Path | str) -> list[str]:
    """Add or update every learner of the roster file in the gradebook; return their ids."""
    learners = read_roster(Path(path))
    with nbgrader_api(folder).gradebook as gradebook:
        known = {student.id for student in gradebook.students}
        for row in learners:
            details = {name: row.get(name) or None for name in COLUMNS[1:]}
            gradebook.update_or_create_student(row["id"], **details)
    new = [row["id"] for row in learners if row["id"] not in known]
    print(f"roster: {len(learners)} learner(s) in the gradebook, {len(new)} of them new")
    return [row["id"] for row in learners]
