"""Due dates and the late policy, in nbgrader's own terms.

A due date belongs to an assignment in the gradebook (:func:`set_due_date`, ``course.py due``);
a hand-in's submission time is its ``timestamp.txt``. nbgrader's exchange writes that file, but a
learner who uploads a folder to an LMS can write it too, backdated, so ``collect --submitted-at
FILE.csv`` takes the LMS's own times instead (:func:`autograder.collect.read_submission_times`)
and writes each hand-in's ``timestamp.txt`` from them (:func:`stamp`). When nbgrader
autogrades a hand-in submitted after the due date, its ``AssignLatePenalties`` step asks the
late-submission plugin configured in ``nbgrader_config.py`` for a penalty: the course's
:class:`LatePolicy` takes ``percent_per_day`` of the notebook's score for every day or part of
a day late, never more than the score. nbgrader subtracts the penalty from the score it reports,
exports and shows in Formgrader.
"""

from __future__ import annotations

import math
from datetime import datetime

from dateutil.parser import parse as parse_time
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.utils import parse_utc
from traitlets import Float

from .course_folder import CourseFolder, nbgrader_api

DAY = 24 * 3600


class LatePolicy(LateSubmissionPlugin):
    """A share of the score per started day late (``c.LatePolicy.percent_per_day``)."""

    percent_per_day = Float(
        10.0, help="percent of the notebook's score taken per day, or part of a day, late"
    ).tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float):
        """The points taken from ``score`` for a hand-in ``total_seconds_late`` late."""
        days = math.ceil(total_seconds_late / DAY)
        return min(score, score * self.percent_per_day / 100 * days)

    def describe(self) -> str:
        """The policy in words, for summaries and exports."""
        return f"{self.percent_per_day:g}% of the score per started day late"


def late_by(seconds: float) -> str:
    """A lateness in days, hours and minutes: ``1 d 2 h 30 min``."""
    minutes = math.ceil(seconds / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min")]
    return " ".join(f"{count} {unit}" for count, unit in parts if count) or "0 min"


def utc_time(text: str) -> datetime | None:
    """``text``, a date and time with its zone, in UTC (without a zone, as nbgrader keeps
    times); None when it is not one."""
    try:
        # A time without its zone would be taken as UTC: hours off for a local time.
        return parse_utc(text) if parse_time(text).tzinfo is not None else None
    except Exception:  # dateutil raises ParserError, ValueError or OverflowError
        return None


def parse_due_date(text: str) -> datetime:
    """A due date as the instructor writes it (``2027-01-15 17:00 UTC``, ISO 8601, an offset)."""
    due = utc_time(text)
    if due is None:
        raise SystemExit(
            f"cannot read the due date {text!r}: write it with its zone, like"
            " '2027-01-15 17:00 UTC' or '2027-01-15T17:00:00+01:00'"
        )
    return due


def stamp(when: datetime) -> str:
    """A UTC time as nbgrader's exchange writes it in ``timestamp.txt``."""
    return f"{when:%Y-%m-%d %H:%M:%S.%f} UTC"


def set_due_date(folder: CourseFolder, assignment: str, when: str) -> datetime:
    """Record ``assignment``'s due date in the gradebook; return it, in UTC."""
    folder.known(assignment)
    due = parse_due_date(when)
    with nbgrader_api(folder).gradebook as gradebook:
        gradebook.update_or_create_assignment(assignment, duedate=due)
    print(f"{assignment} is due {due:%Y-%m-%d %H:%M} UTC")
    return due


def extend_due_date(folder: CourseFolder, assignment: str, student: str, when: str) -> datetime:
    """Move ``student``'s due date of ``assignment`` to ``when``, later than the class's: an
    extension in nbgrader's terms, which its lateness and the late penalty count from."""
    folder.known(assignment)
    due = parse_due_date(when)
    with nbgrader_api(folder).gradebook as gradebook:
        if student not in {s.id for s in gradebook.students}:
            raise SystemExit(
                f"{student!r} is not a learner of the course: add them with python3 course.py"
                " roster FILE.csv first"
            )
        found = [a for a in gradebook.assignments if a.name == assignment]
        class_due = found[0].duedate if found else None
        if class_due is None or due <= class_due:
            raise SystemExit(
                f"{assignment}'s due date for the class is {class_due or 'not set'}: set it"
                f" (python3 course.py due {assignment} WHEN), then give {student} a later one"
            )
        if student not in {s.student.id for s in found[0].submissions}:
            # nbgrader keeps an extension with the learner's submission, made here before the
            # hand-in; until one is graded, the outcomes call it not graded yet.
            gradebook.add_submission(assignment, student)
        minutes = (due - class_due).total_seconds() / 60
        gradebook.grant_extension(assignment, student, minutes=minutes)
    print(f"{assignment} is due {due:%Y-%m-%d %H:%M} UTC for {student}")
    return due


def due_date(folder: CourseFolder, assignment: str) -> datetime | None:
    """``assignment``'s due date in UTC, or None when it has none (or is not registered)."""
    with nbgrader_api(folder).gradebook as gradebook:
        found = [a for a in gradebook.assignments if a.name == assignment]
        return found[0].duedate if found else None
