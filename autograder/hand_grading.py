"""Hand grading that settles: what waits for the instructor, and only that.

Written answers are graded by hand in Formgrader; nbgrader marks each such grade "needs manual
grade" until then. Left alone it marks too much, for good:

- every task cell (the description of a written question, which holds its mark scheme) is a
  graded item worth 0 points that nbgrader asks a score for, so "needs manual grade" never
  clears, not even for a blank hand-in;
- every autograde marks again each answer that already has a score from the instructor, in
  case the learner changed it, so grading the class again undoes the hand grading's progress.

:func:`settle` runs after each hand-in is autograded: a 0-point task needs no score, and an
answer keeps its hand-given score, unmarked, when its text is what was graded before.
:func:`waiting` is what still needs a score; ``course.py pending`` lists it per assignment
and learner (:mod:`autograder.pending`).
"""

from __future__ import annotations

import json

from .course_folder import CourseFolder, nbgrader_api


def waiting(submission) -> list:
    """The grades of an nbgrader ``SubmittedAssignment`` that still need a score by hand."""
    return [
        grade
        for notebook in submission.notebooks
        for grade in notebook.grades
        if grade.needs_manual_grade
    ]


def graded_answers(folder: CourseFolder, assignment: str, student: str) -> dict:
    """The text of each cell of ``student``'s graded notebooks, by (notebook, grade id)."""
    answers = {}
    for path in sorted((folder.autograded / student / assignment).glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id:
                source = cell.get("source", "")
                answers[path.stem, grade_id] = (
                    "".join(source) if isinstance(source, list) else source
                )
    return answers


def settle(folder: CourseFolder, assignment: str, student: str, before: dict) -> None:
    """Unmark what needs no hand grading after ``student``'s hand-in was autograded.

    ``before`` is :func:`graded_answers` from before this autograde.
    """
    now = graded_answers(folder, assignment, student)
    with nbgrader_api(folder).gradebook as gradebook:
        submission = gradebook.find_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if not grade.needs_manual_grade:
                    continue
                key = (notebook.name, grade.name)
                unchanged = key in before and before[key] == now.get(key)
                if grade.max_score == 0 or (grade.manual_score is not None and unchanged):
                    grade.needs_manual_grade = False
        gradebook.db.commit()
