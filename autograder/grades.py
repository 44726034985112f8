"""What goes back to the class: scores from the gradebook, the grades table, feedback pages.

All of it is read from nbgrader's gradebook and written by nbgrader, through its Python API:
:func:`print_scores` after an autograde, :func:`export_grades` for ``course.py grades`` (one
CSV row per student and assignment, nbgrader's own export format) and :func:`feedback` for
``course.py feedback`` (one HTML page per student and notebook, without hidden tests or mark
schemes: :mod:`autograder.feedback`).
"""

from __future__ import annotations

from .course_folder import CourseFolder, check, nbgrader_api


def feedback(folder: CourseFolder, assignment: str) -> None:
    """Write the feedback pages of ``assignment`` to ``feedback/<student>/<assignment>/``."""
    folder.known(assignment)
    check(nbgrader_api(folder).generate_feedback(assignment), f"feedback for {assignment}")
    pages = sorted(folder.feedback.glob(f"*/{assignment}/*.html"))
    print(f"feedback written: {len(pages)} page(s) under {folder.feedback}/<student>/{assignment}/")
