"""Shared by the grading tests: submissions as code snippets, and notebooks built from them.

A submission file (see ``tests/submissions/<assignment>/README.md``) holds the code of some
solution cells, each after a ``# %% <grade_id>`` line, and a docstring whose ``Loses:`` line
names the test cells that must score zero and whose ``Says:`` line gives a phrase of the
failing message. A notebook for a submission is the released notebook with its solution cells
replaced: by the submission's code where it has some, by the instructor's solution elsewhere.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUBMISSIONS = Path(__file__).resolve().parent / "submissions"
SECTION = re.compile(r"^# %% (\w+)\s*$", re.MULTILINE)


@dataclass
class Submission:
    """One learner's code, and what the grader should make of it."""

    name: str
    sections: dict[str, str]
    loses: frozenset[str]
    says: str = ""
    description: str = ""


@dataclass
class Cell:
    """One cell of a solution notebook, as the tests need it."""

    grade_id: str | None
    source: str
    solution: bool = False
    points: float = 0.0
    metadata: dict = field(default_factory=dict)

    @property
    def graded(self) -> bool:
        """Whether the cell is an autograded test cell."""
        return bool(self.metadata.get("nbgrader", {}).get("grade")) and not self.solution


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
    """The cells of a notebook with their nbgrader metadata."""
    data = json.loads(notebook.read_text(encoding="utf-8"))
    cells = []
    for cell in data["cells"]:
        if cell["cell_type"] != "code":
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
            )
        )
    return cells


def graded_cells(notebook: Path) -> dict[str, float]:
    """Grade id to points of every autograded test cell, in notebook order."""
    return {c.grade_id: c.points for c in read_cells(notebook) if c.graded}


def fill_release(release: Path, solution: Path, sections: dict[str, str]) -> dict:
    """The released notebook with every solution cell filled in, as notebook JSON.

    A cell takes the submission's code if ``sections`` has its grade id, else the instructor's
    solution, so that a submission that only changes one cell loses only what that cell breaks.
    """
    answers = {c.grade_id: c.source for c in read_cells(solution) if c.solution}
    unknown = set(sections) - set(answers)
    if unknown:
        raise ValueError(f"no solution cell with grade id {sorted(unknown)} in {solution}")
    notebook = json.loads(release.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = sections.get(grade_id, answers[grade_id])
    return notebook


def run_in_process(solution: Path, sections: dict[str, str]) -> dict[str, str]:
    """Run the instructor notebook's cells (hidden tests included) with a submission's code.

    Returns, for each autograded test cell, ``""`` if it passed or the failure's one line.
    This is what nbgrader does, minus the kernel: fast enough for every submission in seconds.
    """
    namespace: dict = {"__name__": "__main__"}
    results = {}
    previous = os.environ.get("NBGRADER_EXECUTION")
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # as nbgrader sets it: exploring cells shrink
    try:
        _run_cells(read_cells(solution), sections, namespace, results)
    finally:
        if previous is None:
            del os.environ["NBGRADER_EXECUTION"]
        else:
            os.environ["NBGRADER_EXECUTION"] = previous
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
    """A copy of ``notebook`` whose every solution cell is a syntax error."""
    broken = copy.deepcopy(notebook)
    for cell in broken["cells"]:
        if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = "def half_written(:\n    return\n"
    return broken
