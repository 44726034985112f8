"""The class list: who should hand in, with the names and ids an LMS knows them by.

``course.py roster FILE.csv`` reads a CSV file with a header row, in the columns of nbgrader's
own ``nbgrader db student import``: ``id`` (the learner's folder name in ``submitted/``, required),
``first_name``, ``last_name``, ``email`` and ``lms_user_id`` (optional), and adds or updates each
learner in the gradebook. From then on the autograde summary lists learners of the roster who
handed nothing in as "not submitted", and the grade exports carry names, emails and LMS ids.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .course_folder import CourseFolder, nbgrader_api

COLUMNS = ("id", "first_name", "last_name", "email", "lms_user_id")


def read_roster(path: Path) -> list[dict[str, str]]:
    """The learners of a roster file, one dict per row; exit with a clear error when it is wrong."""
    if not path.is_file():
        raise SystemExit(
            f"no roster file {path}: write a CSV file with columns {', '.join(COLUMNS)}"
        )
    with open(path, newline="", encoding="utf-8-sig") as file:  # -sig: spreadsheet exports
        reader = csv.DictReader(file)
        rows = list(reader)
    header = [name.strip() for name in reader.fieldnames or []]
    unknown = [name for name in header if name not in COLUMNS]
    if "id" not in header or unknown:
        raise SystemExit(
            f"{path}: columns {', '.join(header) or '(none)'}; a roster needs 'id' and may have"
            f" {', '.join(COLUMNS[1:])}" + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    learners = []
    for line, row in enumerate(rows, 2):
        row = {name.strip(): (value or "").strip() for name, value in row.items() if name}
        if not row["id"]:
            raise SystemExit(f"{path}, line {line}: the learner has no id")
        learners.append(row)
    ids = [row["id"] for row in learners]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise SystemExit(f"{path}: ids listed twice: {', '.join(repeated)}")
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
