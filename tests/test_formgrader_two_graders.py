"""Two teaching assistants grading one learner in Formgrader at once lose none of each other's
grades, and the one whose page was out of date is told.

One learner, ``ana``, hands in ``a6_theory``; ``collect`` and ``autograde`` grade it with the
real nbgrader. The course's Formgrader then runs in a real ``jupyter lab`` in the course folder,
as the instructor starts it, and two headless Chromium browsers (two graders, each with their
own cookies) open ana's notebook. They grade the same answers in turn, each page as it was
loaded; the gradebook, read with nbgrader's API, must hold every value someone saved, and the
page whose save was refused must say so and show what is saved (``autograder/formgrader_saves.py``).
Twice: with the SQLite gradebook, both graders on one Jupyter server, and with the gradebook on
a real PostgreSQL server, each grader on a Jupyter server of their own, as the README advises
for teaching assistants grading at once.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser import chromium, keep_offline
from grading_support import Assignment, course_copy, course_py, fill_release
from nbgrader.api import Gradebook
from servers import jupyter_server

A6 = Assignment("a6_theory", ["theory"])
FIRST, SECOND = list(A6.manual)[:2]  # two written answers, graded by hand

pytestmark = pytest.mark.slow


@dataclass
class Course:
    """The graded course: its folder, its gradebook, and how many Jupyter servers grade it."""

    folder: Path
    db_url: str
    servers: int


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def course(request, tmp_path_factory) -> Course:
    """The course with ana's hand-in autograded; her written answers wait for hand grading."""
    base = tmp_path_factory.mktemp("two_graders")
    config = "c.Execute.timeout = 60\n"
    if request.param == "postgresql":
        db_url = request.getfixturevalue("gradebook_server")
        config += f'c.CourseDirectory.db_url = "{db_url}"\n'
    folder = course_copy(base / "course", A6.name, config)
    if request.param == "sqlite":
        db_url = f"sqlite:///{folder / 'gradebook.db'}"
    (notebook,) = A6.notebooks
    filled = fill_release(A6.release(notebook), A6.solution(notebook), {})
    (base / "inbox" / "ana").mkdir(parents=True)
    (base / "inbox" / "ana" / "theory.ipynb").write_text(json.dumps(filled), encoding="utf-8")
    for args in [("collect", A6.name, str(base / "inbox")), ("autograde", A6.name)]:
        done = course_py(folder, *args, timeout=900)
        assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    return Course(folder, db_url, servers=1 if request.param == "sqlite" else 2)


def saved(course: Course, name: str) -> tuple:
    """ana's (hand score, extra credit, comment, waits for hand grading) of answer ``name``."""
    with Gradebook(course.db_url) as book:
        notebook = book.find_submission_notebook("theory", A6.name, "ana")
        [grade] = [g for g in notebook.grades if g.name == name]
        [comment] = [c for c in notebook.comments if c.name == name]
        return (
            grade.manual_score,
            grade.extra_credit,
            comment.manual_comment,
            grade.needs_manual_grade,
        )


@pytest.fixture(scope="module")
def graders(course):
    """Two graders' pages of ana's notebook in Formgrader, opened before either saves."""
    with Gradebook(course.db_url) as book:
        submission = book.find_submission_notebook("theory", A6.name, "ana").id
    ready = "/formgrader/manage_assignments"
    with contextlib.ExitStack() as stack:
        sites = [
            stack.enter_context(jupyter_server("lab", course.folder, ready=ready))
            for _ in range(course.servers)
        ]
        browser = stack.enter_context(chromium())
        pages, problems = [], []
        for grader in range(2):
            site = sites[grader % len(sites)]
            context = browser.new_context()  # a grader of their own: cookies apart
            problems.append(keep_offline(context, site))
            page = context.new_page()
            page.goto(f"{site}/formgrader/submissions/{submission}", wait_until="load")
            page.wait_for_function(
                "formgrader.grades && formgrader.grades.loaded && formgrader.comments.loaded"
            )
            pages.append(page)
        yield pages
        assert not any(problems), problems


def enter(page, selector: str, value: str) -> int:
    """Type ``value`` into the input ``selector`` and leave it, as a grader does; the status
    of the save it sends."""
    with page.expect_response(lambda r: r.request.method == "PUT") as answer:
        page.fill(selector, value)
        page.locator(selector).blur()
    return answer.value.status


