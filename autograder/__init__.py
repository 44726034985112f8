"""The instructor's side of the course: what runs with the instructor's rights, never a learner's.

The commands (``python3 course.py COMMAND`` hands them to ``python -m autograder``, see
:mod:`autograder.__main__`), each on nbgrader's Python API:

- :mod:`autograder.course_folder`: the course's folders, nbgrader's API on them, its log file;
- :mod:`autograder.notebooks`: instructor notebooks from their ``.pct.py`` sources (jupytext);
- :mod:`autograder.release`: ``solutions/`` to ``exercises/``, checked;
- :mod:`autograder.learner_bundle`: what learners get instead of this repository;
- :mod:`autograder.roster`: the class list, into the gradebook;
- :mod:`autograder.deadlines`: due dates and the late policy (a late-submission plugin);
- :mod:`autograder.collect`: hand-ins into ``submitted/``, with what cannot be graded said;
- :mod:`autograder.autograde`: grading a class on Dask workers, a progress line per hand-in and
  a summary; :mod:`autograder.grading_kit` packs what the workers need,
  :mod:`autograder.grade_worker` grades one hand-in on a worker, :mod:`autograder.recording`
  writes its result into the gradebook, :mod:`autograder.one_writer` keeps it the only
  autograde of its course folder and gradebook;
- :mod:`autograder.outcomes`: what became of each learner's hand-in, for every report;
- :mod:`autograder.pending`: the written answers that wait for hand grading;
- :mod:`autograder.exports`: the grades, wide for an LMS and long for the record;
- :mod:`autograder.feedback_pages`: feedback pages and one zip of them per learner.

What grading plugs into nbgrader (``nbgrader_config.py``):

- :mod:`autograder.locked_cells` puts locked cells back, warning only about a learner's edits;
- :mod:`autograder.sandbox` starts each graded kernel inside a bubblewrap sandbox, and
  :mod:`autograder.kernel_relay` bounds what the kernel sends the grader;
- :mod:`autograder.execute` runs a submission's notebook in it and contains what goes wrong,
  writing the errors of :mod:`autograder.cell_errors` into the cells it stopped;
- :mod:`autograder.referee` decides the test cells' checks in the grading process;
- :mod:`autograder.feedback` keeps hidden tests and mark schemes out of learners' feedback;
- :mod:`autograder.safe_html` keeps a learner's scripts from running in Formgrader (as the
  instructor) or in the feedback pages.
"""

import sys

# jsonschema checks the "iri" format with rfc3987_syntax when that is installed (Jupyter's
# servers ask for it), and importing it builds a grammar: a second in every process that reads
# a notebook, the grading workers' among them. No schema that nbformat or nbgrader validates
# uses that format, so the grader's processes go without it.
sys.modules.setdefault("rfc3987_syntax", None)
