"""The feedback a learner reads (``autograder/feedback_pages.py``), from a real grading run.

A copy of the course with one quick assignment (a6_theory) and a 5 s cell time limit grades
five hand-ins with the real ``course.py autograde`` (sandbox, referee): the instructor's
solution (alice); one whose ``count_paths`` is wrong and shows a wide table, whose
``paths_of_length`` loops forever, and whose first answer is a long link (bob); a file that
is not a notebook (carol); the notebook under another name (dave); the solution with a
``timestamp.txt`` that is not a time, which nbgrader fails on (erin); the solution, graded,
then replaced by a PDF and autograded again (fay).
Then the feedback is written, first for one learner at a time, then for the class, and read
as a learner would: the page, in headless Chromium, and the zip for the learning platform.
Every kind of page is also opened offline as a 390 px and a 320 px phone (no sideways
scrolling, each score inside its heading, alt text) and in dark mode (no faint text).
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from browser import (
    PHONE_WIDTH,
    SMALLEST_PHONE,
    chromium,
    faint_text,
    phone,
    too_wide_for_a_phone,
)

from autograder.cell_errors import TIMED_OUT
from autograder.feedback import WRAP_OUTPUTS

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "a6_theory"  # the quickest to grade: no networks to build
NOTEBOOK = "theory.ipynb"
# Seconds a cell may run in the copy (the course allows 120): short, so the endless loops end
# soon, but enough for the solution's first cell (its imports) on a busy two-core machine.
TIMEOUT = 15
WRONG_AND_ENDLESS = '''\
def count_paths(n):
    """The number of paths through n residual blocks."""
    return 2 * n


def paths_of_length(n, k):
    """How many of those paths go through exactly k residual branches."""
    while True:
        pass
'''
# What bob's count_paths cell also shows, and what he wrote as his first answer: the two made the
# page scroll sideways on a phone.
WIDE_TABLE = """

from IPython.display import HTML, display

