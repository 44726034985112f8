"""The instructor notebooks, their text sources, and the points their text states.

Each instructor notebook ``solutions/<assignment>/<name>.ipynb`` is generated from
``<name>.pct.py``, its source in jupytext's percent format, which is what reviewers read and
edit. Generating the same source twice gives the same file: no outputs, and cell ids that are
the nbgrader grade ids where there are some and ``cell-<index>`` elsewhere.

A notebook tells learners its points twice in its text: a table ``| part | what | points |``
and a first line ``# [N points] ...`` in each test cell. :func:`points_problems` checks both
against the ``points`` of the cells' nbgrader metadata, which is what nbgrader grades with.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import jupytext

from .course_folder import TEXT_NOTEBOOK, CourseFolder

POINTS_TABLE = "|part|what|points|"  # the table's header line, spaces removed
PART_HEADING = re.compile(r"^#+ Part (\d+)\b", re.MULTILINE)  # "## Part 2: ..." starts part 2
POINTS_COMMENT = re.compile(r"# \[(\d+) points?\]")  # a test cell's first line


def notebook_json(source: Path) -> str:
    """The notebook of a percent-format source, as the text of its ``.ipynb`` file."""
    # As nbformat writes it (sources as lists of lines), then made stable.
    notebook = json.loads(jupytext.writes(jupytext.read(source, fmt="py:percent"), fmt="ipynb"))
    notebook["metadata"].pop("jupytext", None)
    for index, cell in enumerate(notebook["cells"]):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        cell["id"] = grade_id or f"cell-{index}"
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def target_of(source: Path) -> Path:
    """``<name>.ipynb`` beside ``<name>.pct.py``."""
    return source.with_name(source.name[: -len(TEXT_NOTEBOOK)] + ".ipynb")


def sources(folder: CourseFolder, assignments: list[str]) -> list[Path]:
    """The text sources of the instructor notebooks of ``assignments``."""
    return sorted(
        source
        for assignment in assignments
        for source in (folder.solutions / assignment).glob("*" + TEXT_NOTEBOOK)
    )


def write_notebooks(folder: CourseFolder, assignments: list[str]) -> list[Path]:
    """Write each notebook of ``assignments`` that differs from its source; return those written."""
    written = []
    for source in sources(folder, assignments):
        target, wanted = target_of(source), notebook_json(source)
        if not target.exists() or target.read_text(encoding="utf-8") != wanted:
            target.write_text(wanted, encoding="utf-8")
            written.append(target)
    return written


def edited_notebooks(folder: CourseFolder, assignments: list[str]) -> list[str]:
    """One line per notebook of ``assignments`` that differs from what its source generates and
    was saved after it: an edit made in the ``.ipynb`` (in JupyterLab, say), which writing the
    notebook from its source would throw away."""
    problems = []
    for source in sources(folder, assignments):
        target = target_of(source)
        if not target.exists() or target.stat().st_mtime_ns <= source.stat().st_mtime_ns:
            continue
        if target.read_text(encoding="utf-8") != notebook_json(source):
            relative = target.relative_to(folder.root)
            problems.append(
                f"{relative} was changed after {source.name} and differs from it: release would"
                f" overwrite it. Carry the change into the source (.venv/bin/jupytext --to"
                f" py:percent -o {source.relative_to(folder.root)} {relative}, then check the"
                f" diff), or delete {target.name} to let release write it again"
            )
    return problems


def stale_notebooks(folder: CourseFolder, assignments: list[str]) -> list[str]:
    """One line per notebook of ``assignments`` that is not what its source generates."""
    problems = []
    for source in sources(folder, assignments):
        target = target_of(source)
        if not target.exists() or target.read_text(encoding="utf-8") != notebook_json(source):
            relative = target.relative_to(folder.root)
            problems.append(f"{relative} differs from {source.name}: run python3 course.py release")
    return problems


def points_problems(folder: CourseFolder, assignments: list[str]) -> list[str]:
    """One line per place where a notebook of ``assignments`` states other points than its cells."""
    problems = []
    for assignment in assignments:
        for path in sorted((folder.solutions / assignment).glob("*.ipynb")):
            notebook = json.loads(path.read_text(encoding="utf-8"))
            name = path.relative_to(folder.root)
            problems += [f"{name}: {line}" for line in points_disagreements(notebook)]
    return problems


def points_disagreements(notebook: dict) -> list[str]:
    """Where the notebook's points table or test cells' first lines disagree with its metadata.

    A row of the table gives the points of a part: of the graded cells (tests and written
    answers) from its ``## Part N`` heading to the next one. The row with no part number is the
    total: of every graded cell.
    """
    found, table, part, actual = [], {}, None, {}
    for cell in notebook["cells"]:
        text = "".join(cell["source"])
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "markdown":
            table = table or points_table(text)
            headings = PART_HEADING.findall(text)
            if headings:
                part = headings[-1]
        if not nbgrader.get("grade"):
            continue
        points = nbgrader.get("points", 0)
        actual[part] = actual.get(part, 0) + points
        if cell["cell_type"] == "code" and not nbgrader.get("solution"):
            first = POINTS_COMMENT.match(text)
            where = f"test cell {nbgrader.get('grade_id')}"
            if not first:
                found.append(
                    f"{where}: no '# [N points]' on its first line, {points} in its metadata"
                )
            elif int(first[1]) != points:
                found.append(f"{where}: '{first[0]}' on its first line, {points} in its metadata")
    if not table:
        return found + (["no points table (| part | what | points |)"] if actual else [])
    for row, written in table.items():
        where = f"part {row}" if row else "total"
        wanted = actual.get(row, 0) if row else sum(actual.values())
        if points_written(written) != wanted:
            found.append(f"{where}: {written} in the points table, {wanted} in the cells' metadata")
    for row in sorted(actual.keys() - table.keys(), key=str):
        where = f"part {row}" if row else "before the first '## Part' heading"
        found.append(f"{where}: {actual[row]} points in the cells' metadata, no row in the table")
    return found


def points_table(text: str) -> dict[str, str]:
    """The points table of a markdown text: part number ("" for the total) -> points column.

    Bold markers are left out: ``| | **total** | **19** |`` is ``{"": "19"}``.
    """
    lines = [line.strip() for line in text.splitlines()]
    headers = [i for i, line in enumerate(lines) if line.replace(" ", "") == POINTS_TABLE]
    rows = {}
    for line in lines[headers[0] + 2 :] if headers else []:  # after the header and its |---|
        if not line.startswith("|"):
            break
        columns = [column.replace("**", "").strip() for column in line.strip("|").split("|")]
        rows[columns[0]] = columns[-1]
    return rows


def points_written(text: str) -> int | None:
    """The points a table cell states, None if it cannot be read.

    ``3``, ``2 + 2 + 2`` and ``3 × 2`` state what they say; ``25 (4 autograded, 21 by hand)``
    states 25.
    """
    terms = text.split("(")[0].split("+")
    try:
        return sum(math.prod(int(factor) for factor in term.split("×")) for term in terms)
    except ValueError:
        return None
