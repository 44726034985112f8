"""An instructor's week with a real class, driven through the README's instructor commands.

One class hands in ``a6_theory`` (code tests and written answers, the quickest to grade) with
every case an instructor meets: a correct hand-in, a blank one, a wrong one, a syntax error, a
file that is not a notebook, a misnamed notebook, a late one, a cell that never ends, a test
cell a learner emptied, and a learner of the roster who hands in nothing (and one who hands in
without being on the roster). The workflow runs once, in a copy of the course
(``week``): roster, due date, collect, autograde, hand grading through nbgrader's API, grades
and feedback. The tests then read what each command printed and wrote, and open Formgrader on the
graded course in a real Jupyter server and headless Chromium, with no network beyond it.
"""

from __future__ import annotations

import base64
import csv
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser import chromium, keep_offline
from grading_support import Assignment, broken_syntax, course_copy, fill_release, read_cells
from grading_support import course_py as run_course_py
from nbgrader.api import Gradebook
from servers import jupyter_server

ROOT = Path(__file__).resolve().parents[1]
A6 = Assignment("a6_theory", ["theory"])
DUE = "2027-01-15 17:00 UTC"
ON_TIME = "2027-01-15 16:59:00.000000 UTC"
LATE = "2027-01-17 09:00:00.000000 UTC"  # 1 d 16 h late: two started days, 20% of the score
# Seconds a cell may run in this course copy, so that the endless loop ends soon; enough for the
# solution's first cell (imports) on a busy two-core machine.
CELL_LIMIT = 20
ROSTER = {  # id: first name, last name, email, LMS id
    "ana": ("Ana", "Abe", "ana@uni.test", "1001"),
    "ben": ("Ben", "Bo", "ben@uni.test", "1002"),
    "cam": ("Cam", "Cole", "cam@uni.test", "1003"),
    "dan": ("Dan", "Dunn", "dan@uni.test", "1004"),
    "eve": ("Eve", "Eto", "eve@uni.test", "1005"),
    "fin": ("Fin", "Fox", "fin@uni.test", "1006"),
    "gil": ("Gil", "Gill", "gil@uni.test", "1007"),
    "hana": ("Hana", "Hu", "hana@uni.test", "1008"),
    "ida": ("Ida", "Ito", "ida@uni.test", "1009"),
}
HAND_GRADED = {"ana": 15.0}  # points ana's written answers earn from the instructor

pytestmark = pytest.mark.slow


@dataclass
class Week:
    """The course copy after the week, and what each command printed."""

    course: Path
    printed: dict[str, subprocess.CompletedProcess]

    def table(self, name: str) -> list[dict[str, str]]:
        with (self.course / name).open(newline="", encoding="utf-8") as file:
            return list(csv.DictReader(file))


def hand_ins() -> dict[str, tuple[dict[str, str], str | None]]:
    """Each learner's files (name: text) and submission time; ``ida`` hands in nothing."""
    (notebook,) = A6.notebooks
    release, solution = A6.release(notebook), A6.solution(notebook)
    correct = json.dumps(fill_release(release, solution, {}))
    wrong = fill_release(release, solution, A6.submissions["mutant_count_linear"].sections)
    endless = fill_release(release, solution, {"count_paths": "while True:\n    pass\n"})
    emptied = json.loads(correct)
    for cell in emptied["cells"]:
        if cell.get("id") == "test_count_paths":
            cell["source"] = "pass  # nothing to test\n"
    return {
        "ana": ({"theory.ipynb": correct}, ON_TIME),
        "ben": ({"theory.ipynb": release.read_text(encoding="utf-8")}, ON_TIME),
        "cam": ({"theory.ipynb": json.dumps(wrong)}, ON_TIME),
        "dan": ({"theory.ipynb": json.dumps(broken_syntax(json.loads(correct)))}, ON_TIME),
        "eve": ({"theory.pdf": "%PDF-1.4 not a notebook"}, ON_TIME),
        "fin": ({"theory (1).ipynb": correct}, ON_TIME),
        "gil": ({"theory.ipynb": correct}, LATE),
        "hana": ({"theory.ipynb": json.dumps(endless)}, ON_TIME),
        "joe": ({"theory.ipynb": json.dumps(emptied)}, ON_TIME),  # not on the roster
    }


