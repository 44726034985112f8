"""What became of each learner's hand-in of an assignment: the one account of a class.

An :class:`Outcome` says, for one learner, which of these holds, and why:

- ``graded``: nbgrader graded the hand-in; its score (after any late penalty) is real, even 0;
- ``contained``: graded, but the grader had to stop part of it (a cell that ran past the time
  limit, a kernel that died or flooded its output); the cells it broke scored zero;
- ``refused``: graded, but a test cell fell short of what its checks must show the referee
  (it never reached them, or reached them with a tampered request); that cell scored zero;
- ``not processed``: there was a hand-in, but nothing could be graded (no notebook of the
  assignment, a file that is not a notebook), or its grades could not be recorded (its tests
  then score zero in the gradebook); the learner scores nothing until it is fixed;
- ``not graded yet``: a hand-in that no autograde has seen, or one handed in again (collected
  with other files) since it was graded or found not processed: what the gradebook and the
  grading record say is about the earlier hand-in;
- ``not submitted``: a learner of the class (the gradebook's students: the roster, and everyone
  graded before) with no hand-in.

It also carries the late penalty, the points that still wait for hand grading, the locked cells
the learner edited (nbgrader put them back) and the grading time. The autograde summary, the
grade exports and the class report all read outcomes from here, so they cannot disagree.

What only the grading run knows (why a hand-in was not processed, edited cells, time taken) is
kept in ``grading/<assignment>.jsonl`` by ``autograde`` (:func:`save_run`); the rest comes from
the gradebook, ``submitted/`` and the graded notebooks in ``autograded/``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .cell_errors import GRADER_ERRORS, REFUSED, STOPPED, TIMED_OUT
from .course_folder import CourseFolder, nbgrader_api
from .grading_kit import release_version
from .hand_grading import reassess_late_penalties, waiting

GRADED, CONTAINED, REFUSED_CELLS, NOT_PROCESSED, NOT_GRADED_YET, NOT_SUBMITTED = (
    "graded",
    "contained",
    "refused",
    "not processed",
    "not graded yet",
    "not submitted",
)
OUTCOMES = (GRADED, CONTAINED, REFUSED_CELLS, NOT_PROCESSED, NOT_GRADED_YET, NOT_SUBMITTED)
NEED_A_LOOK = (CONTAINED, REFUSED_CELLS, NOT_PROCESSED)
RUNS = "grading"  # grading/<assignment>.jsonl, in the course folder
# Set by collect in a learner's run record when it replaced a graded hand-in with other files;
# autograde's next record of that learner has no such key.
HANDED_IN_AGAIN = "handed_in_again"
# The release a hand-in was graded with (grading_kit.release_version), in its run record.
RELEASE = "release"


@dataclass
class Outcome:
    """One learner's result on one assignment (see the module)."""

    student: str
    outcome: str
    name: str = ""
    reason: str = ""
    score: float | None = None  # after the late penalty
    max_score: float = 0.0
    penalty: float = 0.0
    seconds_late: float = 0.0
    pending: float = 0.0  # points that wait for hand grading
    edited: list[str] = field(default_factory=list)
    seconds: float | None = None  # time the autograder took


def run_record(folder: CourseFolder, assignment: str) -> dict:
    """What the grading runs of ``assignment`` recorded, per student: the last line of the
    journal that names them wins."""
    record = {}
    legacy = folder.root / RUNS / f"{assignment}.json"  # one JSON object, before the journal
    if legacy.is_file():
        record = json.loads(legacy.read_text(encoding="utf-8"))
    journal = _journal(folder, assignment)
    if journal.is_file():
        for line in journal.read_text(encoding="utf-8").splitlines():
            try:
                record |= json.loads(line)
            except json.JSONDecodeError:
                # A line cut short by a power cut: that hand-in is graded again, as if unseen.
                continue
    return record


def hand_in_files(folder: CourseFolder, assignment: str, student: str) -> dict[str, bytes]:
    """The files of ``student``'s hand-in, by path inside it."""
    hand_in = folder.submitted / student / assignment
    return {str(p.relative_to(hand_in)): p.read_bytes() for p in hand_in.rglob("*") if p.is_file()}


