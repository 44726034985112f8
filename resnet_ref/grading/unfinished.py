"""An unfinished exercise stops a notebook cell with one line, not with a traceback.

A released notebook holds ``raise NotImplementedError()`` where the learner's code goes (nbgrader
writes it). The test cells already say so in one line, because the checks catch the error and
report ``(the exercise is not done yet)``; a cell that calls the learner's code directly (a "Try
it" or exploring cell) would otherwise end in a traceback that points into the placeholder and
says nothing. :func:`show_unfinished_in_one_line`, called in an assignment's setup cell, makes
IPython show that case as one line instead. A test cell whose check fails shows the cell's
line and the check's message, without the frame of :func:`expect` that raised it: a line of
the course's code there would send the learner looking for the mistake in it. Every other
error keeps its full traceback.
"""

from __future__ import annotations

import linecache

from .messages import NOT_DONE, expect

PLACEHOLDER = "raise NotImplementedError()"  # what nbgrader writes in place of a solution
# NOT_DONE is how the checks word the same case; expect is what raises a failed check.


def show_unfinished_in_one_line() -> None:
    """In an IPython kernel, show a raised placeholder as one line and a failed check without
    the frame that raised it; elsewhere, do nothing."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: there are no cells to show errors in
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((NotImplementedError, AssertionError), _show)


def unfinished_name(shell, error: BaseException, traceback) -> str | None:
    """The function whose placeholder raised ``error``, e.g. ``"BasicBlock.__init__"``.

    ``None`` unless the error was raised by the line ``raise NotImplementedError()`` in a
    notebook cell: a NotImplementedError from PyTorch, from a library or with a message says
    something the learner needs to read.
    """
    if traceback is None:
        return None
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    code = traceback.tb_frame.f_code
    cell_name = getattr(shell.compile, "format_code_name", lambda filename: None)
    if cell_name(code.co_filename) is None:  # not a cell of this kernel
        return None
    if linecache.getline(code.co_filename, traceback.tb_lineno).strip() != PLACEHOLDER:
        return None
    return code.co_qualname


def _cut_expect(traceback) -> None:
    """Cut the frame of :func:`expect` off the end of ``traceback``, if it raised the error."""
    if traceback is None:
        return
    while traceback.tb_next is not None and traceback.tb_next.tb_next is not None:
        traceback = traceback.tb_next
    if traceback.tb_next is not None and traceback.tb_next.tb_frame.f_code is expect.__code__:
        traceback.tb_next = None


def _show(shell, kind, error, traceback, tb_offset=None):
    """IPython's handler for the exceptions given to ``set_custom_exc``."""
    _cut_expect(traceback)
    name = unfinished_name(shell, error, traceback)
    if name is not None:
        line = f"{kind.__name__}: {name} is not written yet {NOT_DONE}"
        # IPython shows what this returns instead of formatting the traceback.
        error._render_traceback_ = lambda: [line]
    shell.showtraceback((kind, error, traceback), tb_offset=tb_offset)
