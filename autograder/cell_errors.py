"""The errors the grader writes into a notebook's cells, which the summaries read back.

A cell that the grader stopped, interrupted or refused gets an error output with one of these
names and a one-line reason (:func:`error_output`); its tests score zero, the learner reads
why in the feedback, and the autograde summary, the grade exports and the class report find
the name again (:mod:`autograder.outcomes`).
"""

from nbformat import NotebookNode

STOPPED = "GradingStopped"  # the kernel was stopped or died; the reason follows
TIMED_OUT = "CellTimedOut"  # a cell ran past the limit and was interrupted
REFUSED = "GradingRefused"  # a test cell fell short of what its checks must show the referee
INTERRUPTED = "KeyboardInterrupt"  # what the kernel reports when the time limit interrupts it
# The names only the grader may write: one a learner's code raises is renamed (see execute.py).
GRADER_ERRORS = (STOPPED, TIMED_OUT, REFUSED)


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An error output whose one line, ``ename: evalue``, is what the learner reads."""
    return NotebookNode(
        output_type="error",
        ename=ename,
        evalue=evalue,
        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"],
    )
