"""What of a grading run's log is the grader's own word, and how much of it a hand-in may fill.

nbgrader's log of a hand-in holds, beside the grader's messages, text that the learner's kernel
chose: nbclient logs the target name of every ``comm_open`` it has no handler for and the type
of every message it does not know. So the log cannot be read back for what the instructor must
act on (a locked cell a learner edited, a check the solution fails): a kernel could write those
words itself, anywhere in a line. While a worker grades a hand-in, :class:`GraderFacts`
(:func:`watching`) keeps those messages from the log records themselves, by the module that
logged them and the words they start with, so only the grader's own code can raise them.
(nbgrader's log formatter already indents the lines after the first of a record, so a line of
the log that starts with ``[LEVEL]`` starts a record.)

The kernel's text in the log is bounded by the output limit, which counts every message it
sends (:mod:`autograder.execute`); :func:`bounded` also cuts what one hand-in adds to
``.nbgrader.log`` to :data:`LOG_LIMIT`.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from .locked_cells import EDITED

LOG_LIMIT = 256 * 1024  # characters of nbgrader's log kept per hand-in
FACT_LIMIT = 300  # characters of one fact printed on the console
# Each fact: the kinds of message that raise it, as (package folder, module file, first words).
FACTS = {
    "edited": [
        ("autograder", "locked_cells.py", EDITED),
        ("preprocessors", "overwritecells.py", "Missing grade cell"),
        ("preprocessors", "overwritecells.py", "Missing task cell"),
    ],
    "about_the_solution": [
        ("autograder", "execute.py", "recording what the solution's test cells check"),
        ("autograder", "execute.py", "the solution fails a check"),
    ],
}


def one_line(text: str, limit: int = FACT_LIMIT) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[:limit]}..."


class GraderFacts(logging.Handler):
    """Keeps, by kind (:data:`FACTS`), the messages the grader's own modules logged."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.facts: dict[str, list[str]] = {kind: [] for kind in FACTS}

    def emit(self, record: logging.LogRecord) -> None:
        """Keep ``record`` if a module of :data:`FACTS` logged it with its first words."""
        where = Path(record.pathname).parts[-2:]
        message = record.getMessage()
        for kind, sources in FACTS.items():
            if any(
                where == (package, module) and message.startswith(words)
                for package, module, words in sources
            ):
                self.facts[kind].append(one_line(message))


@contextlib.contextmanager
def watching(log: logging.Logger):
    """While grading, keep the grader's facts from ``log``'s records; yields the
    :class:`GraderFacts`."""
    facts = GraderFacts()
    log.addHandler(facts)
    try:
        yield facts
    finally:
        log.removeHandler(facts)


def bounded(log: str, limit: int = LOG_LIMIT) -> str:
    """``log``, or its first and last ``limit // 2`` characters with a line that says what was
    cut between them."""
    if len(log) <= limit:
        return log
    half = limit // 2
    cut = len(log) - 2 * half
    note = f"\n[... {cut:,} characters of this hand-in's log cut: more than {limit:,} ...]\n"
    return f"{log[:half]}{note}{log[-half:]}"