def grade_by_hand(course: Path, student: str, points: float) -> None:
    """Give ``student``'s written answers ``points`` in all, as Formgrader would."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook("theory", A6.name, student)
        answers = [g for g in notebook.grades if g.cell.max_score and g.needs_manual_grade]
        left = points
        for grade in answers:
            grade.manual_score = min(grade.max_score, left)
            left -= grade.manual_score
            grade.needs_manual_grade = False
        gradebook.db.commit()


@pytest.fixture(scope="module")
def week(tmp_path_factory) -> Week:
    done = subprocess.run([sys.executable, "course.py", "setup"], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr
    base = tmp_path_factory.mktemp("week")
    course = course_copy(base / "course", A6.name, f"c.Execute.timeout = {CELL_LIMIT}\n")
    with (base / "class.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "first_name", "last_name", "email", "lms_user_id"])
        writer.writerows([student, *details] for student, details in ROSTER.items())
    for student, (files, stamp) in hand_ins().items():
        folder = base / "inbox" / student
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        if stamp:
            (folder / "timestamp.txt").write_text(stamp)

    def course_py(*args: str) -> subprocess.CompletedProcess:
        return run_course_py(course, *args, timeout=1200)

    printed = {}
    for step, args in [
        ("roster", ["roster", str(base / "class.csv")]),
        ("due", ["due", A6.name, DUE]),
        ("collect", ["collect", A6.name, str(base / "inbox")]),
        ("autograde", ["autograde", A6.name]),
    ]:
        printed[step] = course_py(*args)
    grade_by_hand(course, "ana", HAND_GRADED["ana"])
    for step, args in [
        ("regrade", ["autograde", A6.name, "--student", "ana", "--force"]),
        ("pending", ["pending"]),
        ("grades", ["grades"]),
        ("feedback", ["feedback", A6.name]),
        ("report", ["report", A6.name]),
    ]:
        printed[step] = course_py(*args)
    return Week(course, printed)


def summary_line(week: Week, student: str, step: str = "autograde") -> str:
    """The autograde summary's line for ``student``."""
    lines = week.printed[step].stdout.splitlines()
    found = [line for line in lines if re.match(rf"\s+{student}\s", line)]
    assert len(found) == 1, week.printed[step].stdout
    return found[0]


def test_the_class_and_the_due_date_reach_the_gradebook(week):
    assert week.printed["roster"].returncode == 0, week.printed["roster"].stderr
    assert "9 learner(s) in the gradebook, 9 of them new" in week.printed["roster"].stdout
    assert week.printed["due"].returncode == 0, week.printed["due"].stderr
    assert "a6_theory is due 2027-01-15 17:00 UTC" in week.printed["due"].stdout


def test_collect_names_what_cannot_be_graded_and_renames_the_misnamed(week):
    done = week.printed["collect"]
    assert done.returncode == 0, done.stderr
    assert "WARNING eve: theory.pdf is not a notebook" in done.stdout
    assert "WARNING eve: no notebook: it cannot be graded (expected theory.ipynb)" in done.stdout
    assert "WARNING fin: theory (1).ipynb renamed to theory.ipynb" in done.stdout
    submitted = week.course / "submitted"
    assert (submitted / "fin" / A6.name / "theory.ipynb").is_file()
    assert (submitted / "gil" / A6.name / "timestamp.txt").read_text() == LATE
    warned = {m for m in re.findall(r"WARNING (\w+):", done.stdout)}
    assert warned == {"eve", "fin"}, done.stdout