display(HTML("<table><tr>" + "<td>a_wide_column</td>" * 30 + "</tr></table>"))
"""
LONG_LINK = "See https://example.org/share?key=" + "Zm9yIGEgbG9uZyB0b2tlbg" * 12
# The check's one-line message for bob's count_paths: what came out and the likely mistake.
DOUBLING_MESSAGE = "count_paths(0): expected 1, got 0 — each block doubles the paths"

# The one thing a page asks the network for: nbgrader's template loads MathJax from a CDN, and
# offline the page's math stays TeX source (a known gap: nothing here serves MathJax).
MATHJAX_CDN = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/"
# Each cell's score and the notebook's total against the heading they are in and the screen.
SCORES = """() => [...document.querySelectorAll(".panel-heading")].map((heading) => {
  const score = heading.querySelector(".pull-right") || heading.querySelector("h4");
  const [box, inner] = [heading.getBoundingClientRect(), score?.getBoundingClientRect()];
  return {
    text: score?.innerText ?? heading.innerText.slice(0, 40),
    inside: !!inner && inner.top >= box.top && inner.bottom <= box.bottom
      && inner.left >= Math.max(box.left, 0) && inner.right <= Math.min(box.right, innerWidth),
  };
})"""
# Every page a learner can be handed: graded ones, and each kind of NOT_GRADED.html.
PAGES = [
    ("alice", "theory.html"),
    ("bob", "theory.html"),
    ("carol", "NOT_GRADED.html"),
    ("erin", "NOT_GRADED.html"),
]

pytestmark = pytest.mark.slow


def run(course: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=course, env=dict(os.environ), capture_output=True, text=True, timeout=900
    )


def feedback(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Write the feedback of the assignment in the copy, as ``course.py feedback`` does."""
    code = (
        "import sys; from autograder.course_folder import CourseFolder;"
        " from autograder.feedback_pages import write_feedback;"
        " write_feedback(CourseFolder('.'), sys.argv[1], *sys.argv[2:])"
    )
    done = run(course, str(course / ".venv" / "bin" / "python"), "-c", code, ASSIGNMENT, *args)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A copy of the course with a6_theory and a short time limit, its four hand-ins graded."""
    done = subprocess.run([sys.executable, "course.py", "setup"], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr
    copy = tmp_path_factory.mktemp("feedback") / "course"
    copy.mkdir()
    for name in ["course.py", "nbgrader_config.py", "requirements.lock", "pyproject.toml"]:
        shutil.copy(ROOT / name, copy)
    with open(copy / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(f"\nc.Execute.timeout = {TIMEOUT}\nc.ContainedExecute.interrupt_grace = 5\n")
    for folder in ["solutions", "exercises"]:
        shutil.copytree(ROOT / folder / ASSIGNMENT, copy / folder / ASSIGNMENT)
    (copy / ".venv").symlink_to(ROOT / ".venv")

    # The hand-ins, put in submitted/ by hand (one of the ways the README names).
    def hand_in(student: str, name: str) -> Path:
        folder = copy / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    shutil.copy(copy / "solutions" / ASSIGNMENT / NOTEBOOK, hand_in("alice", NOTEBOOK))
    nb = nbformat.read(copy / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "count_paths":
            cell.source = WRONG_AND_ENDLESS + WIDE_TABLE
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer_gradient_flow":
            cell.source = LONG_LINK
    nbformat.write(nb, hand_in("bob", NOTEBOOK))
    hand_in("carol", NOTEBOOK).write_text("my answers: 2**n and comb(n, k)\n")
    shutil.copy(copy / "exercises" / ASSIGNMENT / NOTEBOOK, hand_in("dave", "my_theory.ipynb"))
    shutil.copy(copy / "solutions" / ASSIGNMENT / NOTEBOOK, hand_in("erin", NOTEBOOK))
    hand_in("erin", "timestamp.txt").write_text("when the bus came\n")
    shutil.copy(copy / "solutions" / ASSIGNMENT / NOTEBOOK, hand_in("fay", NOTEBOOK))

    done = run(copy, sys.executable, "course.py", "autograde", ASSIGNMENT)
    log = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode != 0, log  # bob was contained, carol, dave and erin not graded
    for student in ["alice", "bob"]:
        assert (copy / "autograded" / student / ASSIGNMENT / NOTEBOOK).is_file(), log
    for student in ["carol", "dave", "erin"]:
        assert not list((copy / "autograded").glob(f"{student}/{ASSIGNMENT}/*.ipynb")), log
    # fay hands in again, a PDF in place of her graded notebook.
    shutil.rmtree(copy / "submitted" / "fay")
    hand_in("fay", "theory.pdf").write_text("%PDF-1.4 my answers\n")
    done = run(copy, sys.executable, "course.py", "autograde", ASSIGNMENT, "--student", "fay")
    assert "fay: NOT PROCESSED: no notebook named theory.ipynb" in done.stdout, done.stdout
    return copy


@pytest.fixture(scope="module")
def one_at_a_time(course) -> dict[str, set[str]]:
    """The files under feedback/ and feedback_zips/ after ``--student alice``, then after
    ``--student dave``."""
    written = {}
    for student in ["alice", "dave"]:
        feedback(course, student)
        zips = {f"zips/{name}" for name in files_under(course / "feedback_zips")}
        written[student] = files_under(course / "feedback") | zips
    return written


@pytest.fixture(scope="module")
def class_feedback(course, one_at_a_time) -> subprocess.CompletedProcess:
    """The feedback of the whole class, written after the one-learner runs."""
    return feedback(course)


def offline(route) -> None:
    """Let a page load its own file, and nothing from the network."""
    if route.request.url.startswith("file:"):
        route.continue_()
    else:
        route.abort()


def page(course: Path, student: str, name: str = "theory.html") -> Path:
    return course / "feedback" / student / ASSIGNMENT / name


def open_on_a_phone(browser, path: Path, **options):
    """``path`` in a new phone's context, offline; the context, the page and the list of the
    requests it refused."""
    context = browser.new_context(**phone(**options))
    refused = []

    def route(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    view = context.new_page()
    view.goto(path.as_uri(), wait_until="load")
    return context, view, refused


@pytest.mark.parametrize("width", [PHONE_WIDTH, SMALLEST_PHONE])
@pytest.mark.parametrize("student, name", PAGES)
def test_a_page_reads_on_a_phone_offline(course, class_feedback, student, name, width):
    with chromium() as browser:
        context, view, refused = open_on_a_phone(browser, page(course, student, name), width=width)
        try:
            assert [url for url in refused if not url.startswith(MATHJAX_CDN)] == []
            assert not too_wide_for_a_phone(view, width)
            if student == "bob":  # the wide table is there, in a box that scrolls
                table = view.evaluate("document.querySelector('div.output_html').scrollWidth")
                assert table > width
            scores = view.evaluate(SCORES)
            if name == "theory.html":
                # the total, and a score for each of the 15 graded or task cells
                assert len(scores) == 16, scores
            for score in scores:
                assert score["inside"], score
            images = view.eval_on_selector_all("img", "all => all.filter(i => !i.alt.trim())")
            assert images == []
        finally:
            context.close()


@pytest.mark.parametrize("student, name", PAGES)
def test_a_page_reads_in_dark_mode(course, class_feedback, student, name):
    with chromium() as browser:
        context, view, _ = open_on_a_phone(
            browser, page(course, student, name), color_scheme="dark"
        )
        try:
            assert view.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
            assert not faint_text(view)
        finally:
            context.close()


def test_a_timed_out_cell_says_it_ran_past_the_time_limit(course, class_feedback):
    graded = nbformat.read(course / "autograded" / "bob" / ASSIGNMENT / NOTEBOOK, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in graded.cells}
    # The test cell and the exploring cell after it both call the endless function.
    for grade_id in ["test_paths_of_length", "explore_paths"]:
        errors = [o for o in cells[grade_id].outputs if o.output_type == "error"]
        assert [o.ename for o in errors] == [TIMED_OUT], grade_id
        assert errors[0].evalue.startswith(
            f"this cell ran past the time limit ({TIMEOUT} s) and was stopped"
        )
    text = page(course, "bob").read_text(encoding="utf-8")
    assert "KeyboardInterrupt" not in text
    assert text.count(f"ran past the time limit ({TIMEOUT} s) and was stopped") == 2


def test_a_failed_checks_message_wraps_in_its_box(course, class_feedback):
    text = page(course, "bob").read_text(encoding="utf-8")
    # nbgrader_config.py lists FeedbackCSS among the GenerateFeedback preprocessors.
    assert WRAP_OUTPUTS in text, "the page lacks the rule that wraps outputs"
    with chromium() as browser:
        view = browser.new_page(viewport={"width": 700, "height": 900})
        # Offline, as a learner's saved copy: MathJax's CDN is not needed for outputs.
        view.route("**/*", offline)
        view.goto(page(course, "bob").as_uri())
        boxes = view.evaluate(
            """() => [...document.querySelectorAll("div.output_subarea pre")].map((pre) => {
              const wrapped = [pre.scrollWidth, pre.clientWidth];
              pre.style.whiteSpace = "pre";  // as the page was before: one long line
              const unwrapped = pre.scrollWidth;
              pre.style.whiteSpace = "";
              return {text: pre.textContent, wrapped, unwrapped};
            })"""
        )
    message = [box for box in boxes if DOUBLING_MESSAGE in box["text"]]
    assert len(message) == 1, [box["text"][:80] for box in boxes]
    assert message[0]["unwrapped"] > message[0]["wrapped"][1]  # one line would not fit
    for box in boxes:
        scroll_width, client_width = box["wrapped"]
        assert scroll_width <= client_width, box["text"][:80]


@pytest.mark.parametrize(
    "student, problem, received",
    [
        ("carol", f"{NOTEBOOK} is not a readable notebook (Notebook does not appear", NOTEBOOK),
        ("dave", f"no notebook named {NOTEBOOK}; received: my_theory.ipynb", "my_theory.ipynb"),
    ],
)
def test_a_hand_in_that_was_not_processed_gets_a_page_that_says_so(
    course, class_feedback, student, problem, received
):
    folder = course / "feedback" / student / ASSIGNMENT
    assert sorted(p.name for p in folder.iterdir()) == ["NOT_GRADED.html"]
    text = (folder / "NOT_GRADED.html").read_text(encoding="utf-8")
    assert f"{ASSIGNMENT}: your hand-in could not be graded" in text
    assert problem in text
    received_part = text.split("What we received")[1].split("What we expected")[0]
    assert f"<li>{received}</li>" in received_part
    expected_part = text.split("What we expected")[1].split("What to do")[0]
    assert f"<li>{NOTEBOOK}: the notebook you were given, filled in</li>" in expected_part
    assert "hand it in again under its own name" in text
    assert f"{student} (" in class_feedback.stdout.split("not graded, told so in")[1]


def test_a_hand_in_the_grader_failed_on_is_not_blamed_on_the_learner(course, class_feedback):
    # erin's notebook was fine: telling her to rename it and hand it in again would be false.
    folder = course / "feedback" / "erin" / ASSIGNMENT
    assert sorted(p.name for p in folder.iterdir()) == ["NOT_GRADED.html"]
    text = (folder / "NOT_GRADED.html").read_text(encoding="utf-8")
    assert "arrived under its own name and reads as a notebook, but the grader failed" in text
    assert "nbgrader could not grade it: " in text
    assert "hand it in again under its own name" not in text
    assert "they will tell you if you need to hand in again" in text
    assert ".nbgrader.log" not in text  # the instructor's file, not the learner's
    assert "erin (nbgrader could not grade it" in class_feedback.stdout


def test_a_replaced_hand_in_leaves_no_graded_page_behind(course, class_feedback):
    # fay's graded page is of the notebook her PDF replaced: her zip must not hold it.
    assert (course / "autograded" / "fay" / ASSIGNMENT / NOTEBOOK).is_file()  # the old one
    folder = course / "feedback" / "fay" / ASSIGNMENT
    assert sorted(p.name for p in folder.glob("*.html")) == ["NOT_GRADED.html"]
    with zipfile.ZipFile(course / "feedback_zips" / ASSIGNMENT / "fay.zip") as archive:
        assert archive.namelist() == ["NOT_GRADED.html"]
    text = (folder / "NOT_GRADED.html").read_text(encoding="utf-8")
    assert "hand it in again under its own name" in text


def test_student_writes_that_learners_feedback_only(one_at_a_time):
    zips = f"zips/{ASSIGNMENT}"
    assert one_at_a_time["alice"] == {f"alice/{ASSIGNMENT}/theory.html", f"{zips}/alice.zip"}
    assert one_at_a_time["dave"] == one_at_a_time["alice"] | {
        f"dave/{ASSIGNMENT}/NOT_GRADED.html",
        f"{zips}/dave.zip",
    }


def test_each_learners_zip_holds_their_pages(course, class_feedback):
    zips = course / "feedback_zips" / ASSIGNMENT
    assert sorted(p.name for p in zips.iterdir()) == [
        "alice.zip",
        "bob.zip",
        "carol.zip",
        "dave.zip",
        "erin.zip",
        "fay.zip",
    ]
    for student, pages in [
        ("alice", ["theory.html"]),
        ("bob", ["theory.html"]),
        ("carol", ["NOT_GRADED.html"]),
        ("dave", ["NOT_GRADED.html"]),
    ]:
        with zipfile.ZipFile(zips / f"{student}.zip") as archive:
            assert archive.namelist() == pages, student
            for name in pages:
                assert archive.read(name) == page(course, student, name).read_bytes()
