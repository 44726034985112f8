"""The instructor's course folder, as nbgrader sees it, and nbgrader's Python API on it.

The course folder is the one that holds ``nbgrader_config.py`` (the current folder, for the
instructor commands): ``solutions/<assignment>/`` with the instructor notebooks and their text
sources, ``exercises/<assignment>/`` with the released ones, ``submitted/<student>/<assignment>/``
with the hand-ins, and the gradebook. :func:`nbgrader_api` is how every instructor command
drives nbgrader: in this process, with the folder's configuration, never through its command line.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"
LOG_FILE = ".nbgrader.log"  # nbgrader's full log of every command, in the course folder
TEXT_NOTEBOOK = ".pct.py"  # jupytext percent format: the reviewable source of a notebook


class CourseFolder:
    """The folders of a course rooted at ``root``."""

    def __init__(self, root: Path | str = "."):
        self.root = Path(root).resolve()
        if not (self.root / CONFIG_FILE).is_file():
            raise SystemExit(
                f"{self.root} is not a course folder: it has no {CONFIG_FILE}; run the"
                " instructor commands from the course's folder (python3 course.py ...)"
            )
        self.solutions = self.root / "solutions"
        self.exercises = self.root / "exercises"
        self.submitted = self.root / "submitted"
        self.autograded = self.root / "autograded"
        self.feedback = self.root / "feedback"
        # Beside feedback/, not in it: there every folder name is a learner's id.
        self.feedback_zips = self.root / "feedback_zips"

    def assignments(self) -> list[str]:
        """The assignments: the folders of ``solutions/`` that hold notebooks or their sources."""
        if not self.solutions.is_dir():
            return []
        return sorted(
            folder.name
            for folder in self.solutions.iterdir()
            if folder.is_dir()
            and (any(folder.glob("*.ipynb")) or any(folder.glob("*" + TEXT_NOTEBOOK)))
        )

    def known(self, assignment: str) -> str:
        """``assignment`` if it is one; otherwise exit with the list of those there are."""
        if assignment not in self.assignments():
            raise SystemExit(
                f"unknown assignment {assignment!r}; known: {', '.join(self.assignments())}"
            )
        return assignment

    def students(self, assignment: str) -> list[str]:
        """The students with a hand-in of ``assignment`` in ``submitted/``."""
        return sorted(p.parent.name for p in self.submitted.glob(f"*/{assignment}") if p.is_dir())

    def config(self, **settings: dict) -> Config:
        """The folder's nbgrader configuration, ``settings`` (``{"Section": {...}}``) on top."""
        config = PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        config.merge(Config(settings))
        return config


def nbgrader_api(folder: CourseFolder, **settings: dict) -> NbGraderAPI:
    """nbgrader's API on ``folder``, configured by its ``nbgrader_config.py`` and ``settings``."""
    # nbgrader creates and upgrades gradebooks by running `alembic`, found on PATH.
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"
    config = folder.config(**settings)
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def append_log(folder: CourseFolder, heading: str, text: str) -> None:
    """Keep ``text`` (a part of nbgrader's log) in the folder's log file, under ``heading``."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    with open(folder.root / LOG_FILE, "a", encoding="utf-8") as log:
        log.write(f"=== {stamp} {heading}\n{text}")
        if text and not text.endswith("\n"):
            log.write("\n")


def check(result: dict, what: str) -> str:
    """The log of an nbgrader API call; exit with its error when it failed."""
    if not result.get("success"):
        raise SystemExit(f"{what} failed:\n{result.get('log', '')}{result.get('error', '')}")
    return result.get("log", "")
