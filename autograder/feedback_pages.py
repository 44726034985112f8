"""The feedback of an assignment: one page per learner and notebook, and a zip per learner.

``course.py feedback ASSIGNMENT`` (:func:`write_feedback`) has nbgrader write the page of every
graded notebook to ``feedback/<student>/<assignment>/<notebook>.html``, without hidden tests or
mark schemes and with long lines wrapped (:mod:`autograder.feedback`), and gives each page the
viewport tag with which a phone lays it out at its own width. A learner whose hand-in
could not be graded (no notebook under the expected name, or a file that is not a notebook)
gets ``NOT_GRADED.html`` there instead, which says what was received, what was expected and
what to do: otherwise that learner would get nothing, and nothing would say why. A hand-in
whose notebooks read as notebooks under their names but that the grader failed on (nbgrader
stopped on it, or its grades could not be recorded) is for the instructor to look into: its
page says so, and does not tell the learner to rename or redo a notebook that may well be
fine. A learner whose hand-in was not processed gets that page alone: a graded page would be
an earlier hand-in's, or show grades that were never recorded.

Then each learner's pages for the assignment go into
``feedback_zips/<assignment>/<student>.zip`` (the pages at the top of the zip), to upload to a
learning platform; beside ``feedback/``, not in it, where every folder is a learner's.
``<student>`` is the learner's nbgrader id, the folder name in ``submitted/``: collect hand-ins
into folders named by the platform's learner id (or user name), and each zip's name says whose
it is.
"""

from __future__ import annotations

import html
import shutil
import zipfile
from pathlib import Path

from .autograde import hand_in_problem
from .collect import TIMESTAMP, expected_notebooks
from .course_folder import LOG_FILE, CourseFolder, append_log, check, nbgrader_api
from .outcomes import NOT_GRADED_YET, NOT_PROCESSED, class_outcomes
from .roster import id_problem

NOT_GRADED = "NOT_GRADED.html"
# nbgrader's page has no viewport tag: a phone lays it out 980 px wide and shrinks all of it,
# text included, to fit its screen.
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def write_feedback(folder: CourseFolder, assignment: str, student: str | None = None) -> None:
    """Write the feedback pages of ``assignment`` (only ``student``'s if given), then a zip
    of each learner's pages."""
    folder.known(assignment)
    students = sorted(
        {p.parent.name for p in folder.submitted.glob(f"*/{assignment}") if p.is_dir()}
        | {p.parent.name for p in folder.autograded.glob(f"*/{assignment}") if p.is_dir()}
    )
    students = [s for s in students if student in (None, s)]
    odd = {name: why for name in students if (why := id_problem(name))}
    if odd:
        # Put in submitted/ by hand (collect refuses such ids): a name too long for its zip,
        # or one nbgrader reads as a pattern, would fail halfway through.
        raise SystemExit(
            "no feedback written: "
            + "; ".join(f"{name!r} in submitted/ {why}" for name, why in odd.items())
            + ". Rename that learner's folder first (collect refuses such ids)"
        )
    if not students:
        raise SystemExit(
            f"no feedback to write: no hand-in in submitted/{student or '*'}/{assignment}/"
        )
    graded = [s for s in students if graded_notebooks(folder, assignment, s)]
    # Before the pages: the outcomes take each late penalty again from the score as it
    # stands, so that a page counts the points given by hand since the autograde in it.
    outcomes = {o.student: o for o in class_outcomes(folder, assignment)}
    if graded:
        result = nbgrader_api(folder).generate_feedback(assignment, student_id=student)
        heading = f"generate_feedback {assignment} {student or ''}".rstrip()
        append_log(folder, heading, check(result, f"feedback for {assignment}"))
        for name in graded:
            for page in (folder.feedback / name / assignment).glob("*.html"):
                fit_phones(page)
    not_graded, waiting = [], []
    for name in students:
        outcome = outcomes[name]
        if outcome.outcome == NOT_PROCESSED:
            write_not_graded(folder, assignment, name, outcome.reason)
            not_graded.append(f"{name} ({outcome.reason})")
        elif outcome.outcome == NOT_GRADED_YET or name not in graded:
            # Any page or zip of this learner's is an earlier hand-in's, not this one's.
            shutil.rmtree(folder.feedback / name / assignment, ignore_errors=True)
            (folder.feedback_zips / assignment / f"{name}.zip").unlink(missing_ok=True)
            waiting.append(name)
            continue
        zip_pages(folder, assignment, name)
    provisional = [
        f"{name} ({outcomes[name].pending:g} pts)"
        for name in students
        if name in graded and name not in waiting and outcomes[name].pending
    ]
    pages = sorted(folder.feedback.glob(f"*/{assignment}/*.html"))
    pages = [p for p in pages if p.parent.parent.name in students]
    print(
        f"feedback written: {len(pages)} page(s) under {folder.feedback}/<student>/{assignment}/,"
        f" one zip per learner under {folder.feedback_zips / assignment}/<student>.zip"
    )
    if not_graded:
        print(f"not graded, told so in {NOT_GRADED}: {', '.join(not_graded)}")
    if provisional:
        # nbgrader's page shows an answer nobody graded yet as scoring 0, and its total as final.
        print(
            f"WARNING hand grading pending: these pages show the answers that wait as 0 and"
            f" their totals too low, {', '.join(provisional)}; grade them (python3 course.py"
            f" pending) and write the feedback again before you hand it out"
        )
    if waiting:
        print(
            f"no feedback for {', '.join(waiting)}: the hand-in reads as notebooks but was not"
            f" graded since it was collected or solutions/{assignment}/ changed; run python3"
            f" course.py autograde {assignment} first"
        )


