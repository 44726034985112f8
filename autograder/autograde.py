"""Autograding a class: every hand-in of an assignment, one after another, then a summary.

:func:`autograde` first registers the assignment in the gradebook from ``solutions/`` (its
release goes to a scratch folder, ``exercises/`` stays untouched), so the gradebook always
holds the current tests. Then nbgrader autogrades each student's hand-in in
``submitted/<student>/<assignment>/``, adding students it does not know, with the course's
``nbgrader_config.py``: every kernel in the bubblewrap sandbox, the test cells decided by the
referee (:mod:`autograder.execute`). A line per hand-in shows the progress.

The summary gives each student's total and names the hand-ins the grader had to contain (a
kernel that died, hung or flooded: ``GradingStopped``, ``CellTimedOut``) or whose test cells
the referee refused (``GradingRefused``); then the command fails, so that a script running it
notices. Without bwrap it refuses to run, unless told to grade unsandboxed on purpose: then
every line it prints says so.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time

from .course_folder import CourseFolder, check, nbgrader_api
from .execute import REFUSED, STOPPED, TIMED_OUT
from .grades import print_scores

UNSANDBOXED = "UNSANDBOXED (submissions run with your rights): "


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
        check(result, f"registering {assignment} in the gradebook")
    api = nbgrader_api(folder, ContainedExecute={"sandbox": sandbox})
    failed = []
    for number, name in enumerate(students, 1):
        started = time.monotonic()
        result = api.autograde(assignment, name, force=True)
        print(result.get("log", ""), end="")
        took = time.monotonic() - started
        if result.get("success"):
            print(f"[{number}/{len(students)}] {name}: graded in {took:.1f} s", flush=True)
        else:
            failed.append(name)
            reason = (result.get("error") or "").strip().splitlines()[-1:] or ["no reason given"]
            print(f"[{number}/{len(students)}] {name}: NOT GRADED: {reason[0]}", flush=True)
    print_scores(api, assignment)
    contained = print_flagged(folder, assignment, (STOPPED, TIMED_OUT), "contained by the grader")
    refused = print_flagged(folder, assignment, (REFUSED,), "refused by the referee")
    problems = []
    if failed:
        problems.append(f"nbgrader could not grade: {', '.join(failed)}; see above")
    if contained:
        problems.append(f"submissions stopped by the grader: {', '.join(contained)}")
    if refused:
        problems.append(f"test cells refused by the referee: {', '.join(refused)}")
    if problems:
        raise SystemExit("; ".join(problems))


def print_flagged(folder: CourseFolder, assignment: str, errors: tuple, what: str) -> list[str]:
    """Print, and return, the students with a graded cell that holds one of the ``errors``.

    The grader writes these errors into a cell (:mod:`autograder.execute`); the graded
    notebooks in ``autograded/`` are read back for them.
    """
    found = {}
    for path in sorted(folder.autograded.glob(f"*/{assignment}/*.ipynb")):
        student = path.parent.parent.name
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        for cell in cells:
            for output in cell.get("outputs", []):
                if output.get("ename") in errors:
                    found.setdefault(student, f"{path.name}: {output['evalue']}")
                    break
            if student in found:
                break
    if found:
        print(f"{assignment}: {len(found)} submission(s) {what}")
        for student, reason in found.items():
            print(f"  {student:<24} {reason}")
    return list(found)
