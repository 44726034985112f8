"""Grades for the LMS and for the record: ``course.py grades``.

Both tables are built from the learners' outcomes (:mod:`autograder.outcomes`) and the roster in
the gradebook (:mod:`autograder.roster`), so a learner who handed nothing in has a blank, never
a 0, and a score still waiting for hand grading says so:

- ``grades_wide.csv``, to import into an LMS: one row per learner (``student_id``,
  ``lms_user_id``, names, email), one column per assignment with the score after any late
  penalty, and a ``notes`` column that names what the numbers do not say (hand grading pending,
  late, not processed, contained). The score is blank where nothing was submitted or could be
  graded, and while answers wait for hand grading: an LMS publishes what it imports, and a
  score missing its written answers would reach the learner as their grade. The notes give that
  score so far;
- ``grades.csv``, the long table: one row per learner and assignment, with the due date (the
  learner's own, where they were given an extension), the
  submission time, the outcome, the raw score, the late penalty, the score, the maximum and the
  points still waiting for hand grading.

Learners choose their display names (and sometimes emails) on the LMS, and a spreadsheet opens a
cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula
(``=HYPERLINK(...)`` becomes a link, ``=cmd|...`` asks to run a program): every such text cell
is written with a leading ``'``, which spreadsheets show as text (:func:`as_text`). Numbers stay
numbers. An id that starts so is quoted too, and ``grades`` warns about it, since the LMS will
not match the quoted id.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .course_folder import CourseFolder, nbgrader_api
from .deadlines import late_by
from .outcomes import (
    CONTAINED,
    NOT_GRADED_YET,
    NOT_PROCESSED,
    NOT_SUBMITTED,
    Outcome,
    class_outcomes,
)

PERSON = ("student_id", "lms_user_id", "first_name", "last_name", "email")
LONG = (
    "assignment",
    "duedate",
    "student_id",
    "lms_user_id",
    "first_name",
    "last_name",
    "email",
    "outcome",
    "timestamp",
    "seconds_late",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
    "hand_grading_pending",
)


# What makes a spreadsheet read a cell as a formula (OWASP's list for CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_text(value: str) -> str:
    """``value`` as a spreadsheet cell that cannot be a formula: a leading ``'`` where it would
    otherwise start one, unless it is a plain number (``-5``)."""
    if not value.startswith(FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def safe_row(row: dict) -> dict:
    """Every cell of ``row`` through :func:`as_text`."""
    return {key: as_text(str(value)) for key, value in row.items()}


def number(value: float | None) -> str:
    """A score as a spreadsheet reads it: ``4``, ``1.6``; blank for none."""
    return "" if value is None else f"{round(value, 2):g}"


def note(assignment: str, outcome: Outcome) -> str:
    """What the score of ``outcome`` does not say, in a few words; empty when nothing."""
    parts = []
    if outcome.outcome in (NOT_PROCESSED, NOT_GRADED_YET, CONTAINED):
        parts.append(outcome.outcome)
    if outcome.pending:
        parts.append(
            f"hand grading pending ({outcome.pending:g} pts; {number(outcome.score)} so far)"
        )
    if outcome.seconds_late:
        parts.append(f"late {late_by(outcome.seconds_late)} (-{number(outcome.penalty)})")
    return f"{assignment}: {', '.join(parts)}" if parts else ""


def export_grades(folder: CourseFolder, wide: Path, long: Path) -> None:
    """Write the wide table for an LMS to ``wide`` and the long one to ``long``."""
    with nbgrader_api(folder).gradebook as gradebook:
        people = {
            s.id: {
                "student_id": s.id,
                "lms_user_id": s.lms_user_id or "",
                "first_name": s.first_name or "",
                "last_name": s.last_name or "",
                "email": s.email or "",
            }
            for s in gradebook.students
        }
        assignments = {a.name: a for a in gradebook.assignments}
        due = {name: a.duedate for name, a in assignments.items()}
        stamps, extended = {}, {}
        for name, a in assignments.items():
            for s in a.submissions:
                stamps[name, s.student.id] = s.timestamp
                extended[name, s.student.id] = s.duedate  # the class's, or an extension

    names = [name for name in folder.assignments() if name in assignments]
    outcomes = {name: class_outcomes(folder, name) for name in names}
    students = sorted({o.student for found in outcomes.values() for o in found} | set(people))
    rows = {s: dict(people.get(s, {"student_id": s}), notes=[]) for s in students}
    long_rows = []
    waiting: dict[str, list[str]] = {}
    for name in names:
        column = f"{name} (max {assignments[name].max_score:g})"
        for o in outcomes[name]:
            graded = o.outcome not in (NOT_SUBMITTED, NOT_PROCESSED, NOT_GRADED_YET)
            final = graded and not o.pending
            rows[o.student][column] = number(o.score) if final else ""
            if graded and o.pending:
                waiting.setdefault(name, []).append(o.student)
            if note(name, o):
                rows[o.student]["notes"].append(note(name, o))
            stamp = stamps.get((name, o.student))
            owed = extended.get((name, o.student), due[name])
            long_rows.append(
                dict(
                    {key: rows[o.student].get(key, "") for key in PERSON},
                    assignment=name,
                    duedate=f"{owed:%Y-%m-%d %H:%M:%S} UTC" if owed else "",
                    outcome=o.outcome,
                    timestamp=f"{stamp:%Y-%m-%d %H:%M:%S} UTC" if stamp and graded else "",
                    seconds_late=number(o.seconds_late) if graded else "",
                    raw_score=number(o.score + o.penalty) if graded else "",
                    late_submission_penalty=number(o.penalty) if graded else "",
                    score=number(o.score) if graded else "",
                    max_score=number(o.max_score),
                    hand_grading_pending=number(o.pending) if graded else "",
                )
            )
    columns = [*PERSON, *(f"{n} (max {assignments[n].max_score:g})" for n in names), "notes"]
    with open(wide, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, columns)
        writer.writeheader()
        for student in students:
            row = rows[student]
            writer.writerow(safe_row(dict(row, notes="; ".join(row["notes"]))))
    with open(long, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, LONG)
        writer.writeheader()
        writer.writerows(safe_row(row) for row in long_rows)
    quoted = [
        row[key]
        for row in rows.values()
        for key in ("student_id", "lms_user_id")
        if row.get(key) and as_text(row[key]) != row[key]
    ]
    if quoted:
        print(
            f"WARNING ids written with a leading ' so that a spreadsheet reads them as text,"
            f" which an LMS will not match: {', '.join(sorted(set(quoted)))}"
        )
    for name, waiting_students in waiting.items():
        print(
            f"WARNING hand grading pending: {name} left blank in {wide.name} for"
            f" {', '.join(waiting_students)} (grades.csv and the notes keep the score so far);"
            f" grade them (python3 course.py pending {name}) and export again"
        )
    print(
        f"grades of {len(students)} learner(s) on {len(names)} assignment(s):"
        f" {wide.name} (one row per learner, for an LMS), {long.name} (one row per learner"
        " and assignment)"
    )
