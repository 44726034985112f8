"""The graded assignments end to end, graded by the real ``nbgrader autograde``.

Every assignment with a folder ``tests/submissions/<assignment>/`` and a solution notebook is
graded (an assignment still being written is not collected). Its submissions become notebooks
(the released notebook with the solution cells filled in, see ``grading_support``) and ONE
``nbgrader autograde`` run per assignment grades them all, in a temporary copy of the course,
together with the instructor's solution and the untouched release. The runs of different
assignments go on in parallel, one per CPU core (each in its own copy of the course, since a
gradebook is one SQLite file), and only the assignments that the selected tests need are
graded. For each assignment the tests check that:

1. the solution scores full marks on every autograded cell, and its written answers are left
   for manual grading (``needs_manual_grade`` in the gradebook, no automatic score);
2. the untouched release scores zero autograded points, and the batch goes on after it;
3. every ``correct_*`` submission graded scores full marks, without writing to stderr;
4. every ``mutant_*`` (and ``cheat_*``, ``broken_*``) graded loses exactly the cells its
   docstring's ``Loses:`` line names, scoring zero there and full marks elsewhere, and the
   failure's message in the graded notebook contains its ``Says:`` phrase.

Which submissions nbgrader grades (:func:`chosen`): all of ``a2_blocks`` (the issue's six
correct styles and fifteen mutants are blocks, and a2 carries the extra cases below); for the
other assignments the solution, the untouched release, the first two ``correct_*`` styles by
name and every ``mutant_*``, ``cheat_*`` and ``broken_*``. A notebook costs a kernel start and
a torch import (seconds on CI's two cores), so the batch stays within :data:`NOTEBOOK_BUDGET`
notebooks; the further correct styles are graded in-process by ``test_grading_helpers.py``,
which runs every submission of every assignment. A hand-in holds only the notebooks its
submission writes code for (the others would be the instructor's, graded as ``solution``).

Once, on ``a2_blocks``: a syntax error, a file that is not a notebook, a learner who deleted or
emptied test cells, feedback without the hidden tests, a stale release, and the README's
instructor workflow (``course.py release``, ``collect``, ``autograde``, ``feedback``,
``grades``) in another copy of the course.

The score tables (submission, score per autograded cell, total, written answers) are printed
in pytest's terminal summary, one per assignment, with the time of its autograde run. The tests
that need no grading come first: they run while the autograde runs go on in the background.
"""

import csv
import html
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from grading_support import (
    ROOT,
    Assignment,
    Submission,
    assignments,
    broken_syntax,
    fill_release,
    hidden_test_lines,
)
from nbgrader.api import Gradebook

from autograder.course_folder import CourseFolder
from autograder.release import compare_folders, release_problems

pytestmark = pytest.mark.slow

ASSIGNMENTS = {a.name: a for a in assignments()}
A2 = "a2_blocks"  # where the cases that need running only once are run
NOTEBOOK_BUDGET = 94  # notebooks autograded per test run, all assignments together
CORRECT_STYLES = 2  # correct styles graded by nbgrader, beyond a2 (in-process: all of them)
WORKERS = max(1, len(os.sched_getaffinity(0)))  # autograde runs at a time

# Hand-ins made here rather than read from tests/submissions.
SOLUTION, RELEASE = "solution", "release_untouched"
BROKEN_SYNTAX = "broken_syntax"  # a syntax error cannot lint as a submission file
NOT_A_NOTEBOOK = "broken_not_a_notebook"
# A wrong solution whose failing test cells were deleted or emptied: nbgrader must restore them.
TAMPERED = "cheat_deletes_and_edits_tests"
TAMPERED_FROM = "mutant_no_final_relu"
FEEDBACK_FOR = [SOLUTION, "mutant_identity_where_projection_needed"]


def chosen(assignment: Assignment) -> list[Submission]:
    """The submission files that nbgrader grades (see the module's docstring)."""
    files = list(assignment.submissions.values())
    if assignment.name == A2:
        return files
    styles = [s for s in files if s.kind == "correct"][:CORRECT_STYLES]
    return [s for s in files if s.kind != "correct" or s in styles]


