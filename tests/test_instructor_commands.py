"""The instructor commands (``python3 course.py release|collect|autograde|...``), as run by an
instructor, on a copy of the course that holds one small assignment.

The whole workflow on a graded class is in ``tests/test_grading_e2e.py`` and
``tests/test_hostile_submissions.py``; these check what those do not reach: grading on purpose
without the sandbox, refusing to grade without bubblewrap, noticing a stale instructor notebook,
and the one-line errors for a wrong assignment or an empty inbox.
"""

import csv
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import grading_support
import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "a6_theory"  # the quickest to grade: no networks to build
NOTEBOOK = "theory"
UNSANDBOXED = "UNSANDBOXED (submissions run with your rights): "

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A copy of the course with one assignment, sharing this checkout's .venv."""
    # The copy's setup must find the shared .venv up to date, or it would reinstall the
    # package from the copy: set up here first (nothing to do when it is).
    done = subprocess.run([sys.executable, "course.py", "setup"], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr
    copy = tmp_path_factory.mktemp("instructor") / "course"
    copy.mkdir()
    for name in ["course.py", "nbgrader_config.py", "requirements.lock", "pyproject.toml"]:
        shutil.copy(ROOT / name, copy)
    for folder in ["solutions", "exercises"]:
        shutil.copytree(ROOT / folder / ASSIGNMENT, copy / folder / ASSIGNMENT)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    return copy


def course_py(course: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    """``python3 course.py ARGS`` in ``course``, with ``path`` as its PATH when given."""
    return grading_support.course_py(
        course, *args, env=dict(os.environ, PATH=path or os.environ["PATH"])
    )


def hand_in(course: Path, tmp_path: Path, student: str) -> None:
    """``student`` hands in the instructor's own notebook (every test passes), collected."""
    inbox = tmp_path / "inbox"
    (inbox / student).mkdir(parents=True)
    shutil.copy(course / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", inbox / student)
    done = course_py(course, "collect", ASSIGNMENT, str(inbox))
    assert done.returncode == 0, done.stderr
    assert f"collected {student}: {NOTEBOOK}.ipynb" in done.stdout


def test_grading_unsandboxed_says_so_on_every_line(course, tmp_path):
    hand_in(course, tmp_path, "dana")
    done = course_py(course, "autograde", ASSIGNMENT, "--student", "dana", "--unsandboxed")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    graded = [line for line in lines if line.startswith("already set up")]
    assert len(graded) == 1  # course.py's own line, printed before the command is handed over
    rest = [line for line in lines if line not in graded]
    assert rest and all(line.startswith(UNSANDBOXED) for line in rest), rest[:5]
    assert any(re.search(r"\[1/1\b.*\] dana: graded in", line) for line in rest), rest[-5:]
    assert (course / "autograded" / "dana" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").is_file()


def test_without_bubblewrap_nothing_is_graded(course, tmp_path):
    hand_in(course, tmp_path, "erin")
    # A PATH with the course's environment and without /usr/bin, where bwrap lives.
    done = course_py(
        course, "autograde", ASSIGNMENT, "--student", "erin", path=str(ROOT / ".venv" / "bin")
    )
    assert done.returncode != 0
    assert "bubblewrap (bwrap) is not installed" in done.stderr
    assert "--unsandboxed" in done.stderr
    assert not (course / "autograded" / "erin").exists()


def test_a_stale_instructor_notebook_fails_the_release_check(course):
    assert course_py(course, "release", ASSIGNMENT, "--check").returncode == 0
    source = course / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.pct.py"
    original = source.read_text(encoding="utf-8")
    try:
        source.write_text(original + "\n# %%\nprint('a cell added to the source')\n")
        done = course_py(course, "release", ASSIGNMENT, "--check")
        assert done.returncode != 0
        assert f"{NOTEBOOK}.ipynb differs from {NOTEBOOK}.pct.py" in done.stderr
    finally:
        source.write_text(original, encoding="utf-8")


def test_an_unknown_assignment_lists_the_known_ones(course):
    done = course_py(course, "autograde", "a9_nothing")
    assert done.returncode != 0
    assert f"unknown assignment 'a9_nothing'; known: {ASSIGNMENT}" in done.stderr


def test_an_empty_inbox_says_what_it_expects(course, tmp_path):
    done = course_py(course, "collect", ASSIGNMENT, str(tmp_path))
    assert done.returncode != 0
    assert f"no submissions in {tmp_path}: expected {tmp_path}/<student>/<notebook>.ipynb" in (
        done.stderr
    )


def test_the_lms_submission_time_beats_a_backdated_timestamp_txt(course, tmp_path):
    # An LMS download holds what the learner uploaded: here a timestamp.txt of their own, a
    # day before the due date. The LMS's times say they handed in two days after it.
    inbox = tmp_path / "lms"
    (inbox / "finn").mkdir(parents=True)
    shutil.copy(course / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", inbox / "finn")
    (inbox / "finn" / "timestamp.txt").write_text("2027-01-14 17:00:00.000000 UTC")
    times = tmp_path / "times.csv"
    times.write_text("id,submitted_at\nfinn,2027-01-17T10:00:00+01:00\n")
    assert course_py(course, "due", ASSIGNMENT, "2027-01-15 17:00 UTC").returncode == 0
    try:
        done = course_py(course, "collect", ASSIGNMENT, str(inbox), "--submitted-at", str(times))
        assert done.returncode == 0, done.stderr
        assert (
            "WARNING finn: its own timestamp.txt says 2027-01-14 17:00:00 UTC, the LMS"
            " 2027-01-17 09:00:00 UTC: the LMS's time is kept"
        ) in done.stdout
        done = course_py(course, "autograde", ASSIGNMENT, "--student", "finn")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert course_py(course, "grades").returncode == 0
        with open(course / "grades.csv", newline="", encoding="utf-8") as file:
            (row,) = [r for r in csv.DictReader(file) if r["student_id"] == "finn"]
        assert row["timestamp"] == "2027-01-17 09:00:00 UTC"
        assert float(row["seconds_late"]) == (24 + 16) * 3600
        # Two started days late: 20% of the raw score.
        assert float(row["late_submission_penalty"]) == pytest.approx(0.2 * float(row["raw_score"]))
    finally:
        # The other tests here grade without a due date.
        course_py(course, "due", ASSIGNMENT, "2099-01-01 00:00 UTC")


def grades_of(course: Path, student: str) -> dict[str, str]:
    """``student``'s row of grades.csv, as ``course.py grades`` writes it now."""
    done = course_py(course, "grades")
    assert done.returncode == 0, done.stderr
    with open(course / "grades.csv", newline="", encoding="utf-8") as file:
        (row,) = [r for r in csv.DictReader(file) if r["student_id"] == student]
    return row


def pending_for(course: Path, student: str) -> list[str]:
    """What ``course.py pending`` lists for ``student``."""
    done = course_py(course, "pending", ASSIGNMENT)
    assert done.returncode == 0, done.stderr
    return re.findall(rf"^{ASSIGNMENT}\s+{student}\s+(.*)$", done.stdout, re.M)


def test_a_hand_in_collected_again_shows_no_earlier_score_until_it_is_graded(course, tmp_path):
    hand_in(course, tmp_path / "first", "gil")
    done = course_py(course, "autograde", ASSIGNMENT, "--student", "gil")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert grades_of(course, "gil")["outcome"] == "graded"
    assert float(grades_of(course, "gil")["score"]) > 0
    assert pending_for(course, "gil")  # the written answers wait for hand grading
    assert course_py(course, "feedback", ASSIGNMENT, "--student", "gil").returncode == 0
    zipped = course / "feedback_zips" / ASSIGNMENT / "gil.zip"
    assert zipped.is_file()
    # gil hands in again: the blank notebook. Until it is graded, nothing of the first
    # hand-in's result may pass for this one's.
    inbox = tmp_path / "second"
    (inbox / "gil").mkdir(parents=True)
    shutil.copy(course / "exercises" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", inbox / "gil")
    assert course_py(course, "collect", ASSIGNMENT, str(inbox)).returncode == 0
    row = grades_of(course, "gil")
    assert (row["outcome"], row["score"]) == ("not graded yet", "")
    assert not pending_for(course, "gil")  # answers that will never count are not listed
    done = course_py(course, "feedback", ASSIGNMENT, "--student", "gil")
    assert "no feedback for gil" in done.stdout, done.stdout + done.stderr
    assert not zipped.exists()
    assert not (course / "feedback" / "gil" / ASSIGNMENT).exists()
    done = course_py(course, "autograde", ASSIGNMENT, "--student", "gil")
    assert "gil: graded in" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    assert grades_of(course, "gil")["outcome"] == "graded"
    assert float(grades_of(course, "gil")["score"]) == 0  # the blank notebook's own score


def test_a_learner_named_zips_keeps_the_class_zips(course, tmp_path):
    # The zips went to feedback/zips/, where every other folder is a learner's: a learner named
    # zips, not processed, had that folder emptied, every classmate's zip with it. They go to
    # feedback_zips/ now, so zips is an id like any other.
    classmate = course / "feedback_zips" / ASSIGNMENT / "classmate.zip"
    classmate.parent.mkdir(parents=True, exist_ok=True)
    classmate.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    inbox = tmp_path / "inbox"
    (inbox / "zips").mkdir(parents=True)
    (inbox / "zips" / "theory.pdf").write_text("%PDF-1.4\n")
    done = course_py(course, "collect", ASSIGNMENT, str(inbox))
    assert "collected zips: theory.pdf" in done.stdout, done.stdout + done.stderr
    odd = "é" * 126
    try:
        course_py(course, "autograde", ASSIGNMENT, "--student", "zips")  # not processed: a PDF
        done = course_py(course, "feedback", ASSIGNMENT, "--student", "zips")
        assert done.returncode == 0, done.stdout + done.stderr
        with zipfile.ZipFile(classmate.parent / "zips.zip") as archive:
            assert archive.namelist() == ["NOT_GRADED.html"]
        assert classmate.is_file()
        # An id collect refuses, put in submitted/ by hand, stops the feedback before it writes
        # anything: one too long for the name of its zip stopped it halfway through.
        (course / "submitted" / odd / ASSIGNMENT).mkdir(parents=True)
        (course / "submitted" / odd / ASSIGNMENT / "theory.pdf").write_text("%PDF-1.4\n")
        done = course_py(course, "feedback", ASSIGNMENT)
        assert done.returncode != 0, done.stdout
        assert f"no feedback written: {odd!r} in submitted/ is longer than 251" in done.stderr
        assert classmate.is_file()
    finally:
        shutil.rmtree(course / "submitted" / "zips")
        shutil.rmtree(course / "submitted" / odd, ignore_errors=True)


def test_a_hand_in_with_a_subfolder_is_graded(course, tmp_path):
    # A learner who keeps a file of their own in a folder beside the notebook.
    hand_in(course, tmp_path, "hal")
    notes = course / "submitted" / "hal" / ASSIGNMENT / "notes" / "plan.txt"
    notes.parent.mkdir()
    notes.write_text("read chapter 3 first\n")
    done = course_py(course, "autograde", ASSIGNMENT, "--student", "hal")
    assert "hal: graded in" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    assert grades_of(course, "hal")["outcome"] == "graded"
    assert float(grades_of(course, "hal")["score"]) > 0