def fit_phones(page: Path) -> None:
    """Give a page nbgrader wrote the viewport tag with which a phone lays it out at the
    phone's own width."""
    text = page.read_text(encoding="utf-8")
    if VIEWPORT not in text:
        page.write_text(text.replace("<head>", f"<head>\n{VIEWPORT}", 1), encoding="utf-8")


def graded_notebooks(folder: CourseFolder, assignment: str, student: str) -> list[str]:
    """The file names of ``student``'s notebooks that nbgrader graded."""
    return sorted(p.name for p in (folder.autograded / student / assignment).glob("*.ipynb"))


def received(folder: CourseFolder, assignment: str, student: str) -> list[str]:
    """The files of ``student``'s hand-in, relative to its folder."""
    hand_in = folder.submitted / student / assignment
    return sorted(
        str(p.relative_to(hand_in))
        for p in hand_in.rglob("*")
        if p.is_file() and p.name != TIMESTAMP
    )


def write_not_graded(folder: CourseFolder, assignment: str, student: str, reason: str) -> Path:
    """Write ``feedback/<student>/<assignment>/NOT_GRADED.html``: what was received, what was
    expected, what went wrong with each notebook that was not graded, and what to do."""
    target = folder.feedback / student / assignment
    # Any graded page here is not this hand-in's result: it is an earlier hand-in's, which
    # this one replaced, or one whose grades were never recorded (its scores show zeros).
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    files = received(folder, assignment, student)
    expected = expected_notebooks(folder, assignment)

    def items(lines: list[str]) -> str:
        return "".join(f"<li>{html.escape(line)}</li>" for line in lines)

    if hand_in_problem(folder, assignment, student):
        summary = (
            "The grader could not grade what you handed in for this assignment, so it scores"
            " nothing for now."
        )
        to_do = f"""Open the notebook you were given in Jupyter, write your answers in it, save it
(File &gt; Save) and hand it in again under its own name:
<code>{html.escape(", ".join(expected))}</code>. Do not rename it, and do not hand in an
export of it (.html, .pdf, .py). If you cannot hand in again, ask your instructor."""
    else:
        # Telling this learner to rename or redo a notebook that was fine would be false.
        summary = (
            "Your notebook arrived under its own name and reads as a notebook, but the grader"
            " failed on it, so it scores nothing for now."
        )
        to_do = """This is for your instructor to look into: the grading summary shows them
this failure, and they will tell you if you need to hand in again."""
    reason = reason.removesuffix(f" (see {LOG_FILE})")  # the instructor's log, not theirs
    title = f"{assignment}: your hand-in could not be graded"
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{VIEWPORT}
<title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 45em; margin: 2em auto; padding: 0 1em;
       line-height: 1.5; overflow-wrap: anywhere; }}
code {{ white-space: pre-wrap; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(summary)}</p>
<h2>What went wrong</h2>
<p>{html.escape(reason)}</p>
<h2>What we received</h2>
<ul>{items(files) if files else "<li>no files at all</li>"}</ul>
<h2>What we expected</h2>
<ul>{items([f"{name}: the notebook you were given, filled in" for name in expected])}</ul>
<h2>What to do</h2>
<p>{to_do}</p>
</body>
</html>
"""
    path = target / NOT_GRADED
    path.write_text(page, encoding="utf-8")
    return path


def zip_pages(folder: CourseFolder, assignment: str, student: str) -> Path:
    """Write ``feedback_zips/<assignment>/<student>.zip`` with ``student``'s pages of
    ``assignment``, at the top of the zip."""
    path = folder.feedback_zips / assignment / f"{student}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for page in sorted((folder.feedback / student / assignment).glob("*.html")):
            archive.write(page, page.name)
    return path
