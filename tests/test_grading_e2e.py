"""The graded assignments end to end, graded by the real ``nbgrader autograde``.

Every submission in ``tests/submissions/a2_blocks`` becomes a notebook (the released notebook
with its solution cells filled in), and one ``nbgrader autograde`` run grades them all, in a
temporary copy of the course, together with the instructor's solution, the untouched release
and two broken submissions. The score table (submission, score per test cell, total) is
printed at the end of the pytest run.

A second test drives the README's instructor workflow (``course.py release``, ``collect``,
``autograde``, ``feedback``, ``grades``) in another copy of the course.
"""

import csv
import html
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from grading_support import ROOT, broken_syntax, fill_release, graded_cells, submissions
from nbgrader.api import Gradebook

sys.path.insert(0, str(ROOT))
import course  # noqa: E402 (the course's entry point, imported for its helpers)

pytestmark = pytest.mark.slow

ASSIGNMENT = "a2_blocks"
NOTEBOOK = "blocks"
SOLUTION = ROOT / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
RELEASE = ROOT / "exercises" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
SUBMISSIONS = {s.name: s for s in submissions(ASSIGNMENT)}
CELLS = graded_cells(SOLUTION)
# Submissions made here rather than read from tests/submissions (a syntax error cannot lint).
SPECIAL = {
    "solution": frozenset(),
    "release_untouched": frozenset(CELLS),
    "broken_syntax": frozenset(CELLS),
}
NOT_A_NOTEBOOK = "broken_not_a_notebook"
# A wrong solution whose failing test cells were deleted or emptied: nbgrader must restore them.
TAMPERED = "cheat_deletes_and_edits_tests"
TAMPERED_FROM = "mutant_no_final_relu"
FEEDBACK_FOR = ["solution", "mutant_identity_where_projection_needed"]


def nbgrader_env(root: Path) -> dict:
    """The environment for nbgrader: the venv's bin on PATH (nbgrader runs ``alembic`` from
    it), and ``root`` on PYTHONPATH so that kernels import that checkout's resnet_ref."""
    env = course.venv_env()
    env["PYTHONPATH"] = str(root)
    return env


def nbgrader(args: list[str], cwd: Path, timeout: float = 3600) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in the course folder ``cwd``."""
    return subprocess.run(
        [str(course.NBGRADER), *args],
        cwd=cwd,
        env=nbgrader_env(ROOT),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Graded:
    """What one nbgrader run made of every submission."""

    course: Path
    scores: dict[str, dict[str, float]]
    seconds: float
    notebooks: int
    returncode: int
    log: str


class ScoreTable:
    """A pytest plugin that prints the score table in the terminal summary, so CI logs show it."""

    def __init__(self, lines: list[str]):
        self.lines = lines

    def pytest_terminal_summary(self, terminalreporter):
        """Print the table after the test results."""
        terminalreporter.section(f"{ASSIGNMENT}: scores from nbgrader autograde")
        for line in self.lines:
            terminalreporter.write_line(line)


def score_table(graded: Graded) -> list[str]:
    """Submission, score per test cell, total: one line each."""
    names = list(CELLS)
    legend = "  ".join(f"{i + 1}={name} ({CELLS[name]:g})" for i, name in enumerate(names))
    per_notebook = graded.seconds / graded.notebooks
    lines = [
        f"one nbgrader autograde run: {graded.notebooks} notebooks in {graded.seconds:.0f} s"
        f" ({per_notebook:.1f} s per notebook)",
        f"cells: {legend}",
        f"{'submission':<52}" + "".join(f"{i + 1:>4}" for i in range(len(names))) + "   total",
    ]
    for student in sorted(graded.scores, key=_order):
        cells = graded.scores[student]
        row = "".join(f"{cells[name]:>4g}" if name in cells else "   -" for name in names)
        total = sum(cells.values())
        lines.append(f"{student:<52}{row}  {total:>4g}/{sum(CELLS.values()):g}")
    return lines


def _order(name: str) -> tuple:
    kinds = ["solution", "correct", "mutant", "cheat", "broken", "release"]
    prefix = next((i for i, k in enumerate(kinds) if name.startswith(k)), len(kinds))
    return (prefix, name)


def read_scores(course_dir: Path) -> dict[str, dict[str, float]]:
    """Each student's auto score per test cell, from the gradebook."""
    scores = {}
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        for student in gradebook.students:
            try:
                notebook = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student.id)
            except Exception:
                continue
            scores[student.id] = {
                grade.name: grade.auto_score or 0.0
                for grade in notebook.grades
                if grade.name in CELLS
            }
    return scores


