"""Hand grading that settles: what waits for the instructor, and only that.

Written answers are graded by hand in Formgrader; nbgrader marks each such grade "needs manual
grade" until then. Left alone it marks too much, for good:

- every task cell (the description of a written question, which holds its mark scheme) is a
  graded item worth 0 points that nbgrader asks a score for, so "needs manual grade" never
  clears, not even for a blank hand-in;
- every autograde marks again each answer that already has a score from the instructor, in
  case the learner changed it, so grading the class again undoes the hand grading's progress;
- yet an answer the learner did change keeps the score, extra credit and comment given to its
  earlier text: the total counts them, and the feedback shows them beside the new answer.

:func:`settle` runs after each hand-in is autograded: a 0-point task needs no score, an
answer keeps its hand-given grade, unmarked, when its text is what was graded before, and an
answer whose text changed loses the hand grade of the earlier text (printed, and kept in the
log) and waits again. :func:`waiting` is what still needs a score; ``course.py pending`` lists
it per assignment and learner (:mod:`autograder.pending`).

nbgrader takes the late penalty when it autogrades, from the score of that moment: the points
given by hand afterwards escaped it. :func:`reassess_late_penalties` takes it again from the
score as it stands (:mod:`autograder.outcomes` calls it before it reads a class's scores).

A hand score outside ``0`` to the answer's points cannot be right: the instructor lowered the
question's points after it was graded (``release``, then ``autograde`` registers them), or a
script wrote it past Formgrader, which keeps scores in that range. Such an answer still waits
(:func:`out_of_range` says why), so that ``pending`` lists it and the exports call its total
provisional, instead of a total above the maximum passing unnoticed.
"""

from __future__ import annotations

import json

from nbgrader.preprocessors import AssignLatePenalties

from .course_folder import CourseFolder, append_log, nbgrader_api
from .grader_log import one_line


def waiting(submission) -> list:
    """The grades of an nbgrader ``SubmittedAssignment`` that still need a score by hand."""
    return [
        grade
        for notebook in submission.notebooks
        for grade in notebook.grades
        if grade.needs_manual_grade or out_of_range(grade)
    ]


def out_of_range(grade) -> str:
    """Why the hand grade of ``grade`` cannot be right, in a few words; empty when it can."""
    if grade.manual_score is not None and not 0 <= grade.manual_score <= grade.max_score:
        return f"hand score {grade.manual_score:g} is not within 0 to {grade.max_score:g}"
    if grade.extra_credit is not None and grade.extra_credit < 0:
        return f"extra credit {grade.extra_credit:g} is below 0"
    return ""


def graded_answers(folder: CourseFolder, assignment: str, student: str) -> dict:
    """The text and points of each cell of ``student``'s graded notebooks, by (notebook, grade
    id); the points are the gradebook's when the notebook was graded (nbgrader writes them)."""
    answers = {}
    for path in sorted((folder.autograded / student / assignment).glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
            nbgrader = cell.get("metadata", {}).get("nbgrader", {})
            if nbgrader.get("grade_id"):
                source = cell.get("source", "")
                text = "".join(source) if isinstance(source, list) else source
                points = nbgrader.get("points")
                answers[path.stem, nbgrader["grade_id"]] = (
                    text,
                    None if points is None else float(points),
                )
    return answers


def settle(folder: CourseFolder, assignment: str, student: str, before: dict) -> None:
    """Unmark what needs no hand grading after ``student``'s hand-in was autograded, and clear
    the hand grades of answers whose text or points changed (a score out of 2 is not one out
    of 3), and the scores given by hand to test cells in place of the autograder's when the
    test's points or text, or a code answer of their notebook, changed.

    ``before`` is :func:`graded_answers` from before this autograde. An answer missing from it
    (no earlier graded notebook to compare with) keeps its hand grade and waits, to be looked at
    again: nothing says it changed, so nothing a teaching assistant gave is thrown away.
    """
    now = graded_answers(folder, assignment, student)
    cleared = []
    with nbgrader_api(folder).gradebook as gradebook:
        submission = gradebook.find_submission(assignment, student)
        for notebook in submission.notebooks:
            comments = {comment.name: comment for comment in notebook.comments}
            answers = {cell.name for cell in notebook.notebook.solution_cells}
            cells = notebook.notebook.source_cells
            code = {cell.name for cell in cells if cell.cell_type == "code"}
            # An answer changes with its text or points; a test cell with its points, or with
            # its text when the instructor changed the test (nbgrader puts back any learner's).
            changed = {
                name
                for name in answers | {grade.name for grade in notebook.grades}
                if (notebook.name, name) in before
                and before[notebook.name, name] != now.get((notebook.name, name))
            }
            # What a test cell scores is the code of the answers, so a score a person gave it in
            # place of the autograder's holds only while none of the notebook's code answers
            # changed.
            if changed & answers & code:
                changed |= {grade.name for grade in notebook.grades} - answers
            for grade in notebook.grades:
                key = (notebook.name, grade.name)
                if grade.max_score == 0:
                    grade.needs_manual_grade = False
                elif key in before and grade.name in changed:
                    comment = comments.get(grade.name)
                    given = hand_grade(grade, comment)
                    if given:
                        cleared.append(f"{notebook.name}/{grade.name} ({given})")
                        grade.manual_score = grade.extra_credit = None
                        if comment is not None:
                            comment.manual_comment = None
                        # nbgrader's own rule: a blank answer scores 0 with no one's help.
                        grade.needs_manual_grade = grade.auto_score is None
                elif key in before and grade.manual_score is not None:
                    grade.needs_manual_grade = False
                if out_of_range(grade):
                    grade.needs_manual_grade = True  # Formgrader lists it to grade again
        gradebook.db.commit()
    if cleared:
        # The grades were for a text the learner replaced; the log keeps them in full.
        print(
            f"  WARNING {student}: changed (text or points) since graded by hand, their hand"
            f" grades cleared"
            f" (see .nbgrader.log), to grade again: {one_line('; '.join(cleared), 300)}"
        )
        append_log(folder, f"hand grades cleared {assignment} {student}", "\n".join(cleared))


def hand_grade(grade, comment) -> str:
    """What a person gave ``grade`` (and its ``comment``), in words; empty when nothing."""
    given = []
    if grade.manual_score is not None:
        given.append(f"score {grade.manual_score:g}")
    if grade.extra_credit:
        given.append(f"extra credit {grade.extra_credit:g}")
    if comment is not None and comment.manual_comment:
        given.append(f"comment {comment.manual_comment!r}")
    return ", ".join(given)


def reassess_late_penalties(folder: CourseFolder, assignment: str) -> None:
    """Take each late notebook's penalty again from its score as it stands, hand grades
    included, with the course's late policy; the gradebook is written only where it changes."""
    api = nbgrader_api(folder)
    steps = AssignLatePenalties(config=api.config)
    steps.init_plugin()
    policy = steps.plugin_inst
    with api.gradebook as gradebook:
        found = [a for a in gradebook.assignments if a.name == assignment]
        changed = False
        for submission in found[0].submissions if found else []:
            late = submission.total_seconds_late or 0
            for notebook in submission.notebooks:
                penalty = None
                if late > 0:
                    score = notebook.score
                    penalty = policy.late_submission_penalty(submission.student.id, score, late)
                    # nbgrader's bounds: never below 0, never more than the score.
                    penalty = None if penalty is None else max(0.0, min(penalty, score))
                if notebook.late_submission_penalty != penalty:
                    notebook.late_submission_penalty = penalty
                    changed = True
        if changed:
            gradebook.db.commit()
