"""An instructor's own assignment through a term, with the real commands.

The instructor writes a seventh assignment as README's "Writing another assignment" says (a
function with visible and hidden tests, a question graded by hand), releases it, and a small
class hands it in, is graded, and graded by hand. Then what happens mid-term: a wrong hidden
test fixed in the notebook's source, a written question's points raised, a notebook added to
the assignment, and one learner's due date extended. Each test starts
from a copy of that graded class.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from grading_support import course_copy, course_py

ASSIGNMENT = "a7_sizes"
NOTEBOOK = "sizes"


def header(grade_id: str, markdown: bool = False, **nbgrader) -> str:
    """A cell's first line in the percent format, with its nbgrader metadata."""
    fields = {"grade": False, "locked": False, "solution": False, **nbgrader}
    fields |= {"grade_id": grade_id, "schema_version": 3}
    kind = " [markdown]" if markdown else ""
    return f"# %%{kind} nbgrader={json.dumps(fields, sort_keys=True)}"


# The hidden test is wrong as first released: a 7x7 kernel over a 7x7 input gives 1, not 0.
WRONG_TEST = "assert output_size(7, 7, 1, 0) == 0"
RIGHT_TEST = "assert output_size(7, 7, 1, 0) == 1"
SOURCE = f"""# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 7: feature map sizes
#
# | part | what | points |
# |---|---|---|
# | 1 | `output_size` (autograded) | 3 |
# | 2 | a question | 2 |
# | | **total** | **5** |

{header("setup", locked=True)}
import math

{header("task_size", markdown=True, locked=True, points=0, task=True)}
# ## Part 1: output size (3 points)
#
# Write `output_size(size, kernel, stride, padding)`, the side of a convolution's output.

{header("output_size", solution=True)}
def output_size(size, kernel, stride, padding):
    ### BEGIN SOLUTION
    return (size + 2 * padding - kernel) // stride + 1
    ### END SOLUTION

{header("test_output_size", grade=True, locked=True, points=3)}
# [3 points] output_size agrees with the formula.
assert output_size(32, 3, 1, 1) == 32
print("output_size: ok")
### BEGIN HIDDEN TESTS
assert output_size(32, 3, 2, 1) == 16
assert output_size(8, 3, 2, 0) == 3
{WRONG_TEST}
### END HIDDEN TESTS

{header("task_question", markdown=True, locked=True, points=0, task=True)}
# ## Part 2: a question (2 points)
#
# Why does a shortcut across a stride-2 block need a projection?
#
# ### BEGIN MARK SCHEME
# 2 pts: the two branches' shapes must agree before they are added.
# ### END MARK SCHEME

{header("answer_question", markdown=True, grade=True, points=2, solution=True)}
# YOUR ANSWER HERE
"""
SIGNATURE = "def output_size(size, kernel, stride, padding):\n"
RIGHT = SIGNATURE + "    return (size + 2 * padding - kernel) // stride + 1\n"
WRONG = SIGNATURE + "    return (size + 2 * padding - kernel) / stride + 1\n"  # no floor
CLASS = {"ana": (RIGHT, "The shapes must agree."), "ben": (WRONG, "No idea."), "cy": (None, None)}


