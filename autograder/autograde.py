"""Autograding a class: every hand-in of an assignment, one after another, then a summary.

:func:`autograde` first registers the assignment in the gradebook from ``solutions/`` (its
release goes to a scratch folder, ``exercises/`` stays untouched), so the gradebook always
holds the current tests. Then nbgrader autogrades each student's hand-in in
``submitted/<student>/<assignment>/``, adding students it does not know, with the course's
``nbgrader_config.py``: every kernel in the bubblewrap sandbox, the test cells decided by the
referee (:mod:`autograder.execute`). A hand-in with no notebook of the assignment, or one
nbformat cannot read, is not handed to nbgrader: it is recorded as not processed, with why.

The console gets a line per hand-in and what an instructor must act on: a locked cell a
learner edited, a hand-in that could not be processed. nbgrader's full log goes to
``.nbgrader.log``. The summary gives every learner's outcome (:mod:`autograder.outcomes`:
graded, contained, not processed, not submitted), lateness and points waiting for hand
grading, then names the learners that need a look; the command fails when some hand-in
could not be processed or had to be contained, so that a script running it notices. Without
bwrap it refuses to run, unless told to grade unsandboxed on purpose: then every line it
prints says so.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import warnings

from .collect import TIMESTAMP, expected_notebooks, notebook_problem
from .course_folder import LOG_FILE, CourseFolder, append_log, check, nbgrader_api
from .deadlines import due_date, late_by
from .hand_grading import graded_answers, settle
from .locked_cells import EDITED
from .outcomes import (
    CONTAINED,
    NEED_A_LOOK,
    NOT_PROCESSED,
    REFUSED_CELLS,
    Outcome,
    class_outcomes,
    save_run,
)

UNSANDBOXED = "UNSANDBOXED (submissions run with your rights): "
# What of nbgrader's log reaches the console: a learner's edits to locked cells (nbgrader puts
# them back before grading), and about the instructor's solution, its one run for the referee
# and any check it fails.
EDITS = (EDITED, "Missing grade cell", "Missing task cell")
ABOUT_THE_SOLUTION = (
    "recording what the solution's test cells check",
    "the solution fails a check",
)
LOOK_FOR = {
    NOT_PROCESSED: "not processed (nothing could be graded; the learner should hand in again)",
    CONTAINED: "contained (stopped by the grader: a cell timed out, the kernel died or flooded)",
    REFUSED_CELLS: "refused (test cells the referee refused: read the notebook)",
}


class Prefixed:
    """A text stream that starts every line written to it with ``prefix``."""

    def __init__(self, stream, prefix: str):
        self.stream, self.prefix, self.at_line_start = stream, prefix, True

    def write(self, text: str) -> int:
        """Write ``text``, with the prefix at the start of each line."""
        for piece in text.splitlines(keepends=True):
            if self.at_line_start:
                self.stream.write(self.prefix)
            self.stream.write(piece)
            self.at_line_start = piece.endswith("\n")
        return len(text)

    def flush(self) -> None:
        """Flush the underlying stream."""
        self.stream.flush()


def hand_in_problem(folder: CourseFolder, assignment: str, student: str) -> str | None:
    """Why ``student``'s hand-in cannot be given to nbgrader, or None when it can."""
    expected = expected_notebooks(folder, assignment)
    hand_in = folder.submitted / student / assignment
    received = sorted(p.name for p in hand_in.iterdir() if p.name != TIMESTAMP)
    present = [name for name in expected if name in received]
    if not present:
        return (
            f"no notebook named {' or '.join(expected)}; received:"
            f" {', '.join(received) or 'nothing'}"
        )
    for name in present:
        problem = notebook_problem(hand_in / name)
        if problem:
            return f"{name} {problem}"
    return None


def log_lines(log: str, about: tuple[str, ...]) -> list[str]:
    """The messages of an nbgrader ``log`` that hold any of the words ``about``."""
    return [
        line.split("] ", 1)[-1].strip()
        for line in log.splitlines()
        if any(words in line for words in about)
    ]


