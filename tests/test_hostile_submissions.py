"""Hostile submissions, graded in one batch by the real ``python3 course.py autograde``.

Every attack of ``tests/hostile/`` (see the README there) is appended to the code of a wrong
solution, its *honest-wrong twin*, and handed in by a learner of its own; the twin itself and
two correct controls are handed in beside them. The whole class goes through the README's
workflow (``collect``, ``autograde``, ``feedback``) in a copy of the course, with a TCP server
listening on the grading machine's loopback, a secret in the grader's environment and one in a
file beside the course. The tests then check what an instructor relies on: no attack earns a
point its twin does not, the controls keep full marks from their own notebooks, the gradebook,
the course and the machine are untouched, nothing hidden or secret reaches a feedback page, and
the batch completed, with the contained submissions named.
"""

import ast
import hashlib
import html
import json
import os
import re
import secrets
import socket
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from grading_support import (
    COURSE_FILES,
    COURSE_FOLDERS,
    assignments,
    fill_release,
    hidden_test_lines,
    read_cells,
    whole_course_copy,
)
from grading_support import course_py as run_course_py
from nbgrader.api import Gradebook

pytestmark = pytest.mark.slow

HOSTILE = Path(__file__).resolve().parent / "hostile"
A2 = next(a for a in assignments() if a.name == "a2_blocks")
(NOTEBOOK,) = A2.notebooks
TWIN = "mutant_relu_before_add"
CONTROLS = {"control_solution": {}, "control_shortcut_first": "correct_shortcut_first"}
SECRET = secrets.token_hex(16)
MARK = f"hostile-{secrets.token_hex(6)}"
# Copied into the course the batch is graded in: what course.py and the kernels need.


@dataclass
class Attack:
    """One file of tests/hostile: its code, the cell it goes into, the threat it stands for."""

    name: str
    code: str
    cell: str
    threat: str


def read_attack(path: Path) -> Attack:
    """Parse one attack file."""
    text = path.read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(text)) or ""
    fields = dict(re.findall(r"^(Threat|Cell): (.*)$", doc, re.M))
    return Attack(path.stem, text, fields.get("Cell", "basic_block"), fields.get("Threat", ""))


ATTACKS = [read_attack(p) for p in sorted(HOSTILE.glob("*.py"))]


def solution_code(grade_id: str) -> str:
    """The instructor's code of a solution cell."""
    cells = read_cells(A2.solution(NOTEBOOK))
    return next(c.source for c in cells if c.grade_id == grade_id and c.solution)


def hand_ins(course: Path, port: int) -> dict[str, dict]:
    """Every learner's notebook: the controls, the twin, and the twin with each attack."""
    twin = A2.submissions[TWIN].sections
    preamble = (
        f"COURSE = {str(course)!r}\nPORT = {port}\nMARK = {MARK!r}\n"
        f"CLASSMATES = {sorted(CONTROLS)!r}\n"
    )
    notebooks = {}
    for student, source in CONTROLS.items():
        sections = A2.submissions[source].sections if source else {}
        notebooks[student] = fill_release(A2.release(NOTEBOOK), A2.solution(NOTEBOOK), sections)
    notebooks[TWIN] = fill_release(A2.release(NOTEBOOK), A2.solution(NOTEBOOK), twin)
    for attack in ATTACKS:
        sections = dict(twin)
        base = sections.get(attack.cell) or solution_code(attack.cell)
        sections[attack.cell] = f"{base}\n\n{preamble}{attack.code}"
        notebooks[f"hostile_{attack.name}"] = fill_release(
            A2.release(NOTEBOOK), A2.solution(NOTEBOOK), sections
        )
    return notebooks


