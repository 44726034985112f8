"""Shared by the grading tests: assignments, submissions as code snippets, notebooks of them.

The assignments under test are found, not listed: every folder ``tests/submissions/<assignment>/``
with submission files whose ``solutions/<assignment>/`` holds at least one notebook
(:func:`assignments`). An assignment that is still being written, with no submissions or no
solution notebook yet, is simply not collected.

A submission file (see ``tests/submissions/<assignment>/README.md``) holds the code of some
solution cells, each after a ``# %% <grade_id>`` line, and a docstring whose ``Loses:`` line
names the test cells that must score zero and whose ``Says:`` line gives a phrase of the
failing message. A notebook for a submission is the released notebook with its solution cells
replaced: by the submission's code where it has some, by the instructor's solution elsewhere;
written answers (manually graded cells) get an answer, so that they count as answered.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUBMISSIONS = Path(__file__).resolve().parent / "submissions"
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
SECTION = re.compile(r"^# %% (\w+)\s*$", re.MULTILINE)
# What a released written-answer cell says; a hand-in that answers it writes something else.
UNANSWERED = "YOUR ANSWER HERE"
KINDS = ("correct", "mutant", "cheat", "broken")  # the prefixes of submission file names


@dataclass
class Submission:
    """One learner's code, and what the grader should make of it."""

    name: str
    sections: dict[str, str]
    loses: frozenset[str]
    says: str = ""
    description: str = ""

    @property
    def kind(self) -> str:
        """``correct``, ``mutant``, ``cheat`` or ``broken``: the file name's prefix."""
        return self.name.split("_", 1)[0]


@dataclass
class Cell:
    """One cell of a solution notebook, as the tests need it."""

    grade_id: str | None
    source: str
    solution: bool = False
    points: float = 0.0
    metadata: dict = field(default_factory=dict)
    cell_type: str = "code"

    @property
    def graded(self) -> bool:
        """Whether the cell is an autograded test cell."""
        return (
            self.cell_type == "code"
            and bool(self.metadata.get("nbgrader", {}).get("grade"))
            and not self.solution
        )

    @property
    def manual(self) -> bool:
        """Whether the cell is graded by hand (a written answer, or code graded by a person)."""
        return bool(self.metadata.get("nbgrader", {}).get("grade")) and self.solution


def read_submission(path: Path) -> Submission:
    """Parse one submission file."""
    text = path.read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(text)) or ""
    # "Loses:" and "Says:" lines; indented lines after them continue their value.
    fields, key = {}, None
    for line in doc.splitlines():
        match = re.match(r"^(Loses|Says):(.*)$", line)
        if match:
            key = match.group(1)
            fields[key] = match.group(2)
        elif key and line.startswith(" ") and line.strip():
            fields[key] += " " + line.strip()
        else:
            key = None
    loses = fields.get("Loses", "").split()
    parts = SECTION.split(text)
    sections = {parts[i]: parts[i + 1].strip() + "\n" for i in range(1, len(parts), 2)}
    return Submission(
        name=path.stem,
        sections=sections,
        loses=frozenset(() if loses == ["nothing"] else loses),
        says=fields.get("Says", "").strip(),
        description=doc.splitlines()[0] if doc else "",
    )


def submissions(assignment: str) -> list[Submission]:
    """Every submission file of ``assignment``, sorted by name."""
    return [read_submission(p) for p in sorted((SUBMISSIONS / assignment).glob("*.py"))]


def read_cells(notebook: Path) -> list[Cell]:
    """The code and markdown cells of a notebook with their nbgrader metadata."""
    data = json.loads(notebook.read_text(encoding="utf-8"))
    cells = []
    for cell in data["cells"]:
        if cell["cell_type"] not in ("code", "markdown"):
            continue
        meta = cell.get("metadata", {})
        nbgrader = meta.get("nbgrader", {})
        source = cell["source"]
        cells.append(
            Cell(
                grade_id=nbgrader.get("grade_id"),
                source="".join(source) if isinstance(source, list) else source,
                solution=bool(nbgrader.get("solution")),
                points=float(nbgrader.get("points", 0)),
                metadata=meta,
                cell_type=cell["cell_type"],
            )
        )
    return cells