def grade_one(api, folder: CourseFolder, assignment: str, student: str) -> dict:
    """Autograde one hand-in; return its run record (see :mod:`autograder.outcomes`)."""
    started = time.monotonic()
    problem = hand_in_problem(folder, assignment, student)
    if problem:
        return {"not_processed": problem, "edited": [], "seconds": 0.0}
    before = graded_answers(folder, assignment, student)
    with warnings.catch_warnings(record=True) as caught:
        # SQLAlchemy warns about nbgrader's own session handling, once per hand-in.
        warnings.simplefilter("always")
        result = api.autograde(assignment, student, force=True)
    log = result.get("log", "") + "".join(f"{w.category.__name__}: {w.message}\n" for w in caught)
    append_log(folder, f"autograde {assignment} {student}", log + (result.get("error") or ""))
    for message in log_lines(log, ABOUT_THE_SOLUTION):
        print(f"  {message}")
    run = {"edited": log_lines(log, EDITS), "seconds": round(time.monotonic() - started, 1)}
    if not result.get("success"):
        reason = (result.get("error") or "").strip().splitlines()[-1:] or ["no reason given"]
        run["not_processed"] = f"nbgrader could not grade it: {reason[0]} (see {LOG_FILE})"
    else:
        settle(folder, assignment, student, before)
    return run


def autograde(
    folder: CourseFolder, assignment: str, student: str | None = None, sandbox: bool = True
) -> None:
    """Autograde every hand-in of ``assignment`` (or ``student``'s), then summarise."""
    folder.known(assignment)
    students = [s for s in folder.students(assignment) if student in (None, s)]
    if not students:
        raise SystemExit(
            f"nothing to grade: no folder submitted/{student or '*'}/{assignment}/; put each"
            f" learner's notebooks in submitted/<student>/{assignment}/"
            f" (python3 course.py collect {assignment} FOLDER)"
        )
    if sandbox and not shutil.which("bwrap"):
        raise SystemExit(
            "bubblewrap (bwrap) is not installed, so submissions cannot be sandboxed: install it"
            " (Debian/Ubuntu: apt-get install bubblewrap), or grade unsandboxed on purpose with"
            f" python3 course.py autograde {assignment} --unsandboxed"
        )
    if not sandbox:
        sys.stdout = Prefixed(sys.stdout, UNSANDBOXED)
    with tempfile.TemporaryDirectory() as scratch:
        registering = nbgrader_api(folder, CourseDirectory={"release_directory": scratch})
        result = registering.generate_assignment(assignment, force=True)
        append_log(folder, f"register {assignment}", check(result, f"registering {assignment}"))
    api = nbgrader_api(folder, ContainedExecute={"sandbox": sandbox})
    print(f"{assignment}: grading {len(students)} hand-in(s); nbgrader's log goes to {LOG_FILE}")
    runs = {}
    for number, name in enumerate(students, 1):
        run = runs[name] = grade_one(api, folder, assignment, name)
        if run.get("not_processed"):
            print(f"[{number}/{len(students)}] {name}: NOT PROCESSED: {run['not_processed']}")
        else:
            print(f"[{number}/{len(students)}] {name}: graded in {run['seconds']:.1f} s")
        for edit in run["edited"]:
            print(f"  WARNING {name}: {edit}")
        sys.stdout.flush()
    save_run(folder, assignment, runs)
    outcomes = [o for o in class_outcomes(folder, assignment) if student in (None, o.student)]
    print_summary(folder, assignment, outcomes)
    act_on = [o for o in outcomes if o.outcome in NEED_A_LOOK]
    if act_on:
        print(f"{assignment}: {len(act_on)} hand-in(s) need a look")
        for outcome, meaning in LOOK_FOR.items():
            named = [o.student for o in act_on if o.outcome == outcome]
            if named:
                print(f"  {meaning}: {', '.join(named)}")
        raise SystemExit(f"{assignment}: {len(act_on)} hand-in(s) need a look (see above)")


def print_summary(folder: CourseFolder, assignment: str, outcomes: list[Outcome]) -> None:
    """Print one line per learner: outcome, score, lateness, points left to grade by hand."""
    due = due_date(folder, assignment)
    when = f"due {due:%Y-%m-%d %H:%M} UTC" if due else "no due date"
    print(f"{assignment} ({when}): {len(outcomes)} learner(s)")
    for o in outcomes:
        line = f"  {o.student:<16} {o.outcome:<14}"
        if o.score is not None:
            line += f" {o.score:6.1f} / {o.max_score:g}"
            if o.seconds_late:
                line += f"  late by {late_by(o.seconds_late)} (-{o.penalty:g})"
            if o.pending:
                line += f"  {o.pending:g} point(s) to grade by hand"
        if o.reason:
            line += f"  {o.reason}"
        print(line)
    pending = [o.student for o in outcomes if o.pending]
    if pending:
        print(
            f"{len(pending)} hand-in(s) wait for hand grading: {', '.join(pending)}"
            " (python3 course.py pending lists the cells)"
        )
    edited = [o.student for o in outcomes if o.edited]
    if edited:
        print(f"locked cells edited (originals put back, see above): {', '.join(edited)}")