def write_submission(course_dir: Path, student: str, notebook) -> None:
    """Put a notebook (JSON or raw text) where nbgrader looks for ``student``'s submission."""
    folder = course_dir / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    text = notebook if isinstance(notebook, str) else json.dumps(notebook, indent=1)
    (folder / f"{NOTEBOOK}.ipynb").write_text(text, encoding="utf-8")


def tampered(submission) -> dict:
    """``submission``'s notebook with the test cells it fails deleted or replaced by ``pass``."""
    notebook = fill_release(RELEASE, SOLUTION, submission.sections)
    failing = sorted(submission.loses)
    deleted, emptied = set(failing[::2]), set(failing[1::2])
    notebook["cells"] = [c for c in notebook["cells"] if c.get("id") not in deleted]
    for cell in notebook["cells"]:
        if cell.get("id") in emptied:
            cell["source"] = "pass  # no test here any more"
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory, request) -> Graded:
    """Grade every submission with one ``nbgrader autograde`` run in a copy of the course."""
    course_dir = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course_dir)
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, course_dir / "solutions" / ASSIGNMENT)
    done = nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course_dir)
    assert done.returncode == 0, done.stderr

    solved = fill_release(RELEASE, SOLUTION, {})
    write_submission(course_dir, "solution", solved)
    write_submission(course_dir, "release_untouched", json.loads(RELEASE.read_text()))
    write_submission(course_dir, "broken_syntax", broken_syntax(solved))
    write_submission(course_dir, NOT_A_NOTEBOOK, "{ this is not a notebook")
    write_submission(course_dir, TAMPERED, tampered(SUBMISSIONS[TAMPERED_FROM]))
    for name, submission in SUBMISSIONS.items():
        write_submission(course_dir, name, fill_release(RELEASE, SOLUTION, submission.sections))

    start = time.perf_counter()
    done = nbgrader(["autograde", ASSIGNMENT, "--force"], course_dir)
    seconds = time.perf_counter() - start
    result = Graded(
        course=course_dir,
        scores=read_scores(course_dir),
        seconds=seconds,
        notebooks=len(SUBMISSIONS) + len(SPECIAL) + 2,
        returncode=done.returncode,
        log=done.stdout + done.stderr,
    )
    table = score_table(result)
    print("\n".join(table))
    request.config.pluginmanager.register(ScoreTable(table), "a2-blocks-score-table")
    return result


def lost_cells(graded: Graded, student: str) -> set[str]:
    """The test cells where ``student`` scored less than full marks."""
    assert student in graded.scores, f"{student} was not graded:\n{graded.log[-3000:]}"
    cells = graded.scores[student]
    assert set(cells) == set(CELLS)
    return {name for name, score in cells.items() if score < CELLS[name]}


def test_solution_scores_full_marks(graded):
    assert lost_cells(graded, "solution") == set()


def test_untouched_release_scores_zero_without_stopping_the_batch(graded):
    assert sum(graded.scores["release_untouched"].values()) == 0
    assert len(graded.scores) >= len(SUBMISSIONS) + len(SPECIAL)


def test_a_syntax_error_scores_zero_and_the_batch_goes_on(graded):
    assert sum(graded.scores["broken_syntax"].values()) == 0
    # A file that is not a notebook at all is reported, and only its own grading fails.
    assert graded.returncode != 0
    assert f"for student '{NOT_A_NOTEBOOK}'" in graded.log
    assert sum(graded.scores.get(NOT_A_NOTEBOOK, {}).values()) == 0


def test_deleted_or_edited_test_cells_are_restored(graded):
    assert lost_cells(graded, TAMPERED) == set(SUBMISSIONS[TAMPERED_FROM].loses)


@pytest.mark.parametrize("name", sorted(SUBMISSIONS))
def test_submission_loses_exactly_its_target_cells(graded, name):
    lost = lost_cells(graded, name)
    assert lost == set(SUBMISSIONS[name].loses)
    assert all(graded.scores[name][cell] == 0 for cell in lost)


def test_enough_styles_and_mutants_are_graded():
    assert sum(name.startswith("correct_") for name in SUBMISSIONS) >= 6
    assert sum(name.startswith("mutant_") for name in SUBMISSIONS) >= 15


def test_correct_code_never_writes_to_stderr(graded):
    """nbgrader scores a test cell with any stderr output as zero; correct code must not."""
    for student in ["solution"] + [n for n in SUBMISSIONS if n.startswith("correct_")]:
        path = graded.course / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade_id") not in CELLS:
                continue
            for output in cell.get("outputs", []):
                assert output.get("name") != "stderr", (student, output)
                assert output["output_type"] != "error", (student, output)