@dataclass
class HandIn:
    """One student's hand-in: its notebooks, and the autograded cells it must lose."""

    loses: frozenset[str]
    sections: dict[str, str] = field(default_factory=dict)
    says: str = ""
    make: Callable[[Assignment], dict] | None = None  # notebooks made otherwise than by filling

    def notebooks(self, assignment: Assignment) -> dict[str, dict | str]:
        """Notebook name to notebook JSON (or raw text), as the student hands it in."""
        return self.make(assignment) if self.make else assignment.fill(self.sections)


def _release(assignment: Assignment) -> dict:
    return {nb: json.loads(assignment.release(nb).read_text()) for nb in assignment.notebooks}


def _broken_syntax(assignment: Assignment) -> dict:
    return {nb: broken_syntax(notebook) for nb, notebook in assignment.fill({}).items()}


def _not_a_notebook(assignment: Assignment) -> dict:
    return {nb: "{ this is not a notebook" for nb in assignment.notebooks}


def _tampered(assignment: Assignment) -> dict:
    """The mutant's notebook with the test cells it fails deleted or replaced by ``pass``."""
    submission = assignment.submissions[TAMPERED_FROM]
    (name, notebook), *_ = assignment.fill(submission.sections).items()
    failing = sorted(submission.loses)
    deleted, emptied = set(failing[::2]), set(failing[1::2])
    notebook["cells"] = [c for c in notebook["cells"] if c.get("id") not in deleted]
    for cell in notebook["cells"]:
        if cell.get("id") in emptied:
            cell["source"] = "pass  # no test here any more"
    return {name: notebook}


def hand_ins(assignment: Assignment) -> dict[str, HandIn]:
    """Every hand-in that nbgrader grades for ``assignment``, by student name."""
    everything = frozenset(assignment.cells)
    planned = {
        SOLUTION: HandIn(frozenset()),
        RELEASE: HandIn(everything, make=_release),
    }
    if assignment.name == A2:
        mutant = assignment.submissions[TAMPERED_FROM]
        planned[BROKEN_SYNTAX] = HandIn(everything, make=_broken_syntax)
        planned[NOT_A_NOTEBOOK] = HandIn(everything, make=_not_a_notebook)
        planned[TAMPERED] = HandIn(mutant.loses, mutant.sections, make=_tampered)
    for submission in chosen(assignment):
        planned[submission.name] = HandIn(submission.loses, submission.sections, submission.says)
    return planned


PLANS = {name: hand_ins(assignment) for name, assignment in ASSIGNMENTS.items()}
GRADED_FILES = [
    pytest.param(name, student, id=f"{name}/{student}")
    for name, assignment in ASSIGNMENTS.items()
    for student in PLANS[name]
    if student in assignment.submissions
]


def notebook_count(name: str) -> int:
    """How many notebooks the autograde run of assignment ``name`` grades."""
    assignment = ASSIGNMENTS[name]
    return sum(len(assignment.touched(h.sections)) for h in PLANS[name].values())


def nbgrader_env(root: Path) -> dict:
    """The environment for nbgrader: the venv's bin on PATH (nbgrader runs ``alembic`` from
    it), and ``root`` on PYTHONPATH so that kernels import that checkout's resnet_ref."""
    venv = ROOT / ".venv"
    path = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    return dict(os.environ, VIRTUAL_ENV=str(venv), PATH=path, PYTHONPATH=str(root))


def nbgrader(args: list[str], cwd: Path, timeout: float = 3600, env=None):
    """Run ``nbgrader ARGS`` in the course folder ``cwd``."""
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "nbgrader"), *args],
        cwd=cwd,
        env=env or nbgrader_env(ROOT),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Manual:
    """What the gradebook holds for a manually graded cell after autograding."""

    auto_score: float | None
    needs_manual_grade: bool


