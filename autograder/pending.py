"""``course.py pending``: the written answers that wait for hand grading, per assignment and
learner.

Only a learner's current hand-in counts: the gradebook keeps the grades of a hand-in that was
replaced since (handed in again, not graded yet) or that could not be processed, and a teaching
assistant must not spend time on answers that will never count. So a learner is listed when
the outcome that the summaries, the exports and the report show (:mod:`autograder.outcomes`)
still has points waiting; the cells come from the gradebook (:func:`hand_grading.waiting`).
"""

from __future__ import annotations

from .course_folder import CourseFolder, nbgrader_api
from .hand_grading import out_of_range, waiting
from .outcomes import class_outcomes


def print_pending(folder: CourseFolder, assignment: str | None = None) -> int:
    """Print what waits for hand grading, per assignment and learner; return how many hand-ins."""
    assignments = [folder.known(assignment)] if assignment else folder.assignments()
    count = 0
    for name in assignments:
        current = {o.student for o in class_outcomes(folder, name) if o.pending}
        with nbgrader_api(folder).gradebook as gradebook:
            registered = {a.name: a for a in gradebook.assignments}
            if name not in registered:
                continue
            for submission in sorted(registered[name].submissions, key=lambda s: s.student.id):
                grades = waiting(submission)
                if grades and submission.student.id in current:
                    count += 1
                    cells = ", ".join(label(grade) for grade in grades)
                    points = sum(g.max_score for g in grades)
                    print(f"{name}  {submission.student.id:<16} {points:g} point(s): {cells}")
    if count:
        print(
            f"{count} hand-in(s) wait for hand grading: .venv/bin/jupyter lab here, then"
            " Nbgrader > Formgrader"
        )
    else:
        print("nothing waits for hand grading")
    return count


def label(grade) -> str:
    """A cell that waits, its points, and why it waits again if it has a score already."""
    why = out_of_range(grade)
    return f"{grade.name} ({grade.max_score:g}{'; ' + why if why else ''})"
