"""Hand grading over a week, as teaching assistants do it: written answers graded after the
autograde, learners who hand in again afterwards, a late hand-in graded by hand.

One tiny class hands in ``a6_theory`` once (``graded``): ``ana`` and ``ben`` on time, ``gil``
late; ``autograde`` grades them with the real nbgrader, then their written answers get scores,
extra credit and comments in the gradebook, as Formgrader's API writes them. The tests run
the README's commands on that course and read what they print and write.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser import chromium
from grading_support import Assignment, course_copy, course_py, fill_release
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parents[1]
A6 = Assignment("a6_theory", ["theory"])
DUE = "2027-01-15 17:00 UTC"
ON_TIME = "2027-01-15 09:00:00.000000 UTC"
LATE = "2027-01-17 09:00:00.000000 UTC"  # two started days late: 20% of the score
# What a teaching assistant writes: markup, a line break, a comma, a formula start, unicode.
COMMENT = 'Good =1+1, "see ch. 3"\n<b>but</b> ∑ é'

pytestmark = pytest.mark.slow


@dataclass
class Class:
    """The graded course."""

    course: Path
    feedback: subprocess.CompletedProcess | None = None  # ``feedback`` after the hand grading

    def run(self, *args: str) -> subprocess.CompletedProcess:
        done = course_py(self.course, *args, timeout=900)
        assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
        return done

    def grades(self, student: str) -> dict[str, str]:
        """``student``'s row of grades.csv, after ``grades``."""
        self.run("grades")
        with (self.course / "grades.csv").open(newline="", encoding="utf-8") as file:
            return {row["student_id"]: row for row in csv.DictReader(file)}[student]

    def written(self, student: str) -> dict[str, tuple]:
        """Each graded cell's (manual score, extra credit, manual comment, waiting)."""
        with Gradebook(f"sqlite:///{self.course / 'gradebook.db'}") as gradebook:
            notebook = gradebook.find_submission_notebook("theory", A6.name, student)
            comments = {c.name: c.manual_comment for c in notebook.comments}
            return {
                g.name: (g.manual_score, g.extra_credit, comments.get(g.name), g.needs_manual_grade)
                for g in notebook.grades
                if g.name in A6.manual or g.name in A6.cells
            }


def hand_in(folder: Path, student: str, stamp: str, answers: dict[str, str]) -> None:
    """``student``'s hand-in in the inbox ``folder``: the solution, ``answers`` written."""
    (notebook,) = A6.notebooks
    filled = fill_release(A6.release(notebook), A6.solution(notebook), answers)
    (folder / student).mkdir(parents=True)
    (folder / student / "theory.ipynb").write_text(json.dumps(filled), encoding="utf-8")
    (folder / student / "timestamp.txt").write_text(stamp)