def hidden_test_lines() -> list[str]:
    """The hidden tests' lines that a learner's feedback could not contain otherwise: found
    nowhere in the released notebook or the solution code, not even as part of a line."""
    public = json.loads(RELEASE.read_text())["cells"] + [
        cell
        for cell in json.loads(SOLUTION.read_text())["cells"]
        if cell["metadata"].get("nbgrader", {}).get("solution")
    ]
    released = " ".join(" ".join("".join(cell["source"]).split()) for cell in public)
    lines = []
    for cell in json.loads(SOLUTION.read_text())["cells"]:
        source = "".join(cell["source"])
        for region in re.findall(r"BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", source, re.S):
            for line in region.splitlines():
                line = " ".join(line.split())
                if len(line) >= 12 and line not in released:
                    lines.append(line)
    return lines


def test_feedback_hides_the_hidden_tests(graded):
    for student in FEEDBACK_FOR:  # nbgrader takes one --student per run
        done = nbgrader(
            ["generate_feedback", ASSIGNMENT, "--force", "--student", student], graded.course
        )
        assert done.returncode == 0, done.stderr
    hidden = hidden_test_lines()
    assert len(hidden) > 20
    for student in FEEDBACK_FOR:
        path = graded.course / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html"
        text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))
        flat = " ".join(text.split())
        assert "HIDDEN TESTS" not in flat
        assert [line for line in hidden if line in flat] == []
        assert "hidden tests ran here" in flat
    # The learner still reads what the hidden tests found.
    mutant = FEEDBACK_FOR[1]
    text = (graded.course / "feedback" / mutant / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    assert "identity where a projection is needed" in html.unescape(text)


def test_exercises_are_up_to_date_with_solutions():
    assert course.release_problems([ASSIGNMENT]) == []


def test_a_stale_exercise_is_noticed(tmp_path):
    stale = tmp_path / ASSIGNMENT
    shutil.copytree(ROOT / "exercises" / ASSIGNMENT, stale)
    notebook = json.loads((stale / f"{NOTEBOOK}.ipynb").read_text())
    test_cell = next(c for c in notebook["cells"] if c.get("id") == "basic_shape")
    test_cell["source"] = ["# an old version of the test\n"]
    (stale / f"{NOTEBOOK}.ipynb").write_text(json.dumps(notebook))
    problems = course.compare_folders(ROOT / "exercises" / ASSIGNMENT, stale, "exercises")
    assert problems == [f"exercises/{NOTEBOOK}.ipynb is out of date with solutions/"]


def test_instructor_workflow_in_a_copy_of_the_course(tmp_path):
    """release, collect, autograde, feedback and grades, as the README tells an instructor."""
    # The copy shares .venv; its setup step must find it up to date, or it would reinstall the
    # package from the copy into the shared environment.
    assert course.STAMP.read_text().strip() == course.inputs_hash(), "run course.py setup first"
    copy = tmp_path / "course"
    copy.mkdir()
    for name in ["course.py", "nbgrader_config.py", "requirements.lock", "pyproject.toml"]:
        shutil.copy(ROOT / name, copy)
    for name in ["solutions", "exercises"]:
        shutil.copytree(ROOT / name, copy / name)
    (copy / ".venv").symlink_to(ROOT / ".venv")

    def run(*args):
        done = subprocess.run(
            [sys.executable, "course.py", *args],
            cwd=copy,
            env=nbgrader_env(copy),
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done.stdout

    assert "release check passed" in run("release")
    inbox = tmp_path / "inbox"
    solved = fill_release(RELEASE, SOLUTION, {})
    mutant = fill_release(RELEASE, SOLUTION, SUBMISSIONS["mutant_relu_before_add"].sections)
    for student, notebook in [
        ("alice", solved),
        ("bob", mutant),
        ("carol", broken_syntax(solved)),
    ]:
        (inbox / student).mkdir(parents=True)
        (inbox / student / f"{NOTEBOOK}.ipynb").write_text(json.dumps(notebook))
    run("collect", ASSIGNMENT, str(inbox))
    assert sorted(p.name for p in (copy / "submitted").iterdir()) == ["alice", "bob", "carol"]
    output = run("autograde", ASSIGNMENT)
    assert re.search(r"alice\s+18\.0 / 18\.0", output), output
    run("feedback", ASSIGNMENT)
    for student in ["alice", "bob", "carol"]:
        assert (copy / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html").exists()
    run("grades")
    with (copy / "grades.csv").open(newline="") as table:
        rows = [row for row in csv.DictReader(table) if row["assignment"] == ASSIGNMENT]
    scores = {row["student_id"]: float(row["score"]) for row in rows}
    assert scores == {"alice": 18.0, "bob": 13.0, "carol": 0.0}
