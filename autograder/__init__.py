"""The instructor's side of grading: what runs with the instructor's rights, never a learner's.

- :mod:`autograder.sandbox` starts each graded kernel inside a bubblewrap sandbox;
- :mod:`autograder.execute` runs a submission's notebook in it and contains what goes wrong;
- :mod:`autograder.feedback` keeps hidden tests and mark schemes out of learners' feedback.

``nbgrader_config.py`` plugs these into nbgrader; ``python3 course.py autograde`` uses them.
"""