def grade_all_by_hand(course: Path, student: str) -> None:
    """Full marks on every written answer of ``student``; on the first, extra credit and a
    comment too. As Formgrader's API saves them: score, extra credit, comment."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook("theory", A6.name, student)
        for grade in notebook.grades:
            if grade.name in A6.manual:
                grade.manual_score, grade.needs_manual_grade = grade.max_score, False
        first = next(iter(A6.manual))
        [grade] = [g for g in notebook.grades if g.name == first]
        grade.extra_credit = 1
        [comment] = [c for c in notebook.comments if c.name == first]
        comment.manual_comment = COMMENT
        gradebook.db.commit()


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Class:
    done = subprocess.run([sys.executable, "course.py", "setup"], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr
    base = tmp_path_factory.mktemp("hand_grading")
    course = Class(course_copy(base / "course", A6.name, "c.Execute.timeout = 60\n"))
    for student, stamp in [("ana", ON_TIME), ("ben", ON_TIME), ("gil", LATE)]:
        hand_in(base / "inbox", student, stamp, {})
    course.run("due", A6.name, DUE)
    course.run("collect", A6.name, str(base / "inbox"))
    course.run("autograde", A6.name)
    for student in ["ana", "gil"]:
        grade_all_by_hand(course.course, student)
    # Straight after the hand grading, as an instructor hands out the pages.
    course.feedback = course.run("feedback", A6.name)
    return course


def test_points_given_by_hand_to_a_late_hand_in_lose_the_late_penalty_too(graded):
    """nbgrader takes the penalty at autograde, from the tests' points alone: gil's 21 points
    given by hand afterwards escaped it (4 + 21 - 0.8 = 24.2, not 80% of 25)."""
    total = sum((A6.cells | A6.manual).values())
    row = graded.grades("gil")
    assert float(row["raw_score"]) == total + 1  # the extra credit of the first answer
    assert float(row["late_submission_penalty"]) == pytest.approx((total + 1) * 0.2)
    assert float(row["score"]) == pytest.approx((total + 1) * 0.8)
    page = (graded.course / "feedback" / "gil" / A6.name / "theory.html").read_text()
    assert f"Late submission penalty (Score: -{(total + 1) * 0.2:.1f})" in page


def test_feedback_says_which_pages_still_wait_for_hand_grading(graded):
    """ben's page shows his ungraded answers as scoring 0 and his total as final: the command
    said nothing, and the zip was ready for the LMS."""
    said = re.search(r"^WARNING hand grading pending: .*$", graded.feedback.stdout, re.M)
    assert said, graded.feedback.stdout
    assert f"ben ({sum(A6.manual.values()):g} pts)" in said.group()
    assert "ana" not in said.group() and "gil" not in said.group()
    # What the learner reads, and why the warning matters: an unread answer scored 0.
    page = (graded.course / "feedback" / "ben" / A6.name / "theory.html").read_text()
    assert re.search(r"Written response</a> \(Score: 0\.0 / ", page)


def test_an_answer_changed_after_hand_grading_waits_again_without_its_old_grade(graded, tmp_path):
    """ana hands in again with her first written answer rewritten, and her count_paths code
    changed too. The first answer's score, extra credit and comment were given to the earlier
    text: they must neither count in the total nor reach the feedback beside the new answer.
    A test cell's text never changes, so the score a TA gave test_count_paths in place of the
    autograder's held on over the new code's. Her other answers, unchanged, keep theirs."""
    first, *others = A6.manual
    total = sum((A6.cells | A6.manual).values())
    assert float(graded.grades("ana")["score"]) == total + 1
    with Gradebook(f"sqlite:///{graded.course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook("theory", A6.name, "ana")
        [override] = [g for g in notebook.grades if g.name == "test_count_paths"]
        override.manual_score = 1  # a point off, for the code's style
        gradebook.db.commit()
    wrong = A6.submissions["mutant_count_linear"]
    answers = {first: "A new answer, written again.\n", **wrong.sections}
    hand_in(tmp_path / "inbox", "ana", ON_TIME, answers)
    graded.run("collect", A6.name, str(tmp_path / "inbox"))
    done = graded.run("autograde", A6.name, "--student", "ana")
    assert re.search(rf"WARNING ana: .*hand grades cleared.*theory/{first} \(score", done.stdout)
    assert "=1+1" in (graded.course / ".nbgrader.log").read_text(encoding="utf-8")  # kept
    scores = graded.written("ana")
    assert scores[first] == (None, None, None, True)
    assert scores["test_count_paths"][0] is None  # the new code's own score counts
    assert all(scores[name][0] == A6.manual[name] for name in others)
    row = graded.grades("ana")
    lost = sum(A6.cells[cell] for cell in wrong.loses)
    assert float(row["score"]) == total - A6.manual[first] - lost
    assert float(row["hand_grading_pending"]) == A6.manual[first]
    listed = re.findall(r"^a6_theory\s+(\w+)\s+.*: (.*)$", graded.run("pending").stdout, re.M)
    assert ("ana", f"{first} ({A6.manual[first]:g})") in listed


def test_a_hand_score_above_the_answers_points_waits_to_be_graded_again(graded):
    """Formgrader keeps a score within 0 and the answer's points, but its API takes any number,
    and an answer graded before the instructor lowered its points keeps the old score: ben's
    first answer scores 1 above its points. The total passed above the maximum, unnoticed."""
    first = next(iter(A6.manual))
    grade_all_by_hand(graded.course, "ben")
    with Gradebook(f"sqlite:///{graded.course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook("theory", A6.name, "ben")
        [grade] = [g for g in notebook.grades if g.name == first]
        grade.manual_score = A6.manual[first] + 1
        gradebook.db.commit()
    pending = graded.run("pending").stdout
    assert f"{first} ({A6.manual[first]:g}; hand score {A6.manual[first] + 1:g} is not" in pending
    assert float(graded.grades("ben")["hand_grading_pending"]) == A6.manual[first]


def test_a_graders_comment_reads_in_the_feedback_as_it_was_typed(graded):
    """ana's comment, typed on two lines in Formgrader with markup, a formula start and
    unicode, reads on two lines in her page in a browser: markdown had run them into one."""
    page_file = graded.course / "feedback" / "ana" / A6.name / "theory.html"
    with chromium() as browser:
        page = browser.new_page()
        page.goto(page_file.as_uri(), wait_until="load")
        shown = page.inner_text("div.nbgrader_cell .panel-footer p")
        page.close()
    assert shown.splitlines() == ['Good =1+1, "see ch. 3"', "but ∑ é"]


def test_a_due_date_moved_after_grading_takes_the_late_penalty_back(graded):
    """The class gets an extension after the grading: gil is on time now. nbgrader takes the
    penalty only when it autogrades, so the one it took stayed. (Runs last: it moves the date.)"""
    graded.run("due", A6.name, "2027-01-20 17:00 UTC")
    row = graded.grades("gil")
    assert (row["seconds_late"], row["late_submission_penalty"]) == ("0", "0")
    assert row["score"] == row["raw_score"]