def learner_notebook(release: Path, code: str | None, answer: str | None) -> str:
    """The released notebook with ``code`` and ``answer`` written in, as a learner hands it in."""
    notebook = json.loads(release.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id == "output_size" and code:
            cell["source"] = code
        if grade_id == "answer_question" and answer:
            cell["source"] = answer
    return json.dumps(notebook)


def run(course: Path, *args: str) -> str:
    """``course.py ARGS``, which must succeed; what it printed."""
    done = course_py(course, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def exported(course: Path, student: str) -> dict[str, str]:
    """``student``'s row of ``grades_wide.csv``, after ``course.py grades``."""
    run(course, "grades")
    with open(course / "grades_wide.csv", newline="", encoding="utf-8") as table:
        return next(row for row in csv.DictReader(table) if row["student_id"] == student)


def score(course: Path, student: str) -> str:
    """``student``'s a7_sizes score in ``grades_wide.csv``."""
    row = exported(course, student)
    return next(value for column, value in row.items() if column.startswith(ASSIGNMENT))


def give_hand_score(
    course: Path, student: str, points: float, cell: str = "answer_question"
) -> None:
    """Score ``student``'s ``cell`` (their written answer unless told) as Formgrader does,
    through nbgrader's gradebook; a test cell so scored takes the place of its autograde."""
    script = (
        "from autograder.course_folder import CourseFolder, nbgrader_api\n"
        "with nbgrader_api(CourseFolder('.')).gradebook as gradebook:\n"
        f"    grade = gradebook.find_grade({cell!r}, {NOTEBOOK!r}, {ASSIGNMENT!r},"
        f" {student!r})\n"
        f"    grade.manual_score, grade.needs_manual_grade = {points}, False\n"
        "    gradebook.db.commit()\n"
    )
    done = subprocess.run(
        [course / ".venv" / "bin" / "python", "-c", script],
        cwd=course,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory) -> Path:
    """The course with a7_sizes released, handed in by ana (right), ben (wrong) and cy
    (blank), autograded, and ana's written answer scored 2 by hand."""
    course = course_copy(tmp_path_factory.mktemp("term") / "course", "a6_theory", "")
    (course / "solutions" / ASSIGNMENT).mkdir()
    (course / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.pct.py").write_text(SOURCE)
    run(course, "release", ASSIGNMENT)
    inbox = course.parent / "inbox"
    release = course / "exercises" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    for student, (code, answer) in CLASS.items():
        (inbox / student).mkdir(parents=True)
        (inbox / student / f"{NOTEBOOK}.ipynb").write_text(learner_notebook(release, code, answer))
    run(course, "collect", ASSIGNMENT, str(inbox))
    run(course, "autograde", ASSIGNMENT, "--workers", "2")
    give_hand_score(course, "ana", 2)
    give_hand_score(course, "ben", 0)
    assert score(course, "ana") == "2"  # the wrong hidden test took her 3 points
    return course


@pytest.fixture
def course(graded_class, tmp_path) -> Path:
    """A copy of the graded class of its own (the environment still linked)."""
    return Path(shutil.copytree(graded_class, tmp_path / "course", symlinks=True))


def edit_source(course: Path, replacements: list[tuple[str, str]]) -> None:
    """Make each replacement, of text found once, in the assignment's ``.pct.py``."""
    source = course / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.pct.py"
    text = source.read_text()
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    source.write_text(text)


def fix_the_hidden_test(course: Path) -> None:
    edit_source(course, [(WRONG_TEST, RIGHT_TEST)])


def test_a_hidden_test_fixed_in_its_source_is_not_graded_before_it_is_released(course):
    # Before: autograde regraded the class with the notebook as it was, the wrong test still
    # in it, and ana's score stayed 2 without a word.
    fix_the_hidden_test(course)
    done = course_py(course, "autograde", ASSIGNMENT, "--workers", "2")
    assert done.returncode != 0
    assert f"run python3 course.py release {ASSIGNMENT} first" in done.stderr
    assert f"{NOTEBOOK}.ipynb differs from {NOTEBOOK}.pct.py" in done.stderr
    run(course, "release", ASSIGNMENT)
    run(course, "autograde", ASSIGNMENT, "--workers", "2")
    assert score(course, "ana") == "5"  # the test's 3 points and the hand score kept
    assert score(course, "ben") == "0"


def test_scores_of_the_tests_before_a_release_are_not_exported_or_fed_back(course):
    # Before: after the release, grades and feedback showed ana's 2 of the wrong test as her
    # grade, until someone remembered to autograde again.
    fix_the_hidden_test(course)
    run(course, "release", ASSIGNMENT)
    assert score(course, "ana") == ""
    assert exported(course, "ana")["notes"] == f"{ASSIGNMENT}: not graded yet"
    printed = run(course, "feedback", ASSIGNMENT)
    assert "no feedback for ana, ben, cy" in printed
    assert not list((course / "feedback").rglob("*.html"))
    run(course, "autograde", ASSIGNMENT, "--workers", "2")
    assert score(course, "ana") == "5"


def test_a_notebook_added_after_hand_ins_is_refused_with_what_to_do(course):
    # Before: nbgrader's log and traceback, 'Cannot modify existing assignment', and no way on.
    source = course / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.pct.py"
    extra = source.read_text().replace('"grade_id": "', '"grade_id": "extra_')
    (source.parent / "extra.pct.py").write_text(extra)
    before = (course / "exercises" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_bytes()
    done = course_py(course, "release", ASSIGNMENT)
    assert done.returncode != 0
    assert f"{ASSIGNMENT} not released: extra.ipynb added, but hand-ins of it are graded" in (
        done.stderr
    )
    assert "an assignment of its own" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (course / "exercises" / ASSIGNMENT / "extra.ipynb").exists()
    assert (course / "exercises" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_bytes() == before
    for added in source.parent.glob("extra.*"):  # the way back the error names
        added.unlink()
    assert score(course, "ana") == "2"


def test_a_hand_score_waits_again_when_its_questions_points_change(course):
    # Before: ana's 2 given out of 2 stayed as 2 out of 3, final, and nothing waited.
    edit_source(
        course,
        [
            ('"points": 2', '"points": 3'),
            ("| 2 | a question | 2 |", "| 2 | a question | 3 |"),
            ("**5**", "**6**"),
            ("a question (2 points)", "a question (3 points)"),
        ],
    )
    run(course, "release", ASSIGNMENT)
    printed = run(course, "autograde", ASSIGNMENT, "--workers", "2")
    assert "WARNING ana: changed (text or points) since graded by hand" in printed
    assert "sizes/answer_question (score 2)" in (course / ".nbgrader.log").read_text()
    assert "answer_question (3)" in run(course, "pending", ASSIGNMENT)
    assert score(course, "ana") == ""  # no longer final: it waits for its new score
    give_hand_score(course, "ana", 3)
    assert score(course, "ana") == "3"


def test_one_learners_due_date_is_extended_before_and_after_the_hand_in(course):
    # Before: README had no way to do it, and `due` no --student.
    fix_the_hidden_test(course)
    run(course, "release", ASSIGNMENT)
    roster = course.parent / "class.csv"
    roster.write_text("id,first_name\nana,Ana\nben,Ben\ncy,Cy\ndee,Dee\neve,Eve\n")
    run(course, "roster", str(roster))
    run(course, "due", ASSIGNMENT, "2027-01-15 17:00 UTC")
    refused = course_py(course, "due", ASSIGNMENT, "2027-01-14 17:00 UTC", "--student", "ana")
    assert refused.returncode != 0 and "give ana a later one" in refused.stderr
    refused = course_py(course, "due", ASSIGNMENT, "2027-01-18 17:00 UTC", "--student", "zed")
    assert refused.returncode != 0 and "'zed' is not a learner of the course" in refused.stderr
    for student in ["ana", "dee"]:  # ana graded already, dee yet to hand in
        printed = run(course, "due", ASSIGNMENT, "2027-01-18 17:00 UTC", "--student", student)
        assert f"{ASSIGNMENT} is due 2027-01-18 17:00 UTC for {student}" in printed
    assert score(course, "dee") == ""  # the extension is no grade of 0
    inbox = course.parent / "late"
    release = course / "exercises" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    for student, answer in [("ana", CLASS["ana"][1]), ("dee", None), ("eve", None)]:
        (inbox / student).mkdir(parents=True)
        (inbox / student / f"{NOTEBOOK}.ipynb").write_text(learner_notebook(release, RIGHT, answer))
    times = course.parent / "times.csv"
    late = "".join(f"{student},2027-01-17 10:00 UTC\n" for student in ["ana", "dee", "eve"])
    times.write_text("id,submitted_at\n" + late)
    run(course, "collect", ASSIGNMENT, str(inbox), "--submitted-at", str(times))
    # Collected, not graded: the record the extension is kept with is no grade.
    assert exported(course, "dee")["notes"] == f"{ASSIGNMENT}: not graded yet"
    run(course, "autograde", ASSIGNMENT, "--workers", "2")
    # 1 day 17 hours late for the class: 2 started days, 20% off; on time for ana and dee.
    assert (score(course, "ana"), score(course, "dee"), score(course, "eve")) == ("5", "3", "2.4")
    with open(course / "grades.csv", newline="", encoding="utf-8") as table:
        due = {row["student_id"]: row["duedate"] for row in csv.DictReader(table)}
    assert (due["ana"], due["dee"]) == ("2027-01-18 17:00:00 UTC",) * 2, due
    assert due["eve"] == "2027-01-15 17:00:00 UTC", due


def test_an_edit_made_in_the_instructor_notebook_is_not_overwritten(course):
    # Before: the instructor fixed the hidden test in sizes.ipynb in JupyterLab, and release
    # wrote the notebook again from sizes.pct.py: the fix was gone, said only as 'rewrote'.
    notebook = course / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    edited = notebook.read_text(encoding="utf-8").replace(WRONG_TEST, RIGHT_TEST)
    assert edited != notebook.read_text(encoding="utf-8")
    notebook.write_text(edited, encoding="utf-8")
    done = course_py(course, "release", ASSIGNMENT)
    assert done.returncode != 0
    assert f"{NOTEBOOK}.ipynb was changed after {NOTEBOOK}.pct.py" in done.stderr, done.stderr
    assert notebook.read_text(encoding="utf-8") == edited
    # The way on the error names: the edit carried into the source, then released.
    command = done.stderr.split("(.venv/bin/jupytext ", 1)[1].split(", then", 1)[0]
    converted = subprocess.run(
        [str(Path(sys.executable).parent / "jupytext"), *command.split()],
        cwd=course,
        capture_output=True,
        text=True,
    )
    assert converted.returncode == 0, converted.stderr
    run(course, "release", ASSIGNMENT)
    assert RIGHT_TEST in notebook.read_text(encoding="utf-8")
    run(course, "autograde", ASSIGNMENT, "--workers", "2")
    assert score(course, "ana") == "5"  # graded with the fixed test


def test_a_score_given_to_a_test_cell_is_cleared_when_its_points_change(course):
    # A teaching assistant gave ana's test cell its 3 points by hand, over the wrong hidden test.
    # Before: the test raised to 4 points, her 3 stood as final, out of 4, with nothing said.
    give_hand_score(course, "ana", 3, cell="test_output_size")
    assert score(course, "ana") == "5"
    edit_source(
        course,
        [
            ('"points": 3', '"points": 4'),
            ("| 1 | `output_size` (autograded) | 3 |", "| 1 | `output_size` (autograded) | 4 |"),
            ("**5**", "**6**"),
            ("output size (3 points)", "output size (4 points)"),
            ("# [3 points]", "# [4 points]"),
        ],
    )
    run(course, "release", ASSIGNMENT)
    printed = run(course, "autograde", ASSIGNMENT, "--workers", "2")
    assert "WARNING ana: changed (text or points) since graded by hand" in printed, printed
    assert "sizes/test_output_size (score 3)" in (course / ".nbgrader.log").read_text()
    assert score(course, "ana") == "2"  # the (still wrong) test's 0 and her written answer's 2