def notice(page, name: str) -> str:
    """What the page says beside answer ``name`` about its saves."""
    cell = page.locator(".nbgrader_cell", has=page.locator(f"#{name}-comment"))
    shown = cell.locator(".saves-notice:visible")
    return " ".join(shown.all_inner_texts())


def test_a_save_keeps_what_another_grader_saved_meanwhile(course, graders):
    """Grader 2 scores the answer; grader 1, whose page still shows it unscored, then gives
    extra credit: nbgrader's page wrote its empty score back, and the score was gone."""
    one, two = graders
    assert enter(two, f"#{FIRST}", "3") == 200
    assert enter(one, f"#{FIRST}_extra_credit", "1") == 200
    assert saved(course, FIRST)[:2] == (3, 1)
    assert "Another grader had meanwhile changed the score to 3" in notice(one, FIRST)
    assert one.input_value(f"#{FIRST}") == "3"


def test_a_score_over_another_graders_newer_one_is_refused_and_shown(course, graders):
    """Both graders now score the same answer, grader 2 first: grader 1's page showed 3 when
    its grader typed 2, so its save is refused, and it says so and shows grader 2's 4."""
    one, two = graders
    assert enter(two, f"#{FIRST}", "4") == 200
    assert enter(one, f"#{FIRST}", "2") == 409
    assert saved(course, FIRST)[:2] == (4, 1)
    said = notice(one, FIRST)
    assert "Not saved" in said and "your score 2 (another grader made it 4)" in said
    assert one.input_value(f"#{FIRST}") == "4"
    # Told, the grader types theirs again on the page that now shows 4: that one is saved.
    assert enter(one, f"#{FIRST}", "2") == 200
    assert saved(course, FIRST)[:2] == (2, 1)
    assert notice(one, FIRST) == ""


def test_a_comment_over_another_graders_newer_one_is_refused_and_shown(course, graders):
    """Grader 2 comments first; grader 1's comment, typed on a page that showed none, would
    have replaced it. It is refused, the page shows grader 2's, and quotes grader 1's text."""
    one, two = graders
    assert enter(two, f"#{FIRST}-comment", "Clear, cites the identity shortcut.") == 200
    assert enter(one, f"#{FIRST}-comment", "Needs the backward pass.") == 409
    assert saved(course, FIRST)[2] == "Clear, cites the identity shortcut."
    assert "your comment \u201cNeeds the backward pass.\u201d" in notice(one, FIRST)
    assert one.input_value(f"#{FIRST}-comment") == "Clear, cites the identity shortcut."


def test_full_and_no_credit_still_grade_and_settle_the_answer(course, graders):
    """nbgrader's buttons: full credit gives the points, no credit 0 and no extra credit; the
    answer no longer waits for hand grading either way."""
    one, two = graders
    assert saved(course, SECOND) == (None, None, None, True)
    with two.expect_response(lambda r: r.request.method == "PUT") as answer:
        two.locator(".nbgrader_cell", has=two.locator(f"#{SECOND}")).locator(".full-credit").click()
    assert answer.value.status == 200
    assert saved(course, SECOND) == (A6.manual[SECOND], None, None, False)
    assert enter(two, f"#{SECOND}_extra_credit", "1") == 200
    with two.expect_response(lambda r: r.request.method == "PUT") as answer:
        two.locator(".nbgrader_cell", has=two.locator(f"#{SECOND}")).locator(".no-credit").click()
    assert answer.value.status == 200
    assert saved(course, SECOND) == (0, 0, None, False)


def test_a_page_older_than_the_fix_gets_a_clear_error_and_changes_nothing(course, graders):
    """A tab opened before the server was restarted sends the whole grade, as nbgrader's page
    does: refused with a reason, and the gradebook keeps what it had."""
    one, _ = graders
    before = saved(course, FIRST)
    answer = one.evaluate(
        """async ([id, body]) => {
            const token = document.cookie.match(/_xsrf=([^;]*)/)[1];
            const response = await fetch(base_url + "/api/grade/" + id, {
                method: "PUT", headers: {"X-XSRFToken": token}, body: JSON.stringify(body)});
            return [response.status, await response.text()];
        }""",
        [
            one.evaluate(f"formgrader.grades.findWhere({{name: '{FIRST}'}}).id"),
            {"manual_score": None, "extra_credit": None},
        ],
    )
    assert answer[0] == 400 and "reload the page" in answer[1]
    assert saved(course, FIRST) == before
