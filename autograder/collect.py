"""Collecting hand-ins: ``FOLDER/<student>/`` into ``submitted/<student>/<assignment>/``.

An inbox is what an LMS download or nbgrader's exchange gives: one folder per learner. Each
folder is copied whole, so the instructor keeps exactly what was received, except what
nbgrader's exchange leaves out of a hand-in too (``CourseDirectory.ignore``: Jupyter's
``.ipynb_checkpoints``, which a learner who zips their folder sends along, ``__pycache__``...).

A hand-in's ``timestamp.txt`` is its submission time, which nbgrader compares with the
assignment's due date; nbgrader's exchange writes it, but in an LMS download it is whatever the
learner uploaded (a backdated time, or none, which counts as on time). So with ``times``
(``collect --submitted-at FILE.csv``: the LMS's own submission times,
:func:`read_submission_times`) a learner's ``timestamp.txt`` is never kept: the time from the
LMS is written in its place, a learner's own that disagrees is reported, and so is a learner
the file has no time for.

What would stop a hand-in from being graded is said, by learner and file name:

- a folder with no notebook at all (an empty folder, a PDF instead of the notebook);
- a file that is not a notebook, or a ``.ipynb`` file that nbformat cannot read;
- a notebook whose nbgrader metadata nbgrader cannot read (:func:`metadata_problem`): it
  would stop at that cell with a traceback, before the course's own step that puts the
  instructor's metadata back (:mod:`autograder.locked_cells`) could;
- a notebook whose name is not one of the assignment's (``blocks (1).ipynb``, as a browser
  names a second download). When it is the only notebook handed in for the only notebook the
  learner is missing, and holds most of that notebook's cells (nbgrader's cell ids), it is
  renamed to the expected name, and the rename is reported;
- a notebook under the expected name that lacks most of its cells: another assignment's
  notebook, or answers pasted into a new notebook, which nbgrader cannot grade.

A folder whose name cannot be a learner's id (:func:`autograder.roster.id_problem`: a name
nbgrader would read as a file pattern, one a spreadsheet would open as a formula, control
characters, one too long for its feedback zip's name) stays in the inbox, reported with the
reason, to be renamed; so do macOS's ``__MACOSX`` folders, which unzipping a Mac's zip leaves
beside the learners'. A name is collected in Unicode's composed form (NFC), the form an LMS
export has, whatever form the zip gave it (a second folder of the same name in another form is
reported, not collected). Names that differ only in case are collected and reported: on a
case-insensitive disk they are one folder. A folder whose name is not one of the gradebook's
learners (the roster, earlier gradings) but differs from one only in case is reported.

A hand-in that replaces one already graded, with other files, is marked in the grading record
(:data:`autograder.outcomes.HANDED_IN_AGAIN`) until ``autograde`` grades it: until then its
outcome is "not graded yet", so the grades, the report and the feedback never show the earlier
hand-in's score as this one's.

Links and special files are left in the inbox and reported, never followed: ``unzip`` makes the
links a zip holds, and copying one would copy what it points at (the instructor's solution
notebook, say) as the learner's hand-in. A hand-in that cannot be copied is reported, and the
learners after it are collected all the same.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from fnmatch import fnmatch
from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import parse_utc

from .course_folder import CourseFolder, nbgrader_api
from .deadlines import stamp, utc_time
from .one_writer import folder_lock, this_process
from .outcomes import HANDED_IN_AGAIN, digest_of, hand_in_files, run_record, save_run
from .roster import id_problem, learner_id, read_table

TIMESTAMP = "timestamp.txt"  # nbgrader's name for the submission time
MACOS_ZIP_FOLDER = "__MACOSX"  # the metadata a Mac puts in a zip, not a learner
# A notebook of 300 MiB (a picture pasted in, outputs of megabytes) was graded at 2.8 GiB of
# memory in autograde: a few such hand-ins in flight at once would stop a machine.
NOTEBOOK_LIMIT = 50 * 2**20


def plain(path: Path) -> bool:
    """Whether ``path`` is a file or folder itself, not a link or a special file."""
    return not path.is_symlink() and (path.is_file() or path.is_dir())


def notebook_problem(path: Path) -> str | None:
    """Why ``path`` cannot be graded as a notebook, or None when it can."""
    if path.suffix != ".ipynb":
        return "is not a notebook"
    if path.stat().st_size > NOTEBOOK_LIMIT:
        return (
            f"is {path.stat().st_size / 2**20:.0f} MiB, over the {NOTEBOOK_LIMIT / 2**20:.0f} MiB"
            " a notebook may be (clear its outputs, then hand it in again)"
        )
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises JSON, validation and encoding errors alike
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"is not a readable notebook ({reason[:120]})"
    problem = metadata_problem(notebook)
    return f"cannot be graded: {problem}" if problem else None


def metadata_problem(notebook) -> str | None:
    """Where ``notebook``'s nbgrader metadata has a shape nbgrader cannot grade, or None."""
    for number, cell in enumerate(notebook.cells, start=1):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        if not isinstance(meta, dict):
            return f"cell {number}'s nbgrader metadata is not a mapping"
        grade_id = meta.get("grade_id")
        if grade_id is not None and not isinstance(grade_id, str):
            return f"cell {number}'s grade_id is not text"
        if grade_id is None and any(meta.get(key) for key in ("grade", "solution", "locked")):
            return f"cell {number} is marked for grading but has no grade_id"
    return None