def digest_of(files: dict[str, bytes]) -> str:
    """A digest of a hand-in's files, names included: the run record's ``hand_in``, by which
    collect and autograde tell a hand-in handed in again."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


def save_run(folder: CourseFolder, assignment: str, runs: dict) -> Path:
    """Add ``runs`` (student: record) to the journal ``grading/<assignment>.jsonl``."""
    # One line appended per hand-in, not the whole record rewritten: at 10,000 learners a
    # rewrite took 0.1 s per hand-in, more than recording it in the gradebook.
    path = _journal(folder, assignment)
    path.parent.mkdir(exist_ok=True)
    with open(path, "a+b") as journal:
        journal.seek(0, os.SEEK_END)
        torn = journal.tell() > 0 and not _ends_a_line(journal)
        line = json.dumps(runs, sort_keys=True).encode() + b"\n"
        journal.write(b"\n" + line if torn else line)
    return path


def compact_runs(folder: CourseFolder, assignment: str) -> None:
    """Rewrite the journal as one line per student, so that it does not grow with every run;
    a record from before the journal is folded in."""
    path = _journal(folder, assignment)
    record = run_record(folder, assignment)
    if not record:
        return
    lines = "".join(json.dumps({name: record[name]}, sort_keys=True) + "\n" for name in record)
    # Written beside it, then swapped in: a kill halfway through leaves the journal whole.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(lines, encoding="utf-8")
    partial.replace(path)
    (folder.root / RUNS / f"{assignment}.json").unlink(missing_ok=True)


def _journal(folder: CourseFolder, assignment: str) -> Path:
    return folder.root / RUNS / f"{assignment}.jsonl"


def _ends_a_line(journal) -> bool:
    journal.seek(-1, os.SEEK_END)
    return journal.read(1) == b"\n"


def grader_errors(notebook: Path) -> dict[str, str]:
    """The errors the grader wrote into a graded ``notebook``: the first of each kind."""
    found = {}
    for cell in json.loads(notebook.read_text(encoding="utf-8")).get("cells", []):
        for output in cell.get("outputs", []):
            if output.get("ename") in GRADER_ERRORS:
                found.setdefault(output["ename"], f"{notebook.name}: {output['evalue']}")
    return found


def class_outcomes(folder: CourseFolder, assignment: str) -> list[Outcome]:
    """Every learner's :class:`Outcome` on ``assignment``, sorted by student id."""
    # Points given by hand since the autograde are part of the score a late penalty takes from.
    reassess_late_penalties(folder, assignment)
    runs = run_record(folder, assignment)
    released = release_version(folder, assignment)
    handed_in = set(folder.students(assignment))
    outcomes = []
    with nbgrader_api(folder).gradebook as gradebook:
        known = {s.id: s for s in gradebook.students}
        found = [a for a in gradebook.assignments if a.name == assignment]
        max_score = found[0].max_score if found else 0.0
        submissions = {s.student.id: s for s in found[0].submissions} if found else {}
        for student in sorted(set(known) | handed_in):
            person = known.get(student)
            name = " ".join(
                filter(
                    None, [getattr(person, "first_name", None), getattr(person, "last_name", None)]
                )
            )
            run = runs.get(student, {})
            outcome = Outcome(student, GRADED, name=name, max_score=max_score)
            outcome.edited, outcome.seconds = run.get("edited", []), run.get("seconds")
            submission = submissions.get(student)
            if student not in handed_in:
                outcome.outcome = NOT_SUBMITTED
            elif run.get(HANDED_IN_AGAIN):
                outcome.outcome = NOT_GRADED_YET
                outcome.reason = "handed in again since it was graded"
            elif run.get("not_processed"):
                outcome.outcome, outcome.reason = NOT_PROCESSED, run["not_processed"]
            elif submission is None or not (folder.autograded / student / assignment).is_dir():
                # A submission made for an extension (deadlines.extend_due_date) is not a grade.
                outcome.outcome = NOT_GRADED_YET
            elif run.get(RELEASE, released) != released:
                # Its scores are of the tests and points before the release, out of the new
                # maximum: shown, they would pass for grades of what learners were given since.
                outcome.outcome = NOT_GRADED_YET
                outcome.reason = f"graded before solutions/{assignment}/ changed; autograde again"
            else:
                outcome.penalty = submission.late_submission_penalty or 0.0
                outcome.score = submission.score - outcome.penalty
                outcome.seconds_late = submission.total_seconds_late or 0.0
                outcome.pending = sum(grade.max_score for grade in waiting(submission))
                errors = {}
                for notebook in sorted((folder.autograded / student / assignment).glob("*.ipynb")):
                    errors = grader_errors(notebook) | errors
                stopped = errors.get(STOPPED) or errors.get(TIMED_OUT)
                if stopped:
                    outcome.outcome, outcome.reason = CONTAINED, stopped
                elif REFUSED in errors:
                    outcome.outcome, outcome.reason = REFUSED_CELLS, errors[REFUSED]
            outcomes.append(outcome)
    return outcomes