class Listener:
    """A TCP server on 127.0.0.1 that records every connection a submission makes to it."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections: list[bytes] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    self.connections.append(connection.recv(1024))
                except OSError:
                    self.connections.append(b"")

    def stop(self):
        """Stop listening."""
        self.stopping.set()
        self.thread.join()
        self.server.close()


def fingerprint(course: Path) -> dict[str, str]:
    """A hash of every file of the course that grading must leave alone."""
    files = [course / name for name in COURSE_FILES]
    for folder in COURSE_FOLDERS:
        files += [p for p in (course / folder).rglob("*") if p.is_file()]
    return {
        str(p.relative_to(course)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in files
        if "__pycache__" not in p.parts
    }


@dataclass
class Batch:
    """What the batch left behind."""

    course: Path
    autograde: subprocess.CompletedProcess
    feedback: subprocess.CompletedProcess
    scores: dict[str, dict[str, float]]
    max_scores: dict[str, float]
    before: dict[str, str]
    after: dict[str, str]
    handed_in: dict[str, str]
    connections: list[bytes]
    leftovers: list[Path]


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Batch:
    """Grade the whole class once, as the README's instructor workflow does."""
    base = tmp_path_factory.mktemp("hostile")
    # Shorter limits than a real class gets, so that the hangs cost the test less time.
    course = whole_course_copy(
        base / "course",
        "c.Execute.timeout = 40\nc.ContainedExecute.interrupt_grace = 5\n"
        "c.SandboxedKernelManager.memory_bytes = 2 * 1024**3\n",
    )
    (base / "instructor-notes.txt").write_text(f"the exam key is {SECRET}\n")
    listener = Listener()
    inbox = base / "inbox"
    handed_in = {}
    for student, notebook in hand_ins(course, listener.port).items():
        (inbox / student).mkdir(parents=True)
        text = json.dumps(notebook, indent=1)
        (inbox / student / f"{NOTEBOOK}.ipynb").write_text(text)
        handed_in[student] = text
    env = dict(os.environ, PYTHONPATH=str(course), INSTRUCTOR_TOKEN=SECRET)

    def course_py(*args):
        return run_course_py(course, *args, env=env, timeout=3000)

    done = course_py("collect", A2.name, str(inbox))
    assert done.returncode == 0, done.stderr
    before = fingerprint(course)
    graded = course_py("autograde", A2.name)
    feedback = course_py("feedback", A2.name)
    listener.stop()
    scores, max_scores = {}, {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in gradebook.students:
            submission = gradebook.find_submission_notebook(NOTEBOOK, A2.name, student.id)
            for grade in submission.grades:
                if grade.name in A2.cells:
                    scores.setdefault(student.id, {})[grade.name] = grade.score
                    max_scores[grade.name] = grade.max_score
    places = ["/tmp", "/var/tmp", "/root", os.path.expanduser("~"), str(base), str(course)]
    leftovers = [p for place in places for p in Path(place).glob(f"{MARK}*")]
    return Batch(
        course=course,
        autograde=graded,
        feedback=feedback,
        scores=scores,
        max_scores=max_scores,
        before=before,
        after=fingerprint(course),
        handed_in=handed_in,
        connections=list(listener.connections),
        leftovers=leftovers,
    )


def test_the_corpus_covers_the_threats_it_names():
    assert len(ATTACKS) >= 25
    assert all(attack.threat for attack in ATTACKS), [a.name for a in ATTACKS if not a.threat]


def test_the_batch_completed_and_names_the_contained(batch):
    log = batch.autograde.stdout + batch.autograde.stderr
    students = {*CONTROLS, TWIN, *(f"hostile_{a.name}" for a in ATTACKS)}
    assert set(batch.scores) == students, log[-3000:]
    assert all(set(cells) == set(A2.cells) for cells in batch.scores.values())
    assert batch.autograde.returncode != 0  # the summary's exit code flags the contained ones
    stopped = re.search(r"  contained \(stopped by the grader[^)]*\): ([^\n]*)", log)
    assert stopped, log[-3000:]
    named = set(stopped.group(1).split(", "))
    for attack in ["kernel_exits", "sleeps_forever", "hangs_ignoring_interrupts"]:
        assert f"hostile_{attack}" in named
    # A flood ends one of two ways, depending on how fast the kernel's output thread sends what
    # is printed: past the output limit the grader stops the kernel (and it is named here), or
    # the sandbox's memory limit ends the printing loop first, with a MemoryError in its cell.
    flood = batch.course / "autograded" / "hostile_output_flooded" / A2.name / f"{NOTEBOOK}.ipynb"
    assert "hostile_output_flooded" in named or '"ename": "MemoryError"' in flood.read_text()
    assert not named & {*CONTROLS, TWIN}
    # Attacks that keep their test cells from failing are caught by the referee, and named.
    refused = re.search(r"  refused \(test cells the referee refused[^)]*\): ([^\n]*)", log)
    assert refused, log[-3000:]
    named = set(refused.group(1).split(", "))
    for attack in ["expect_disabled", "checks_rebound", "later_cells_rewritten"]:
        assert f"hostile_{attack}" in named
    assert not named & {*CONTROLS, TWIN}


def test_controls_keep_full_marks_from_their_own_notebooks(batch):
    for student in CONTROLS:
        assert batch.scores[student] == A2.cells, student
        submitted = batch.course / "submitted" / student / A2.name / f"{NOTEBOOK}.ipynb"
        assert submitted.read_text() == batch.handed_in[student]


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_no_attack_earns_more_than_its_honest_twin(batch, attack):
    twin, hostile = batch.scores[TWIN], batch.scores[f"hostile_{attack.name}"]
    assert twin == {c: 0.0 if c in A2.submissions[TWIN].loses else p for c, p in A2.cells.items()}
    assert {c: s for c, s in hostile.items() if s > twin[c]} == {}


def test_the_gradebook_holds_only_what_grading_wrote(batch):
    assert batch.max_scores == A2.cells
    for student, cells in batch.scores.items():
        assert all(0 <= score <= A2.cells[cell] for cell, score in cells.items()), student


def test_no_course_file_changed(batch):
    assert batch.after == batch.before
    for student in batch.handed_in:
        submitted = batch.course / "submitted" / student / A2.name / f"{NOTEBOOK}.ipynb"
        assert submitted.read_text() == batch.handed_in[student], student


def test_nothing_reached_the_machine(batch):
    assert batch.connections == []
    assert batch.leftovers == []


def test_feedback_shows_nothing_hidden_or_secret(batch):
    assert batch.feedback.returncode == 0, batch.feedback.stderr[-3000:]
    hidden = hidden_test_lines(A2, NOTEBOOK)
    pages = sorted((batch.course / "feedback").glob(f"*/{A2.name}/*.html"))
    assert len(pages) == len(batch.handed_in)
    for page in pages:
        text = page.read_text(encoding="utf-8")
        flat = " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())
        assert SECRET not in text, page
        assert [line for line in hidden if line in flat] == [], page
        assert "MARK SCHEME" not in text, page
        assert "hidden tests ran here" in flat, page


def test_the_kernels_never_saw_the_instructors_secrets(batch):
    for path in (batch.course / "autograded").glob(f"*/{A2.name}/*.ipynb"):
        assert SECRET not in path.read_text(encoding="utf-8"), path