def expected_notebooks(folder: CourseFolder, assignment: str) -> list[str]:
    """The file names of ``assignment``'s notebooks, as learners received them."""
    return sorted(p.name for p in (folder.exercises / assignment).glob("*.ipynb"))


def grade_ids(path: Path) -> set[str]:
    """The nbgrader ids of a notebook's cells (the released notebook's, in a learner's copy)."""
    notebook = nbformat.read(path, as_version=4)
    return {
        cell.metadata.nbgrader.grade_id
        for cell in notebook.cells
        if "grade_id" in cell.get("metadata", {}).get("nbgrader", {})
    }


def matched_names(learner: Path, handed_in: list[str], released: Path) -> dict[str, str]:
    """Renames that give a misnamed notebook its expected name, where that is unambiguous: the
    only notebook handed in under another name, for the only one missing, and with its cells."""
    expected = sorted(p.name for p in released.glob("*.ipynb"))
    unmatched = [name for name in handed_in if name not in expected]
    missing = [name for name in expected if name not in handed_in]
    # Another assignment's notebook, renamed, would be graded as this one's (and fail).
    if (
        len(unmatched) == 1
        and len(missing) == 1
        and is_copy_of(learner / unmatched[0], released / missing[0])
    ):
        return {unmatched[0]: missing[0]}
    return {}


def is_copy_of(notebook: Path, released: Path) -> bool:
    """Whether ``notebook`` holds most of the cells of the ``released`` notebook, as a learner's
    copy of it does (notebooks of one course share a few, a set-up cell say); True when the
    released notebook has no nbgrader cells to tell by."""
    ids = grade_ids(released)
    return len(ids & grade_ids(notebook)) >= len(ids) / 2


def printable(text: str) -> str:
    """``text`` with each control character written as an escape (``\\x1b``): a file name in a
    learner's zip can hold terminal escapes that would rewrite the instructor's console (erase
    the warning above it, say)."""
    return "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape").decode() for c in text
    )


def read_submission_times(path: Path) -> dict[str, datetime]:
    """The submission time of each learner, in UTC, from a CSV file with the columns ``id``
    (the learner's folder name) and ``submitted_at`` (a time with its zone, as the LMS gives
    it); exit with a clear error, naming the line, when the file is wrong."""
    if not path.is_file():
        raise SystemExit(f"no file {path}: write a CSV file with columns id, submitted_at")
    header, rows = read_table(path)
    if "id" not in header or "submitted_at" not in header:
        raise SystemExit(
            f"{path}: columns {', '.join(header) or '(none)'}; it needs id and submitted_at"
        )
    times = {}
    for line, row in rows:
        student, text = learner_id(row["id"]), row["submitted_at"]
        if student in times:
            raise SystemExit(f"{path}, line {line}: {student} has a time already")
        times[student] = utc_time(text)
        if times[student] is None:
            raise SystemExit(
                f"{path}, line {line}: cannot read {student}'s submission time {text!r}: write"
                " it with its zone, like '2027-01-15 17:00 UTC' or '2027-01-15T18:00:00+01:00'"
            )
    return times