def test_autograde_says_what_became_of_each_learner(week):
    done = week.printed["autograde"]
    assert done.returncode != 0  # hand-ins that need a look make the command fail
    full = A6.cells | A6.manual
    total = sum(full.values())
    code_points = sum(A6.cells.values())
    for student in ["ana", "fin"]:
        assert re.search(rf"graded\s+{code_points:.1f} / {total:g}\s", summary_line(week, student))
    assert re.search(r"graded\s+0\.0 / ", summary_line(week, "ben"))
    assert "to grade by hand" not in summary_line(week, "ben")  # nothing answered
    assert re.search(rf"graded\s+{code_points - 2:.1f} / ", summary_line(week, "cam"))
    assert re.search(r"graded\s+0\.0 / ", summary_line(week, "dan"))
    late = summary_line(week, "gil")
    assert f"{code_points * 0.8:.1f} / {total:g}" in late
    assert f"late by 1 d 16 h (-{code_points * 0.2:g})" in late
    assert re.search(r"contained\s+.*ran past the time limit", summary_line(week, "hana"))
    assert re.search(
        r"not processed\s+no notebook named theory.ipynb; received: theory.pdf",
        summary_line(week, "eve"),
    )
    assert re.search(r"not submitted", summary_line(week, "ida"))
    manual = sum(A6.manual.values())
    assert f"{manual:g} point(s) to grade by hand" in summary_line(week, "ana")
    assert re.search(r"not processed \(.*\): eve$", done.stdout, re.M), done.stdout
    assert re.search(r"contained \(.*\): hana$", done.stdout, re.M), done.stdout


def test_the_console_shows_only_what_to_act_on(week):
    done = week.printed["autograde"]
    assert "checksum" not in done.stdout + done.stderr
    assert "SAWarning" not in done.stdout + done.stderr
    assert "[INFO]" not in done.stdout + done.stderr
    log = (week.course / ".nbgrader.log").read_text()
    assert "[INFO]" in log and "SAWarning" in log  # kept, where nobody has to read it
    assert len(done.stdout.splitlines()) < 40, done.stdout
    # Only the learner who did edit a locked cell is named, though every hand-in's cells with
    # hidden tests differ from the instructor's.
    warnings = re.findall(r"WARNING (\w+): (.*)", done.stdout)
    assert warnings == [("joe", "edited locked cell test_count_paths (the original was put back)")]
    assert re.search(rf"graded\s+{sum(A6.cells.values()):.1f} / ", summary_line(week, "joe"))


def test_the_wide_export_is_ready_for_an_lms(week):
    assert week.printed["grades"].returncode == 0, week.printed["grades"].stderr
    rows = {row["student_id"]: row for row in week.table("grades_wide.csv")}
    assert set(rows) == {*ROSTER, "joe"}
    total = sum((A6.cells | A6.manual).values())
    column = f"{A6.name} (max {total:g})"
    code_points = sum(A6.cells.values())
    assert rows["ana"]["lms_user_id"] == "1001" and rows["ana"]["last_name"] == "Abe"
    assert float(rows["ana"][column]) == code_points + HAND_GRADED["ana"]
    assert "pending" not in rows["ana"]["notes"]
    assert rows["ida"][column] == "" and rows["eve"][column] == ""
    assert "not processed" in rows["eve"]["notes"]
    assert float(rows["ben"][column]) == 0.0
    # fin's written answers wait: an LMS would publish his code points alone as his grade.
    assert rows["fin"][column] == ""
    assert f"hand grading pending ({sum(A6.manual.values()):g} pts;" in rows["fin"]["notes"]
    said = week.printed["grades"].stdout
    assert re.search(
        rf"^WARNING hand grading pending: {A6.name} left blank .* for .*fin", said, re.M
    )
    so_far = re.search(r"; ([\d.]+) so far\)", rows["gil"]["notes"])  # late, answers waiting
    assert rows["gil"][column] == "" and float(so_far[1]) == pytest.approx(code_points * 0.8)
    assert "late 1 d 16 h" in rows["gil"]["notes"]


def test_the_long_export_keeps_the_details(week):
    rows = {row["student_id"]: row for row in week.table("grades.csv")}
    assert rows["gil"]["duedate"] == "2027-01-15 17:00:00 UTC"
    assert rows["gil"]["timestamp"] == "2027-01-17 09:00:00 UTC"
    assert float(rows["gil"]["late_submission_penalty"]) == pytest.approx(
        sum(A6.cells.values()) * 0.2
    )
    assert rows["ida"]["outcome"] == "not submitted" and rows["ida"]["score"] == ""
    assert rows["hana"]["outcome"] == "contained"
    assert float(rows["fin"]["hand_grading_pending"]) == sum(A6.manual.values())
    assert float(rows["ana"]["hand_grading_pending"]) == 0.0