def graded_cells(notebook: Path) -> dict[str, float]:
    """Grade id to points of every autograded test cell, in notebook order."""
    return {c.grade_id: c.points for c in read_cells(notebook) if c.graded}


def manual_cells(notebook: Path) -> dict[str, float]:
    """Grade id to points of every manually graded cell, in notebook order."""
    return {c.grade_id: c.points for c in read_cells(notebook) if c.manual}


def written_answer(grade_id: str) -> str:
    """A learner's answer to a written question, different from the released placeholder."""
    return f"My answer to `{grade_id}`, written for the grading tests.\n"


def fill_release(release: Path, solution: Path, sections: dict[str, str]) -> dict:
    """The released notebook with every solution cell filled in, as notebook JSON.

    A cell takes the submission's code if ``sections`` has its grade id, else the instructor's
    solution, so that a submission that only changes one cell loses only what that cell breaks.
    A written answer the instructor's notebook leaves as the placeholder gets
    :func:`written_answer`, so that every hand-in answers every question.
    """
    answers = {c.grade_id: c.source for c in read_cells(solution) if c.solution}
    unknown = set(sections) - set(answers)
    if unknown:
        raise ValueError(f"no solution cell with grade id {sorted(unknown)} in {solution}")
    notebook = json.loads(release.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            source = sections.get(grade_id, answers[grade_id])
            if cell["cell_type"] == "markdown" and UNANSWERED in source:
                source = written_answer(grade_id)
            cell["source"] = source
    return notebook


def run_in_process(
    solution: Path, sections: dict[str, str], release: Path | None = None
) -> dict[str, str]:
    """Run the instructor notebook's cells (hidden tests included) with a submission's code.

    Returns, for each autograded test cell, ``""`` if it passed or the failure's one line.
    This is what nbgrader does, minus the kernel: fast enough for every submission in seconds.
    With ``release``, the learners' notebook, its cells run instead: the visible checks alone,
    what a learner sees before handing in; its solution cells get the submission's code or,
    where it has none, the instructor's solution, as in :func:`fill_release`.
    Without a kernel of their own, the cells change this process: ``NBGRADER_EXECUTION`` is set
    as nbgrader sets it, and the notebooks' set-up cell then puts PyTorch on one thread. Both
    the environment and the thread count are put back whatever happens, or every later test in
    this process would run on one thread, with ``NBGRADER_EXECUTION`` set.
    """
    import torch  # not at the top: the tests that only build notebooks need no torch

    namespace: dict = {"__name__": "__main__"}
    results = {}
    environment, threads = dict(os.environ), torch.get_num_threads()
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # as nbgrader sets it: exploring cells shrink
    try:
        if release is not None:
            answers = {c.grade_id: c.source for c in read_cells(solution) if c.solution}
            sections = {**answers, **sections}
        cells = read_cells(release if release is not None else solution)
        code = [cell for cell in cells if cell.cell_type == "code"]
        _run_cells(code, sections, namespace, results)
    finally:
        # Key by key, never emptied: another thread may be copying the environment meanwhile.
        for name in set(os.environ) - set(environment):
            del os.environ[name]
        os.environ.update(environment)
        torch.set_num_threads(threads)
    return results


def _run_cells(cells, sections, namespace, results):
    for cell in cells:
        source = sections.get(cell.grade_id, cell.source) if cell.solution else cell.source
        try:
            exec(compile(source, f"<cell {cell.grade_id}>", "exec"), namespace)
        except Exception as error:  # a failing cell scores zero, the next one still runs
            if cell.graded:
                results[cell.grade_id] = f"{type(error).__name__}: {error}"
            continue
        if cell.graded:
            results[cell.grade_id] = ""


def broken_syntax(notebook: dict) -> dict:
    """A copy of ``notebook`` whose every solution code cell is a syntax error."""
    broken = copy.deepcopy(notebook)
    for cell in broken["cells"]:
        if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = "def half_written(:\n    return\n"
    return broken


# --- assignments ------------------------------------------------------------------------


# In-process grading results by (assignment, submission's code, visible part only).
_GRADED: dict[tuple, dict[str, str]] = {}


@dataclass
class Assignment:
    """One assignment under test: its notebooks, graded cells and submission files."""

    name: str
    notebooks: list[str]  # the notebooks' names, without .ipynb, sorted

    def __str__(self) -> str:
        return self.name

    def solution(self, notebook: str) -> Path:
        """The instructor's notebook (solutions and hidden tests)."""
        return SOLUTIONS / self.name / f"{notebook}.ipynb"

    def release(self, notebook: str) -> Path:
        """The notebook learners get, as committed in exercises/."""
        return EXERCISES / self.name / f"{notebook}.ipynb"

    @cached_property
    def _cells(self) -> dict[str, list[Cell]]:
        return {notebook: read_cells(self.solution(notebook)) for notebook in self.notebooks}

    @cached_property
    def cells(self) -> dict[str, float]:
        """Grade id to points of every autograded test cell, over all notebooks in order."""
        return {c.grade_id: c.points for cs in self._cells.values() for c in cs if c.graded}

    @cached_property
    def manual(self) -> dict[str, float]:
        """Grade id to points of every manually graded cell, over all notebooks in order."""
        return {c.grade_id: c.points for cs in self._cells.values() for c in cs if c.manual}

    @cached_property
    def notebook_of(self) -> dict[str, str]:
        """The notebook of each grade id (solution, test and written-answer cells)."""
        return {c.grade_id: nb for nb, cs in self._cells.items() for c in cs if c.grade_id}

    def duplicate_grade_ids(self) -> list[str]:
        """Grade ids used in more than one notebook (submission files could not tell them apart)."""
        seen: dict[str, int] = {}
        for cells in self._cells.values():
            for grade_id in {c.grade_id for c in cells if c.grade_id}:
                seen[grade_id] = seen.get(grade_id, 0) + 1
        return sorted(grade_id for grade_id, count in seen.items() if count > 1)

    @cached_property
    def submissions(self) -> dict[str, Submission]:
        """The submission files, by name."""
        return {s.name: s for s in submissions(self.name)}

    def touched(self, sections: dict[str, str]) -> list[str]:
        """The notebooks a submission writes code for (all of them for the instructor's)."""
        named = {self.notebook_of.get(grade_id) for grade_id in sections}
        return [nb for nb in self.notebooks if nb in named] or list(self.notebooks)

    def cells_of(self, notebooks: list[str]) -> dict[str, float]:
        """The autograded test cells of ``notebooks``."""
        return {name: p for name, p in self.cells.items() if self.notebook_of[name] in notebooks}

    def split(self, sections: dict[str, str]) -> dict[str, dict[str, str]]:
        """A submission's sections by notebook, for the notebooks it touches."""
        return {
            nb: {g: code for g, code in sections.items() if self.notebook_of.get(g) == nb}
            for nb in self.touched(sections)
        }

    def fill(self, sections: dict[str, str]) -> dict[str, dict]:
        """The hand-in of a submission: notebook name to notebook JSON, touched notebooks only.

        A notebook the submission writes nothing for would be the instructor's solution,
        graded as such by the ``solution`` hand-in; leaving it out keeps the batch small.
        """
        unknown = set(sections) - set(self.notebook_of)
        if unknown:
            raise ValueError(f"{self.name} has no cell with grade id {sorted(unknown)}")
        return {
            nb: fill_release(self.release(nb), self.solution(nb), part)
            for nb, part in self.split(sections).items()
        }

    def graded(self, sections: dict[str, str], visible: bool = False) -> dict[str, str]:
        """:meth:`run_in_process`, once per test session for each submission: the grading
        tests that go over every mutant (whole cells, visible parts) share the results."""
        key = (self.name, tuple(sorted(sections.items())), visible)
        if key not in _GRADED:
            _GRADED[key] = self.run_in_process(sections, visible)
        return dict(_GRADED[key])

    def run_in_process(self, sections: dict[str, str], visible: bool = False) -> dict[str, str]:
        """:func:`run_in_process` on every notebook the submission touches, results merged;
        ``visible``: the released notebooks' test cells, without the hidden tests."""
        results: dict[str, str] = {}
        for notebook, part in self.split(sections).items():
            release = self.release(notebook) if visible else None
            results.update(run_in_process(self.solution(notebook), part, release))
        return results


def assignments() -> list[Assignment]:
    """The assignments with submission files and at least one solution notebook, by name."""
    found = []
    folders = sorted(SUBMISSIONS.iterdir()) if SUBMISSIONS.is_dir() else []
    for folder in folders:
        notebooks = sorted(p.stem for p in (SOLUTIONS / folder.name).glob("*.ipynb"))
        if folder.is_dir() and any(folder.glob("*.py")) and notebooks:
            found.append(Assignment(folder.name, notebooks))
    return found


def hidden_test_lines(assignment: Assignment, notebook: str) -> list[str]:
    """The hidden tests' lines that a learner's feedback could not contain otherwise: found
    nowhere in the released notebook or the solution code, not even as part of a line."""
    solution = json.loads(assignment.solution(notebook).read_text())["cells"]
    public = json.loads(assignment.release(notebook).read_text())["cells"] + [
        cell for cell in solution if cell["metadata"].get("nbgrader", {}).get("solution")
    ]
    released = " ".join(" ".join("".join(cell["source"]).split()) for cell in public)
    lines = []
    for cell in solution:
        source = "".join(cell["source"])
        for region in re.findall(r"BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", source, re.S):
            for line in region.splitlines():
                line = " ".join(line.split())
                if len(line) >= 12 and line not in released:
                    lines.append(line)
    return lines


def course_copy(course: Path, assignment: str, config: str) -> Path:
    """A copy of the course in the new folder ``course`` with one assignment's solutions and
    exercises, this checkout's environment linked, and ``config`` (lines of nbgrader
    configuration) appended to its ``nbgrader_config.py``; returns ``course``."""
    course.mkdir()
    for name in ["course.py", "nbgrader_config.py", "requirements.lock", "pyproject.toml"]:
        shutil.copy(ROOT / name, course)
    with (course / "nbgrader_config.py").open("a") as file:
        file.write(f"\n{config}")
    for folder in ["solutions", "exercises"]:
        shutil.copytree(ROOT / folder / assignment, course / folder / assignment)
    (course / ".venv").symlink_to(ROOT / ".venv")
    return course


# What a copy of the whole course holds: grading must leave every one of these files alone.
COURSE_FILES = ["course.py", "nbgrader_config.py", "requirements.lock", "pyproject.toml"]
COURSE_FOLDERS = ["solutions", "exercises", "resnet_ref", "autograder"]


def whole_course_copy(course: Path, config: str) -> Path:
    """A copy of the whole course in the new folder ``course``, with its own ``resnet_ref`` and
    ``autograder`` (which the hostile tests check that grading leaves alone), this checkout's
    environment linked, and ``config`` appended to its ``nbgrader_config.py``; returns
    ``course``."""
    course.mkdir()
    for name in COURSE_FILES:
        shutil.copy(ROOT / name, course)
    for name in COURSE_FOLDERS:
        shutil.copytree(ROOT / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
    (course / ".venv").symlink_to(ROOT / ".venv")
    with (course / "nbgrader_config.py").open("a") as file:
        file.write(f"\n{config}")
    return course


def course_py(
    course: Path, *args: str, env: dict | None = None, timeout: float = 900
) -> subprocess.CompletedProcess:
    """``python3 course.py ARGS`` in the course folder ``course``, as an instructor runs it,
    with this process's environment unless ``env`` is given."""
    return subprocess.run(
        [sys.executable, "course.py", *args],
        cwd=course,
        env=dict(os.environ) if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