def own_time(path: Path) -> datetime | str | None:
    """The time a hand-in's own ``timestamp.txt`` gives; None when there is none (no file, or
    an empty one, which nbgrader reads as no time); a sentence when it is not a time."""
    if not plain(path):
        return None
    try:
        text = path.read_text(encoding="utf-8").strip()
        return parse_utc(text) if text else None
    except Exception:  # not text, not a time: dateutil raises several kinds
        return f"{TIMESTAMP} is not a time"


def utc(when: datetime | None) -> str:
    """A time as the warnings write it."""
    return f"{when:%Y-%m-%d %H:%M:%S} UTC" if when else "no time"


def collect(
    folder: CourseFolder,
    assignment: str,
    inbox: Path | str,
    timed: bool = False,
    times: dict[str, datetime] | None = None,
) -> list[str]:
    """Copy each ``inbox/<student>/`` into ``submitted/<student>/<assignment>/``.

    Prints a line per learner, with what was renamed or cannot be graded; returns the
    warnings (one line each, naming the learner) that it printed. ``timed``: the assignment
    has a due date, so a hand-in without its submission time is worth a warning. ``times``:
    the submission time of each learner, from the LMS, written as their ``timestamp.txt``.
    Refused while an autograde (or another collect) runs in the course.
    """
    with folder_lock(folder, this_process(f"collect {assignment}")):
        return _collect_unlocked(folder, assignment, inbox, timed, times)


def _collect_unlocked(
    folder: CourseFolder,
    assignment: str,
    inbox: Path | str,
    timed: bool,
    times: dict[str, datetime] | None,
) -> list[str]:
    inbox = Path(inbox).resolve()
    if not inbox.is_dir():
        raise SystemExit(f"no folder {inbox}: expected {inbox}/<student>/<notebook>.ipynb")
    learners = sorted(p for p in inbox.iterdir() if p.is_dir() or p.is_symlink())
    if not learners:
        raise SystemExit(f"no submissions in {inbox}: expected {inbox}/<student>/<notebook>.ipynb")
    expected = expected_notebooks(folder, assignment)
    released = folder.exercises / assignment
    # What nbgrader's exchange leaves out of a hand-in (Jupyter's .ipynb_checkpoints, say): a
    # learner who zips their folder sends it along, and it is not part of the hand-in.
    usual = CourseDirectory(config=folder.config()).ignore
    with nbgrader_api(folder).gradebook as gradebook:
        known = {s.id for s in gradebook.students}  # the roster, and everyone graded before
    runs = run_record(folder, assignment)
    warnings, collected = [], []

    def warn(line: str) -> None:
        line = printable(line)
        warnings.append(line)
        print(f"  WARNING {line}")

    for learner in learners:
        if not plain(learner):
            warn(f"{learner.name}: is a link, not a folder: not collected")
            continue
        if learner.name == MACOS_ZIP_FOLDER:
            print(f"left out {learner.name}: macOS's metadata of the zip, not a learner")
            continue
        student = learner_id(learner.name)
        problem = id_problem(student)
        if problem:
            warn(f"{student!r}: the folder name {problem}: not collected; rename it")
            continue
        if student in collected:
            warn(f"{learner.name!r}: {student} again, in another Unicode form: not collected")
            continue
        collected.append(student)
        files = sorted(
            p
            for p in learner.iterdir()
            if plain(p) and p.is_file() and p.name != TIMESTAMP and not matches(p.name, usual)
        )
        problems = {p.name: notebook_problem(p) for p in files}
        notebooks = [name for name, problem in problems.items() if problem is None]
        renames = matched_names(learner, notebooks, released)
        target = folder.submitted / student / assignment
        left_out, skipped = [], []
        try:
            if target.exists():
                shutil.rmtree(target)  # a new hand-in replaces the old one, whole
            own = [TIMESTAMP] if times is not None else []  # never copied: the LMS's is
            ignore = leaving_out(learner, left_out, skipped, usual, own)
            shutil.copytree(learner, target, ignore=ignore)
            for old, new in renames.items():
                (target / old).rename(target / new)
            if times is not None and student in times:
                (target / TIMESTAMP).write_text(stamp(times[student]), encoding="utf-8")
        except OSError as error:  # shutil.Error too: an unreadable file, a full disk
            shutil.rmtree(target, ignore_errors=True)
            warn(f"{student}: could not be collected ({error}); nothing of it was kept")
            continue
        mark_if_changed(folder, assignment, student, runs)
        received = ", ".join(p.name for p in files) or "nothing"
        also = f" ({', '.join(skipped)} left out, as nbgrader leaves them out)" if skipped else ""
        print(printable(f"collected {student}: {received}{also}"))
        found = [f"{name} is a link or a special file: not collected" for name in left_out]
        for old, new in renames.items():
            found.append(f"{old} renamed to {new}, the notebook it replaces")
        for name, problem in problems.items():
            if problem:
                found.append(f"{name} {problem}")
        for name in notebooks:
            if name not in expected and name not in renames:
                found.append(f"{name} is not a notebook of {assignment} ({', '.join(expected)})")
            elif name in expected and not is_copy_of(learner / name, released / name):
                found.append(
                    f"{name} lacks most of the cells of {assignment}'s {name} (another"
                    " assignment's notebook, or answers pasted into a new one?): it cannot be"
                    " graded"
                )
        if not notebooks:
            found.append(f"no notebook: it cannot be graded (expected {', '.join(expected)})")
        same = [k for k in sorted(known) if k.casefold() == student.casefold()]
        if student not in known and same:
            # An LMS user name in another case: the learner would be graded under a second id,
            # and the roster's would read as not submitted.
            found.append(
                f"not on the roster, but {same[0]} is: the same learner? If so, rename the"
                " folder; otherwise it is graded as a learner of its own"
            )
        own = own_time(learner / TIMESTAMP)
        if times is not None:
            lms = times.get(student)
            if lms is None:
                found.append("the LMS's times have none for it: it counts as on time")
            elif plain(learner / TIMESTAMP) and own != lms:
                said = own if isinstance(own, str) else f"its own {TIMESTAMP} says {utc(own)}"
                found.append(f"{said}, the LMS {utc(lms)}: the LMS's time is kept")
        elif isinstance(own, str):
            found.append(f"{own}: nbgrader will not grade the hand-in")
        elif timed and own is None:
            found.append(f"no {TIMESTAMP}: the submission time is unknown, so it counts as on time")
        for line in found:
            warn(f"{student}: {line}")
    by_case: dict[str, list[str]] = {}
    for student in collected:
        by_case.setdefault(student.casefold(), []).append(student)
    for names in by_case.values():
        if len(names) > 1:
            warn(
                f"{', '.join(names)}: names that differ only in case, one folder on a"
                " case-insensitive disk (macOS, Windows): keep the course folder off such a disk"
            )
    if timed and times is None:
        print(
            f"submission times: each hand-in's own {TIMESTAMP}. nbgrader's exchange writes it,"
            " but in an LMS download a learner can have written it: give the LMS's times with"
            " --submitted-at FILE.csv (columns id, submitted_at)"
        )
    return warnings