def test_hand_grading_settles(week):
    """Graded by hand stays graded when autograded again; 0-point task cells ask for nothing."""
    regrade = week.printed["regrade"]
    assert regrade.returncode == 0, regrade.stdout + regrade.stderr
    code_points = sum(A6.cells.values())
    line = summary_line(week, "ana", "regrade")
    assert f"{code_points + HAND_GRADED['ana']:.1f} / " in line
    assert "to grade by hand" not in line
    pending = week.printed["pending"]
    assert pending.returncode == 0, pending.stderr
    listed = re.findall(r"^a6_theory\s+(\w+)\s+([\d.]+) point\(s\): (.*)$", pending.stdout, re.M)
    assert {student for student, _, _ in listed} == {"cam", "dan", "fin", "gil", "hana", "joe"}
    for _, points, cells in listed:
        assert float(points) == sum(A6.manual.values())
        assert set(re.findall(r"(\w+) \(", cells)) == set(A6.manual)  # answers, no task cells


def test_feedback_a_learner_can_read(week):
    done = week.printed["feedback"]
    assert done.returncode == 0, done.stdout + done.stderr
    pages = {p.parent.parent.name: p for p in (week.course / "feedback").glob("*/a6_theory/*.html")}
    cells = json.loads(A6.solution("theory").read_text(encoding="utf-8"))["cells"]
    solution = "\n".join("".join(cell["source"]) for cell in cells)
    scheme = [
        line.strip()
        for region in re.findall(r"BEGIN MARK SCHEME(.*?)END MARK SCHEME", solution, re.S)
        for line in region.splitlines()
        if len(line.strip()) >= 24
    ]
    assert scheme  # the solution has mark schemes to leak
    for student, page in pages.items():
        text = page.read_text(encoding="utf-8")
        assert not [line for line in scheme if line in text], student
    assert A6.submissions["mutant_count_linear"].says in pages["cam"].read_text()
    hung = pages["hana"].read_text()
    assert "ran past the time limit" in hung and "KeyboardInterrupt" not in hung
    assert pages["eve"].name == "NOT_GRADED.html"
    assert "theory.pdf" in pages["eve"].read_text()
    zips = week.course / "feedback_zips" / A6.name
    assert {p.stem for p in zips.glob("*.zip")} == set(pages)


