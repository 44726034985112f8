"""The instructor's side of the course: what runs with the instructor's rights, never a learner's.

The commands (``python3 course.py COMMAND`` hands them to ``python -m autograder``, see
:mod:`autograder.__main__`), each on nbgrader's Python API:

- :mod:`autograder.course_folder`: the course's folders and nbgrader's API on them (and collect);
- :mod:`autograder.notebooks`: instructor notebooks from their ``.pct.py`` sources (jupytext);
- :mod:`autograder.release`: ``solutions/`` to ``exercises/``, checked;
- :mod:`autograder.learner_bundle`: what learners get instead of this repository;
- :mod:`autograder.autograde`: grading a class, with a progress line per hand-in and a summary;
- :mod:`autograder.grades`: scores, the grades table and feedback pages.

What grading plugs into nbgrader (``nbgrader_config.py``):

- :mod:`autograder.sandbox` starts each graded kernel inside a bubblewrap sandbox;
- :mod:`autograder.execute` runs a submission's notebook in it and contains what goes wrong;
- :mod:`autograder.referee` decides the test cells' checks in the grading process;
- :mod:`autograder.feedback` keeps hidden tests and mark schemes out of learners' feedback.
"""
