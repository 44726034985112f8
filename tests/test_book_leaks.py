"""The built book must not give away the graded exercises.

Scans every text file of the one session build (``built_book`` in tests/conftest.py) for
nbgrader's solution and hidden-test markers, and for the distinctive lines of solution code and
hidden tests in ``solutions/``, read from the instructor notebooks when the test runs. A written
answer is not code and is said in other words each time, so for the open questions that are
graded by hand the check is that the book asks no such question with an answer to click open.
"""

import html
import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import ROOT

pytestmark = pytest.mark.slow

MARKERS = [
    "BEGIN SOLUTION",
    "END SOLUTION",
    "BEGIN HIDDEN TESTS",
    "END HIDDEN TESTS",
    "BEGIN MARK SCHEME",
]
REGION = re.compile(
    r"(?:BEGIN SOLUTION|BEGIN HIDDEN TESTS|BEGIN MARK SCHEME)[^\n]*\n(.*?)\n[^\n]*"
    r"(?:END SOLUTION|END HIDDEN TESTS|END MARK SCHEME)",
    re.S,
)
# An open question of an assignment: "- **(a)** Why do ...?" in the Markdown before its answer.
OPEN_QUESTION = re.compile(r"^- \*\*\([a-z]\)\*\*\s+(.+?)(?=^- |\Z)", re.M | re.S)
# A page's question and a graded one are the same question when at least this share of the
# shorter one's words (stems of four letters or more) is in the other.
SAME_QUESTION = 0.5
QUESTION_WORDS = {"what", "where", "when", "which", "does", "between", "with", "their", "there"}
TEXT_FILES = {".html", ".js", ".txt", ".md", ".ipynb", ".json", ".py"}
# A line shorter than this (after collapsing spaces) is too common to be evidence of a leak.
DISTINCTIVE = 30


def normalise(text):
    """Collapse runs of whitespace, so that reflowed or highlighted code still matches."""
    return re.sub(r"\s+", " ", text).strip()


def visible_text(path):
    """A built file as a reader would see it: HTML without tags and entities."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return normalise(text)


def public_text():
    """Code a learner has anyway: the reference package and the released exercises."""
    sources = list((ROOT / "resnet_ref").glob("*.py")) + list((ROOT / "exercises").rglob("*.ipynb"))
    return " ".join(normalise(path.read_text(encoding="utf-8")) for path in sources)


def secret_lines():
    """Distinctive lines inside the solution, hidden-test and mark-scheme regions."""
    public = public_text()
    lines = set()
    for notebook in sorted((ROOT / "solutions").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in notebook.parts:
            continue
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"])
            for region in REGION.findall(source):
                for line in region.splitlines():
                    line = normalise(line)
                    if len(line) >= DISTINCTIVE and line not in public:
                        lines.add(line)
    return sorted(lines)


def built_files(html_dir: Path):
    """Every text file of the built site."""
    return [path for path in html_dir.rglob("*") if path.suffix in TEXT_FILES and path.is_file()]


def test_the_solutions_have_distinctive_lines_to_look_for():
    if not (ROOT / "solutions").is_dir():
        pytest.skip("no solutions/ in this checkout")
    assert len(secret_lines()) >= 10, "too few solution lines to make the leak test meaningful"


def test_no_solution_or_hidden_test_reaches_the_built_book(built_book):
    files = built_files(built_book.html)
    assert len(files) > 20, "the book was not built"
    secrets = secret_lines() if (ROOT / "solutions").is_dir() else []
    leaks = []
    for path in files:
        text = visible_text(path)
        where = path.relative_to(built_book.html)
        leaks += [f"{where}: marker {marker!r}" for marker in MARKERS if marker in text]
        leaks += [f"{where}: solution line {line!r}" for line in secrets if line in text]
    assert not leaks, "the built book contains exercise solutions:\n" + "\n".join(leaks[:50])


def test_the_scan_would_see_a_leak(tmp_path):
    """The scan finds a solution line even inside syntax-highlighted HTML."""
    secrets = secret_lines() if (ROOT / "solutions").is_dir() else []
    if not secrets:
        pytest.skip("no solutions/ in this checkout")
    line = secrets[0]
    words = "".join(f'<span class="n">{html.escape(word)}</span> ' for word in line.split())
    page = tmp_path / "page.html"
    page.write_text(f"<pre>{words}</pre>", encoding="utf-8")
    assert line in visible_text(page)


def stems(text):
    """The words of a question that carry its meaning, crudely stemmed ("ensembles": "ensemble")."""
    words = re.findall(r"[a-z][a-z-]{3,}", text.lower())
    return {word.rstrip("s") for word in words if word not in QUESTION_WORDS}


def same_question(one, other):
    """Whether two questions share most of their words (see SAME_QUESTION)."""
    one, other = stems(one), stems(other)
    return len(one & other) >= SAME_QUESTION * min(len(one), len(other))


def hand_graded_open_questions():
    """The open questions that an instructor grades by hand, from the instructor notebooks."""
    questions = []
    for notebook in sorted((ROOT / "solutions").rglob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        for cell, after in zip(cells, cells[1:], strict=False):  # each cell and the next
            grading = after.get("metadata", {}).get("nbgrader", {})
            if cell["cell_type"] == after["cell_type"] == "markdown" and grading.get("grade"):
                # The questions, not the mark scheme that follows them in the cell.
                asked = re.split(r"#* *BEGIN MARK SCHEME", "".join(cell["source"]))[0]
                questions += [normalise(q) for q in OPEN_QUESTION.findall(asked)]
    return questions


def test_the_open_questions_graded_by_hand_are_found():
    if not (ROOT / "solutions").is_dir():
        pytest.skip("no solutions/ in this checkout")
    questions = hand_graded_open_questions()
    assert len(questions) >= 3, questions
    # The matching tells a reworded question from a different one.
    assert same_question(questions[0], questions[0].replace("Why do", "Why exactly do"))
    assert not any(same_question(questions[0], other) for other in questions[1:])


def test_no_page_answers_an_open_question_graded_by_hand(built_book):
    """The dropdown answers of the pages, against the assignments' open questions.

    Chapter 12 once answered the three open questions of assignment 6 (reworded, so the line
    scan above did not see it) in dropdowns under its reflective questions.
    """
    questions = hand_graded_open_questions() if (ROOT / "solutions").is_dir() else []
    answered = []
    for path in built_book.pages():
        text = path.read_text(encoding="utf-8")
        if "dropdown" not in text:
            continue
        # Only the article: parsing the whole page (theme, embedded widget state) takes seconds.
        page = BeautifulSoup(text[text.find("<article") : text.rfind("</article>")], "html.parser")
        for dropdown in page.select("div.admonition.dropdown"):
            # What comes just before an answer to click open is the question it answers.
            before = dropdown.find_previous_sibling()
            asked = normalise(before.get_text(" ")) if before else ""
            answered += [
                f"{path.relative_to(built_book.html)}: {asked!r} answers {question!r}"
                for question in questions
                if asked and same_question(asked, question)
            ]
    assert not answered, "pages answer questions that are graded by hand:\n" + "\n".join(answered)