@dataclass
class Graded:
    """What one nbgrader autograde run made of an assignment's hand-ins."""

    assignment: Assignment
    course: Path
    scores: dict[str, dict[str, float]]  # student -> autograded cell -> score
    manual: dict[str, dict[str, Manual]]  # student -> manually graded cell -> gradebook state
    seconds: float
    notebooks: int
    returncode: int
    log: str

    def outputs(self, student: str) -> dict[str, list[dict]]:
        """The outputs of each autograded cell in ``student``'s graded notebooks."""
        found = {}
        folder = self.course / "autograded" / student / self.assignment.name
        for path in sorted(folder.glob("*.ipynb")):
            for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
                grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
                if grade_id in self.assignment.cells:
                    found[grade_id] = cell.get("outputs", [])
        return found

    def lost(self, student: str) -> set[str]:
        """The autograded cells where ``student`` scored less than full marks."""
        assert student in self.scores, f"{student} was not graded:\n{self.log[-3000:]}"
        cells = self.scores[student]
        expected = self.assignment.touched(PLANS[self.assignment.name][student].sections)
        assert set(cells) == set(self.assignment.cells_of(expected))
        return {name for name, score in cells.items() if score < self.assignment.cells[name]}


def read_gradebook(course_dir: Path, assignment: Assignment) -> tuple[dict, dict]:
    """Each student's auto score per autograded cell, and the state of the manual cells, for
    the notebooks the student handed in."""
    scores, manual = {}, {}
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        for student in gradebook.students:
            folder = course_dir / "submitted" / student.id / assignment.name
            for path in sorted(folder.glob("*.ipynb")):
                try:
                    notebook = gradebook.find_submission_notebook(
                        path.stem, assignment.name, student.id
                    )
                except Exception:  # a file nbgrader could not read has no entry
                    continue
                for grade in notebook.grades:
                    if grade.name in assignment.cells:
                        scores.setdefault(student.id, {})[grade.name] = grade.auto_score or 0.0
                    elif grade.name in assignment.manual:
                        manual.setdefault(student.id, {})[grade.name] = Manual(
                            grade.auto_score, grade.needs_manual_grade
                        )
    return scores, manual


def write_hand_in(course_dir: Path, name: str, student: str, notebooks: dict) -> None:
    """Put a student's notebooks (JSON or raw text) where nbgrader looks for them."""
    folder = course_dir / "submitted" / student / name
    folder.mkdir(parents=True)
    for notebook, content in notebooks.items():
        text = content if isinstance(content, str) else json.dumps(content, indent=1)
        (folder / f"{notebook}.ipynb").write_text(text, encoding="utf-8")


def grade(assignment: Assignment, course_dir: Path) -> Graded:
    """Grade every hand-in of ``assignment`` with one ``nbgrader autograde`` run."""
    course_dir.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course_dir)
    shutil.copytree(
        assignment.solution(assignment.notebooks[0]).parent,
        course_dir / "solutions" / assignment.name,
        ignore=shutil.ignore_patterns("__pycache__", "*.pct.py"),
    )
    env = nbgrader_env(ROOT)
    env["OMP_NUM_THREADS"] = "1"  # one core per autograde run; the runs go on in parallel
    done = nbgrader(["generate_assignment", assignment.name, "--force"], course_dir, env=env)
    assert done.returncode == 0, done.stderr
    plan = PLANS[assignment.name]
    for student, hand_in in plan.items():
        write_hand_in(course_dir, assignment.name, student, hand_in.notebooks(assignment))
    start = time.perf_counter()
    done = nbgrader(["autograde", assignment.name, "--force"], course_dir, env=env)
    seconds = time.perf_counter() - start
    scores, manual = read_gradebook(course_dir, assignment)
    return Graded(
        assignment=assignment,
        course=course_dir,
        scores=scores,
        manual=manual,
        seconds=seconds,
        notebooks=notebook_count(assignment.name),
        returncode=done.returncode,
        log=done.stdout + done.stderr,
    )


def _order(name: str) -> tuple:
    kinds = [SOLUTION, "correct", "mutant", "cheat", "broken", "release"]
    prefix = next((i for i, k in enumerate(kinds) if name.startswith(k)), len(kinds))
    return (prefix, name)


def _manual_column(cells: dict[str, Manual]) -> str:
    """'to grade' when every written answer waits for a person, '0' when none was answered."""
    if cells and all(m.needs_manual_grade and m.auto_score is None for m in cells.values()):
        return "to grade"
    if cells and all(m.auto_score == 0 and not m.needs_manual_grade for m in cells.values()):
        return "0"
    return " ".join("?" if m.auto_score is None else f"{m.auto_score:g}" for m in cells.values())


