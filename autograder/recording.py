"""Recording a hand-in graded on a worker in the course's gradebook, as nbgrader would have.

A worker (:mod:`autograder.grade_worker`) returns the graded notebooks; the scores in them are
nbgrader's to read. :func:`record_graded` puts the notebooks in ``autograded/`` and runs, in
this process, the steps with which ``nbgrader autograde`` writes a gradebook: the submission
and its time, nbgrader's own ``SaveAutoGrades`` and ``AssignLatePenalties`` on each graded
notebook, zero for a notebook of the assignment that was not handed in. Only this process
writes the gradebook, one hand-in after another, so it may be SQLite; hand scores already
given are kept as nbgrader keeps them, and :func:`autograder.hand_grading.settle` follows.

A graded notebook is the learner's kernel's output, so recording it can fail (nbgrader raises
on a test cell whose result it reads as more partial credit than the cell's points): then
:func:`recording_failed` scores that hand-in's autograded tests zero, so that nothing half
recorded or left from an earlier run counts, and says why, and the class goes on.
"""

from __future__ import annotations

import shutil

import nbformat
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades

from .course_folder import CourseFolder, nbgrader_api
from .grader_log import one_line
from .hand_grading import graded_answers, settle

# The steps of ``nbgrader autograde`` that write the gradebook. Workers leave them out (their
# gradebook is thrown away), and :func:`record_graded` runs them here, on the graded notebook.
RECORDING_STEPS = (SaveAutoGrades, AssignLatePenalties)


def record_graded(
    folder: CourseFolder, assignment: str, student: str, graded: dict[str, bytes]
) -> None:
    """Record ``student``'s graded files (the worker's ``autograded`` folder, by name)."""
    before = graded_answers(folder, assignment, student)
    destination = folder.autograded / student / assignment
    shutil.rmtree(destination, ignore_errors=True)
    for name, data in graded.items():
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        (destination / name).write_bytes(data)
    api = nbgrader_api(folder)
    coursedir = api.coursedir
    timestamp = coursedir.get_existing_timestamp(str(folder.submitted / student / assignment))
    with api.gradebook as gradebook:
        gradebook.update_or_create_student(student)
        if timestamp:
            gradebook.update_or_create_submission(assignment, student, timestamp=timestamp)
        else:
            gradebook.update_or_create_submission(assignment, student)
        for notebook in gradebook.find_assignment(assignment).notebooks:
            if not (destination / f"{notebook.name}.ipynb").is_file():
                # nbgrader's rule for a notebook that was not handed in: zero, nothing to grade.
                found = gradebook.find_submission_notebook(notebook.name, assignment, student)
                for grade in found.grades:
                    grade.auto_score, grade.needs_manual_grade = 0, False
        gradebook.db.commit()
        notebooks = [n.name for n in gradebook.find_assignment(assignment).notebooks]
    for name in notebooks:
        path = destination / f"{name}.ipynb"
        if not path.is_file():
            continue
        resources = {
            "nbgrader": {
                "assignment": assignment,
                "notebook": name,
                "student": student,
                "db_url": coursedir.db_url,
            }
        }
        notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        for step in RECORDING_STEPS:
            step(config=api.config).preprocess(notebook, resources)
    settle(folder, assignment, student, before)


def recording_failed(folder: CourseFolder, assignment: str, student: str, error: Exception) -> str:
    """After ``error`` stopped the recording of ``student``'s hand-in: score its autograded test
    cells zero in the gradebook and return why, in one line, for the summary."""
    # The error may quote what the kernel showed: one short line of it is enough to act on.
    why = f"its grades could not be recorded ({one_line(f'{type(error).__name__}: {error}', 200)})"
    try:
        with nbgrader_api(folder).gradebook as gradebook:
            gradebook.update_or_create_student(student)
            submission = gradebook.update_or_create_submission(assignment, student)
            for notebook in submission.notebooks:
                answers = {cell.name for cell in notebook.notebook.solution_cells}
                for grade in notebook.grades:
                    if grade.name not in answers:  # a test cell: what the autograder scores
                        grade.auto_score, grade.needs_manual_grade = 0, False
            gradebook.db.commit()
    except Exception as also:  # the gradebook itself fails: say so, and go on with the class
        return f"{why}, nor its tests scored zero ({type(also).__name__}); look at the gradebook"
    return f"{why}; its tests score zero"