def mark_if_changed(folder: CourseFolder, assignment: str, student: str, runs: dict) -> None:
    """Mark ``student``'s hand-in as handed in again when its files are not those that
    ``autograde`` last recorded for them (``runs``: the run record)."""
    run = runs.get(student)
    if run and run.get("hand_in") != digest_of(hand_in_files(folder, assignment, student)):
        save_run(folder, assignment, {student: run | {HANDED_IN_AGAIN: True}})


def matches(name: str, patterns: list[str]) -> bool:
    """Whether ``name`` matches one of the glob ``patterns``."""
    return any(fnmatch(name, pattern) for pattern in patterns)


def leaving_out(
    learner: Path, left_out: list[str], skipped: list[str], usual: list[str], dropped: list[str]
):
    """A ``copytree`` ignore function that leaves out, noting each relative to ``learner``:
    links and special files in ``left_out``, names that match the patterns ``usual`` in
    ``skipped``; and, saying nothing, the names in ``dropped`` at the top of ``learner``."""

    def ignore(directory: str, names: list[str]) -> list[str]:
        here = Path(directory)
        links = [name for name in names if not plain(here / name)]
        left_out.extend((here / name).relative_to(learner).as_posix() for name in links)
        others = [name for name in names if name not in links and matches(name, usual)]
        skipped.extend((here / name).relative_to(learner).as_posix() for name in others)
        own = [name for name in names if here == learner and name in dropped]
        return links + others + own

    return ignore