def _wrap(title: str, items: list[str]) -> list[str]:
    """``title`` and ``items`` in lines of at most 100 characters, never splitting an item."""
    lines, line = [], title
    for item in items:
        if len(line) + 2 + len(item) > 100:
            lines.append(line)
            line = "   "
        line += "  " + item
    return [*lines, line]


def score_table(graded: Graded) -> list[str]:
    """Submission, score per autograded cell, total (and written answers): one line each."""
    a = graded.assignment
    names = list(a.cells)
    lines = [
        f"one nbgrader autograde run: {graded.notebooks} notebooks in {graded.seconds:.0f} s"
        f" ({graded.seconds / graded.notebooks:.1f} s per notebook)",
        *_wrap("autograded cells:", [f"{i + 1}={n} ({a.cells[n]:g})" for i, n in enumerate(names)]),
    ]
    if a.manual:
        lines += _wrap(
            "graded by hand ('to grade': waiting in formgrader; 0: unanswered):",
            [f"{name} ({points:g})" for name, points in a.manual.items()],
        )
    width = max([len(s) for s in graded.scores] + [10]) + 2
    lines.append(
        f"{'submission':<{width}}"
        + "".join(f"{i + 1:>4}" for i in range(len(names)))
        + "    total"
        + ("  by hand" if a.manual else "")
    )
    for student in sorted(graded.scores, key=_order):
        cells = graded.scores[student]
        row = "".join(f"{cells[name]:>4g}" if name in cells else "   -" for name in names)
        total = f"{sum(cells.values()):g}/{sum(a.cells.values()):g}"
        by_hand = f"  {_manual_column(graded.manual.get(student, {}))}" if a.manual else ""
        lines.append(f"{student:<{width}}{row}  {total:>7}{by_hand}")
    return lines


class ScoreTables:
    """A pytest plugin that prints the score tables in the terminal summary (CI logs show them)."""

    def __init__(self):
        self.tables: dict[str, list[str]] = {}

    def pytest_terminal_summary(self, terminalreporter):
        """Print each assignment's table after the test results."""
        for name in sorted(self.tables):
            terminalreporter.section(f"{name}: scores from nbgrader autograde")
            for line in self.tables[name]:
                terminalreporter.write_line(line)


class Grader:
    """Grades the assignments in the background, ``WORKERS`` autograde runs at a time."""

    def __init__(self, names: list[str], folder: Path, tables: ScoreTables):
        self.folder, self.tables = folder, tables
        self.pool = ThreadPoolExecutor(max_workers=min(WORKERS, max(1, len(names))))
        # The biggest batches first, so that the runs finish close together.
        order = sorted(names, key=notebook_count, reverse=True)
        self.futures: dict[str, Future] = {
            name: self.pool.submit(self._grade, name) for name in order
        }

    def _grade(self, name: str) -> Graded:
        try:
            graded = grade(ASSIGNMENTS[name], self.folder / name)
        except BaseException as error:
            self.tables.tables[name] = [f"not graded: {type(error).__name__}: {error}"]
            raise
        self.tables.tables[name] = score_table(graded)
        return graded

    def __getitem__(self, name: str) -> Graded:
        return self.futures[name].result()


def needed(items) -> list[str]:
    """The assignments the selected tests of this module grade (``-k a1`` grades only a1)."""
    names = set()
    for item in items:
        function = getattr(item, "function", None)
        if getattr(item, "module", None) is not sys.modules[__name__] or function is None:
            continue
        if "grader" not in inspect.signature(function).parameters:
            continue
        callspec = getattr(item, "callspec", None)
        names.add(callspec.params.get("assignment", A2) if callspec else A2)
    return sorted(names)


@pytest.fixture(scope="module", autouse=True)
def grader(tmp_path_factory, request) -> Grader:
    """Start grading every assignment the selected tests need; tests wait for theirs.

    It starts with the module's first test, so that the tests that need no grading (they come
    first) run while the autograde runs go on. Under pytest-xdist each worker would grade
    everything: run this module without ``-n``.
    """
    tables = ScoreTables()
    request.config.pluginmanager.register(tables, "grading-score-tables")
    running = Grader(needed(request.session.items), tmp_path_factory.mktemp("courses"), tables)
    yield running
    running.pool.shutdown(wait=True, cancel_futures=True)


# --- first, while the assignments are graded in the background ----------------------------


