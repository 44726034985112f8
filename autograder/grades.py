"""What goes back to the class: scores from the gradebook, the grades table, feedback pages.

All of it is read from nbgrader's gradebook and written by nbgrader, through its Python API:
:func:`print_scores` after an autograde, :func:`export_grades` for ``course.py grades`` (one
CSV row per student and assignment, nbgrader's own export format) and :func:`feedback` for
``course.py feedback`` (one HTML page per student and notebook, without hidden tests or mark
schemes: :mod:`autograder.feedback`).
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.plugins import CsvExportPlugin

from .course_folder import CourseFolder, check, nbgrader_api


def print_scores(api: NbGraderAPI, assignment: str) -> None:
    """Print each student's total for ``assignment``, as the gradebook has it."""
    with api.gradebook as gradebook:
        found = gradebook.find_assignment(assignment)
        rows = sorted((s.student.id, s.score, s.max_score) for s in found.submissions)
    print(f"{assignment}: {len(rows)} submission(s)")
    for student, score, max_score in rows:
        print(f"  {student:<24} {score:6.1f} / {max_score:.1f}")


def export_grades(folder: CourseFolder, destination: Path) -> None:
    """Write every grade in the gradebook to the CSV file ``destination``."""
    with nbgrader_api(folder).gradebook as gradebook:
        CsvExportPlugin(to=str(destination)).export(gradebook)
    print(f"grades written to {destination}")


def feedback(folder: CourseFolder, assignment: str) -> None:
    """Write the feedback pages of ``assignment`` to ``feedback/<student>/<assignment>/``."""
    folder.known(assignment)
    check(nbgrader_api(folder).generate_feedback(assignment), f"feedback for {assignment}")
    pages = sorted(folder.feedback.glob(f"*/{assignment}/*.html"))
    print(f"feedback written: {len(pages)} page(s) under {folder.feedback}/<student>/{assignment}/")