def test_the_class_report_has_its_figures(week):
    done = week.printed["report"]
    assert done.returncode == 0, done.stdout + done.stderr
    report = week.course / "reports" / A6.name
    page = (report / "index.html").read_text(encoding="utf-8")
    figures = ["scores.png", "pass_rates.png", "mistakes.png", "grading_times.png"]
    for name in figures:
        assert (report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f'src="{name}"' in page
    assert A6.submissions["mutant_count_linear"].says in page  # cam's diagnosed mistake
    for student in ["hana", "eve"]:  # contained, not processed: they need a look
        assert re.search(rf"<td>{student}</td>", page), student


@pytest.fixture(scope="module")
def formgrader(week):
    """Formgrader on the week's course: a real Jupyter server on a free local port."""
    with jupyter_server("server", week.course, ready="/formgrader/manage_assignments") as site:
        yield site


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one for the module: Playwright's sync API runs one at a time."""
    with chromium() as started:
        yield started


@pytest.fixture(scope="module")
def offline_page(formgrader, browser):
    """Open a Formgrader page in headless Chromium; return the page and what it asked elsewhere."""
    context = browser.new_context()
    problems = keep_offline(context, formgrader)

    def open_page(path: str):
        page = context.new_page()
        # (Console errors are not counted: MathJax 2 probes fonts it may not find, by design.)
        page.on("pageerror", lambda error: problems.append(f"uncaught exception: {error}"))
        page.goto(formgrader + path, wait_until="load")
        return page

    yield open_page, problems
    context.close()


def test_formgrader_shows_written_answers_math_offline(week, offline_page):
    open_page, problems = offline_page
    with Gradebook(f"sqlite:///{week.course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission_notebook("theory", A6.name, "fin").id
    page = open_page(f"/formgrader/submissions/{submission}")
    page.wait_for_function("window.MathJax && MathJax.isReady", timeout=60_000)
    page.evaluate("new Promise(done => MathJax.Hub.Queue(done))")  # typesetting has finished
    assert page.eval_on_selector_all("#notebook .MathJax", "found => found.length") > 10
    text = page.inner_text("#notebook")
    assert not re.search(r"\$x_L\$", text)  # the math in the text is typeset
    assert "Math Processing Error" not in text
    assert not problems, problems


def test_formgrader_warns_about_nothing(offline_page):
    open_page, problems = offline_page
    page = open_page("/formgrader/manage_assignments")
    page.wait_for_selector(f"#main-table tr:has-text('{A6.name}')", timeout=60_000)
    assert page.locator(".alert-warning").count() == 0, page.inner_text("body")
    assert not problems, problems


def test_no_step_warns_about_what_nobody_did(week):
    """A warning an instructor must act on stays visible: no step prints one for every hand-in."""
    noise = ["has changed!", "not recognized by", "Traceback"]
    for step, done in week.printed.items():
        printed = done.stdout + done.stderr
        assert not [word for word in noise if word in printed], (step, printed[-3000:])
    # nbgrader's own log, where it warned about every test cell of every hand-in
    log = (week.course / ".nbgrader.log").read_text(encoding="utf-8")
    assert "autograde a6_theory" in log  # the log the steps wrote
    assert not [line for line in log.splitlines() if any(word in line for word in noise)]


# --- a learner's HTML in Formgrader and in the feedback ---------------------------------------

HOSTILE = "mal"  # hands in after the week, in a copy of the week's course
# What a script of a learner's would do in the instructor's Formgrader: note that it ran, then
# give its own submission full marks and extra credit through Formgrader's API, with the
# instructor's _xsrf cookie (as the red team's did). On a feedback page (a file) it only notes.
ATTACK = """(function () {
  (window.xssRan = window.xssRan || []).push(%r);
  if (typeof submission_id === "undefined") return;
  var xsrf = decodeURIComponent((document.cookie.match(/_xsrf=([^;]+)/) || ["", ""])[1]);
  fetch(base_url + "/api/grades?submission_id=" + submission_id)
    .then(function (r) { return r.json(); })
    .then(function (grades) { grades.forEach(function (g) {
      fetch(base_url + "/api/grade/" + g.id, {method: "PUT", body: JSON.stringify(
        {manual_score: g.max_score, extra_credit: 100}),
        headers: {"Content-Type": "application/json", "X-XSRFToken": xsrf}});
    }); });
})();"""
# A 1x1 PNG, kept as an attachment of a written answer, as Jupyter keeps a pasted image.
PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhf"
    "DwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
LEGIT = """**Proof.** Let $h_{k+1} = h_k + F(h_k)$ and take `F = 0`:

| block | shortcut |
|:------|---------:|
| *plain* | none |

![my sketch](attachment:sketch.png)
"""


def attack(where: str) -> str:
    """JavaScript that runs :data:`ATTACK`, in a form that fits in an HTML attribute."""
    script = base64.b64encode((ATTACK % where).encode()).decode()
    return f"eval(atob('{script}'))"


def hostile_hand_in() -> dict:
    """A hand-in whose written answer carries an <img onerror> script, whose code cell shows
    an HTML output with another and a JavaScript output, and whose other written answer is the
    markdown a learner may legitimately write: math, emphasis, code, a table, a pasted image."""
    (notebook,) = A6.notebooks
    code = {c.grade_id: c.source for c in read_cells(A6.solution(notebook))}["count_paths"]
    output = f'<b>bold output</b><img src="x" onerror="{attack("html output")}">'
    code += (
        "\nfrom IPython.display import HTML, Javascript, display\n"
        f"display(HTML({output!r}))\n"
        # A style sheet, as a pandas table's, but hostile; its rule split so the source differs.
        'display(HTML("<style>.rendered_html { display: " + "none }</style>"))\n'
        f"display(Javascript({attack('javascript output')!r}))\n"
    )
    sections = {
        "answer_gradient_flow": f'My answer.\n\n<img src="x" onerror="{attack("answer")}">\n',
        "answer_representation": LEGIT,
        "count_paths": code,
    }
    hand_in = fill_release(A6.release(notebook), A6.solution(notebook), sections)
    for cell in hand_in["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "answer_representation":
            cell["attachments"] = {"sketch.png": {"image/png": PIXEL}}
    return hand_in


@pytest.fixture(scope="module")
def hostile_course(week, tmp_path_factory) -> Path:
    """A copy of the week's graded course, where one more learner's hand-in (hostile_hand_in)
    is collected, autograded and given feedback; the week's own course is left as it was."""
    base = tmp_path_factory.mktemp("hostile")
    course = base / "course"
    shutil.copytree(week.course, course, symlinks=True)
    inbox = base / "inbox" / HOSTILE
    inbox.mkdir(parents=True)
    (inbox / "theory.ipynb").write_text(json.dumps(hostile_hand_in()), encoding="utf-8")
    for args in [
        ["collect", A6.name, str(base / "inbox")],
        ["autograde", A6.name, "--student", HOSTILE],
        ["feedback", A6.name, "--student", HOSTILE],
    ]:
        done = subprocess.run(
            [sys.executable, "course.py", *args], cwd=course, capture_output=True, text=True
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    return course


def grades(course: Path) -> dict[tuple[str, str], tuple]:
    """Every grade of the assignment: (learner, cell) to (auto, manual, extra credit)."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {
            (s.student.id, g.name): (g.auto_score, g.manual_score, g.extra_credit)
            for s in gradebook.notebook_submissions("theory", A6.name)
            for g in s.grades
        }


def test_a_learners_scripts_do_not_run_in_formgrader_or_the_feedback(hostile_course, browser):
    """The red team's attack: a written answer's <img onerror>, an HTML output's and a
    JavaScript output's scripts would run as the instructor opening the hand-in to grade it,
    and rewrite the gradebook through Formgrader's API. They show as inert markup; the legit
    markdown of an answer still shows as it should, its math typeset."""
    before = grades(hostile_course)
    assert (HOSTILE, "answer_gradient_flow") in before
    with Gradebook(f"sqlite:///{hostile_course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission_notebook("theory", A6.name, HOSTILE).id
    feedback = hostile_course / "feedback" / HOSTILE / A6.name / "theory.html"
    ready = "/formgrader/manage_assignments"
    with jupyter_server("server", hostile_course, ready=ready) as site:
        context = browser.new_context()
        problems = keep_offline(context, site)
        page = context.new_page()
        writes = []  # every request that could change something
        page.on("request", lambda r: writes.append(r.url) if r.method != "GET" else None)
        page.goto(f"{site}/formgrader/submissions/{submission}", wait_until="networkidle")
        ran = page.evaluate("window.xssRan || []")
        answers = page.locator(".nbgrader_cell:has(#answer_representation) .rendered_html")
        answers.locator("img").first.wait_for(timeout=30_000)
        legit = answers.evaluate(
            """found => ({
                strong: found.querySelectorAll('strong').length,
                header: [...found.querySelectorAll('th')].map(th => th.textContent),
                code: [...found.querySelectorAll('code')].map(code => code.textContent),
                image: [...found.querySelectorAll('img')].map(img => img.naturalWidth),
            })"""
        )
        page.wait_for_function("window.MathJax && MathJax.isReady", timeout=60_000)
        page.evaluate("new Promise(done => MathJax.Hub.Queue(done))")
        typeset = answers.locator(".MathJax").count()
        shown = page.inner_text("#notebook")
        context.close()
    page = browser.new_page()  # the learner's own browser, with the feedback page
    page.goto(feedback.as_uri(), wait_until="load")
    ran += page.evaluate("window.xssRan || []")
    page.close()
    after = grades(hostile_course)
    changed = {key: (score, after[key]) for key, score in before.items() if after[key] != score}
    assert not (ran or writes or changed), f"ran: {ran}; sent: {writes[:2]}; changed: {changed}"
    assert not problems, problems
    assert "bold output" in shown and "My answer." in shown
    assert "display: none" not in shown  # the style sheet is left out, neither applied nor shown
    assert legit == {"strong": 1, "header": ["block", "shortcut"], "code": ["F = 0"], "image": [1]}
    assert typeset >= 1