def test_the_batch_stays_within_the_notebook_budget():
    """More notebooks cost CI minutes: grade fewer by nbgrader in chosen() (the in-process
    tests still run every submission), or raise the budget knowingly."""
    counts = {name: notebook_count(name) for name in ASSIGNMENTS}
    assert sum(counts.values()) <= NOTEBOOK_BUDGET, counts


def test_enough_styles_and_mutants_are_graded():
    graded = PLANS[A2]
    assert sum(name.startswith("correct_") for name in graded) >= 6
    assert sum(name.startswith("mutant_") for name in graded) >= 15


def test_exercises_are_up_to_date_with_solutions():
    assert release_problems(CourseFolder(ROOT)) == []


def test_a_stale_exercise_is_noticed(tmp_path):
    (notebook,) = ASSIGNMENTS[A2].notebooks
    stale = tmp_path / A2
    shutil.copytree(ROOT / "exercises" / A2, stale)
    content = json.loads((stale / f"{notebook}.ipynb").read_text())
    test_cell = next(c for c in content["cells"] if c.get("id") == "basic_shape")
    test_cell["source"] = ["# an old version of the test\n"]
    (stale / f"{notebook}.ipynb").write_text(json.dumps(content))
    problems = compare_folders(ROOT / "exercises" / A2, stale, "exercises")
    assert problems == [f"exercises/{notebook}.ipynb is out of date with solutions/"]


