"""Shared fixtures of the test suite.

``built_book``: the whole book, built ONCE per test session, strictly (``-W -n --keep-going
--all``, every chapter executed with a fresh execution cache) into a temporary
``--path-output``, so that the tests never touch the repository's ``_build/``. The build test,
the browser test and the leak test all look at this one build. (Under pytest-xdist each worker
has its own session and would build the book again: run the book tests without ``-n``.)

``gradebook_server``: a real PostgreSQL server with an empty ``gradebook`` database, one per
test module that asks for it (:func:`servers.postgres_gradebook`); its URL.
"""

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers import postgres_gradebook

ROOT = Path(__file__).resolve().parents[1]
# What makes a Markdown file a MyST notebook, whose code cells the book build executes.
MYST_NOTEBOOK_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

"""


@dataclass
class BuiltBook:
    """The result of one strict build of the book."""

    returncode: int
    log: str
    seconds: float
    path_output: Path

    @property
    def html(self) -> Path:
        """The folder of the built site."""
        return self.path_output / "_build" / "html"

    def pages(self) -> list[Path]:
        """Every HTML page of the site (not the theme's or the extensions' static files)."""
        return sorted(
            page
            for page in self.html.rglob("*.html")
            if not page.relative_to(self.html).parts[0].startswith("_")
        )


def jupyter_book():
    """Return the jupyter-book executable of the running environment."""
    beside_python = Path(sys.executable).parent / "jupyter-book"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("jupyter-book")
    assert found, "jupyter-book is not installed (run: python3 course.py setup)"
    return found


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> BuiltBook:
    """Build the repository's book once for the whole session, into a temporary folder."""
    path_output = tmp_path_factory.mktemp("book")
    command = [
        jupyter_book(),
        "build",
        str(ROOT),
        "--path-output",
        str(path_output),
        "-W",
        "-n",
        "--keep-going",
        "--all",
    ]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    return BuiltBook(result.returncode, result.stdout + result.stderr, seconds, path_output)


@pytest.fixture(scope="session")
def learner_output(tmp_path_factory) -> Path:
    """A folder holding the learner bundle (its folder and its zip), written once per session."""
    outdir = tmp_path_factory.mktemp("learner")
    done = subprocess.run(
        [sys.executable, "-m", "autograder.learner_bundle", str(outdir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return outdir


@pytest.fixture(scope="module")
def gradebook_server() -> str:
    """The URL of an empty gradebook database on a PostgreSQL server of this test module."""
    try:
        with postgres_gradebook() as url:
            yield url
    except RuntimeError as problem:
        pytest.fail(str(problem))
