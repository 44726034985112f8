"""The instructor notebooks and their text sources.

Each instructor notebook ``solutions/<assignment>/<name>.ipynb`` is generated from
``<name>.pct.py``, its source in jupytext's percent format, which is what reviewers read and
edit. Generating the same source twice gives the same file: no outputs, and cell ids that are
the nbgrader grade ids where there are some and ``cell-<index>`` elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import jupytext

from .course_folder import TEXT_NOTEBOOK, CourseFolder


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


def write_notebooks(folder: CourseFolder) -> list[Path]:
    """Write every instructor notebook that differs from its source; return those written."""
    written = []
    for source in sorted(folder.solutions.glob("*/*" + TEXT_NOTEBOOK)):
        target, wanted = target_of(source), notebook_json(source)
        if not target.exists() or target.read_text(encoding="utf-8") != wanted:
            target.write_text(wanted, encoding="utf-8")
            written.append(target)
    return written


def stale_notebooks(folder: CourseFolder) -> list[str]:
    """What is wrong with the instructor notebooks: one line per notebook not its source's."""
    problems = []
    for source in sorted(folder.solutions.glob("*/*" + TEXT_NOTEBOOK)):
        target = target_of(source)
        if not target.exists() or target.read_text(encoding="utf-8") != notebook_json(source):
            relative = target.relative_to(folder.root)
            problems.append(f"{relative} differs from {source.name}: run python3 course.py release")
    return problems


def notebook_fingerprint(path: Path) -> tuple:
    """What a learner's notebook consists of, without volatile fields (ids, outputs, counts)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))

    def text(source) -> str:
        return "".join(source) if isinstance(source, list) else source

    cells = [
        (
            cell["cell_type"],
            text(cell["source"]),
            json.dumps(cell.get("metadata", {}), sort_keys=True),
        )
        for cell in notebook["cells"]
    ]
    return cells, notebook["metadata"].get("kernelspec")