def test_instructor_workflow_in_a_copy_of_the_course(tmp_path):
    """release, collect, autograde, feedback and grades, as the README tells an instructor."""
    # The copy shares .venv; its setup step must find it up to date, or it would reinstall the
    # package from the copy into the shared environment: so set up here first (or find it done).
    done = subprocess.run([sys.executable, "course.py", "setup"], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr
    assignment = ASSIGNMENTS[A2]
    (notebook,) = assignment.notebooks
    release, solution = assignment.release(notebook), assignment.solution(notebook)
    # What each student should get, from the points in the notebook's nbgrader metadata:
    # written answers wait for a person, so the solution scores the autograded points only.
    autograded = sum(assignment.cells.values())
    full = autograded + sum(assignment.manual.values())
    relu_before_add = assignment.submissions["mutant_relu_before_add"]
    expected = {
        "alice": autograded,
        "bob": autograded - sum(assignment.cells[cell] for cell in relu_before_add.loses),
        "carol": 0.0,
    }
    alice_graded = rf"alice\s+graded\s+{expected['alice']:.1f} / {full:g}\b"
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
        return done.stdout + done.stderr

    released = run("release", A2)
    assert "already set up" in released and "release check passed" in released, released
    inbox = tmp_path / "inbox"
    solved = fill_release(release, solution, {})
    mutant = fill_release(release, solution, relu_before_add.sections)
    for student, content in [
        ("alice", solved),
        ("bob", mutant),
        ("carol", broken_syntax(solved)),
    ]:
        (inbox / student).mkdir(parents=True)
        (inbox / student / f"{notebook}.ipynb").write_text(json.dumps(content))
    run("collect", A2, str(inbox))
    assert sorted(p.name for p in (copy / "submitted").iterdir()) == ["alice", "bob", "carol"]
    output = run("autograde", A2)
    assert re.search(alice_graded, output), output
    # The solution ran once, for the referee's record, which the next autograde reads back.
    assert output.count("recording what the solution's test cells check") == 1, output
    assert len(list((copy / ".referee").glob(f"{A2}-{notebook}-*.json"))) == 1
    again = run("autograde", A2, "--student", "alice")
    assert re.search(alice_graded, again), again
    assert "recording what the solution's test cells check" not in again, again
    run("feedback", A2)
    for student in ["alice", "bob", "carol"]:
        assert (copy / "feedback" / student / A2 / f"{notebook}.html").exists()
    run("grades")
    with (copy / "grades.csv").open(newline="") as table:
        rows = [row for row in csv.DictReader(table) if row["assignment"] == A2]
    scores = {row["student_id"]: float(row["score"]) for row in rows}
    assert scores == expected


# --- every assignment ---------------------------------------------------------------------


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_scores_full_marks(grader, assignment):
    assert grader[assignment].lost(SOLUTION) == set()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_scores_zero_without_stopping_the_batch(grader, assignment):
    graded = grader[assignment]
    assert graded.lost(RELEASE) == set(graded.assignment.cells)
    assert sum(graded.scores[RELEASE].values()) == 0
    assert set(PLANS[assignment]) - {NOT_A_NOTEBOOK} <= set(graded.scores)


@pytest.mark.parametrize("assignment", [name for name, a in ASSIGNMENTS.items() if a.manual])
def test_written_answers_wait_for_manual_grading(grader, assignment):
    """Answered: no automatic score, flagged for formgrader. Unanswered: zero, nothing to do."""
    graded = grader[assignment]
    manual = set(graded.assignment.manual)
    answered = [SOLUTION] + [s for s in PLANS[assignment] if s.startswith("correct_")]
    for student in answered:
        cells = graded.manual[student]
        assert set(cells) == manual
        assert all(m.needs_manual_grade and m.auto_score is None for m in cells.values()), cells
    release = graded.manual[RELEASE]
    assert set(release) == manual
    assert all(m.auto_score == 0 and not m.needs_manual_grade for m in release.values()), release


@pytest.mark.parametrize("assignment, student", GRADED_FILES)
def test_submission_loses_exactly_its_target_cells(grader, assignment, student):
    graded = grader[assignment]
    hand_in = PLANS[assignment][student]
    lost = graded.lost(student)
    assert lost == set(hand_in.loses)
    assert all(graded.scores[student][cell] == 0 for cell in lost)
    if hand_in.says:
        outputs = graded.outputs(student)
        errors = [
            f"{o['ename']}: {o['evalue']}"
            for cell in lost
            for o in outputs[cell]
            if o["output_type"] == "error"
        ]
        assert any(hand_in.says in error for error in errors), errors


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_correct_code_never_writes_to_stderr(grader, assignment):
    """nbgrader scores a test cell with any stderr output as zero; correct code must not."""
    graded = grader[assignment]
    for student in [SOLUTION] + [s for s in PLANS[assignment] if s.startswith("correct_")]:
        for cell, outputs in graded.outputs(student).items():
            for output in outputs:
                assert output.get("name") != "stderr", (student, cell, output)
                assert output["output_type"] != "error", (student, cell, output)


# --- once, on a2_blocks ---------------------------------------------------------------------


def test_a_syntax_error_scores_zero_and_the_batch_goes_on(grader):
    graded = grader[A2]
    everything = set(graded.assignment.cells)
    assert graded.lost(BROKEN_SYNTAX) == everything
    assert sum(graded.scores[BROKEN_SYNTAX].values()) == 0
    # A file that is not a notebook at all is reported, and only its own grading fails; the
    # gradebook still holds its submission, scored zero (lost() fails if it holds none).
    assert graded.returncode != 0
    assert f"for student '{NOT_A_NOTEBOOK}'" in graded.log
    assert graded.lost(NOT_A_NOTEBOOK) == everything
    assert sum(graded.scores[NOT_A_NOTEBOOK].values()) == 0
    assert set(PLANS[A2]) <= set(graded.scores)


def test_deleted_or_edited_test_cells_are_restored(grader):
    graded = grader[A2]
    assert graded.lost(TAMPERED) == set(graded.assignment.submissions[TAMPERED_FROM].loses)


def test_feedback_hides_the_hidden_tests(grader):
    graded = grader[A2]
    (notebook,) = graded.assignment.notebooks
    for student in FEEDBACK_FOR:  # nbgrader takes one --student per run
        done = nbgrader(["generate_feedback", A2, "--force", "--student", student], graded.course)
        assert done.returncode == 0, done.stderr
    hidden = hidden_test_lines(graded.assignment, notebook)
    assert len(hidden) > 20
    for student in FEEDBACK_FOR:
        path = graded.course / "feedback" / student / A2 / f"{notebook}.html"
        text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))
        flat = " ".join(text.split())
        assert "HIDDEN TESTS" not in flat
        assert [line for line in hidden if line in flat] == []
        assert "hidden tests ran here" in flat
    # The learner still reads what the hidden tests found.
    mutant = FEEDBACK_FOR[1]
    text = (graded.course / "feedback" / mutant / A2 / f"{notebook}.html").read_text()
    assert "identity where a projection is needed" in html.unescape(text)
