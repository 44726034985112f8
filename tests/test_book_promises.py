"""What the built book tells a reader agrees with what the course actually has.

Each test reads a page of the one session build (``built_book`` in tests/conftest.py) and checks
a statement on it against its source of truth: the assignments' notebooks, the presets, the
package. A page can build strictly and still say something false; these catch that.
"""

import json
import re

import pytest
from bs4 import BeautifulSoup
from conftest import ROOT

pytestmark = pytest.mark.slow


def built_page(built_book, docname):
    """The parsed HTML of one page of the build."""
    return BeautifulSoup(
        (built_book.html / f"{docname}.html").read_text(encoding="utf-8"), "html.parser"
    )


def table_rows(table):
    """A table's header and its rows, as lists of cell texts."""
    header = [cell.get_text(" ", strip=True) for cell in table.find("thead").find_all("th")]
    rows = [
        [cell.get_text(" ", strip=True) for cell in row.find_all("td")]
        for row in table.find("tbody").find_all("tr")
    ]
    return header, rows


def test_the_assignments_appendix_gives_what_each_assignment_is_worth(built_book):
    """The table of the assignments appendix, against the nbgrader metadata of solutions/.

    An assignment is worth the points of its autograded tests AND of its written answers; the
    table once gave the tests' points alone (assignment 6: 4 of its 25 points).
    """
    page = built_page(built_book, "book/appendix_assignments")
    table = next(t for t in page.find_all("table") if "folder" in t.get_text())
    header, rows = table_rows(table)
    total_column = header.index("points in all")
    by_folder = {row[1].removeprefix("exercises/"): row for row in rows}
    assignments = sorted((ROOT / "solutions").glob("a*_*"))
    assert len(assignments) == 6
    for folder in assignments:
        points = 0
        for notebook in folder.glob("*.ipynb"):
            for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
                grading = cell.get("metadata", {}).get("nbgrader", {})
                if grading.get("grade"):
                    points += grading.get("points", 0)
        row = by_folder.get(folder.name)
        assert row, f"{folder.name}: no row in the appendix's table"
        assert row[total_column] == f"{points:g}", (
            f"{folder.name}: the appendix says {row[total_column]} points in all, "
            f"its notebook gives {points:g}"
        )


def test_the_preface_gives_learners_the_setup_of_their_own_copy(built_book):
    """Learners never get the course repository (README.md, "For learners"), only the learner
    bundle; the preface once sent them to set up the repository with ``course.py``. The commands
    it gives them must be those of the bundle's own README."""
    from autograder.learner_bundle import readme

    setup = re.search(r"## Set up\n.*?```bash\n(.*?)```", readme(), re.S)
    assert setup, "the learner bundle's README has no set-up commands"
    preface = built_page(built_book, "book/ch00_preface").get_text()
    for command in setup.group(1).strip().splitlines():
        assert command in preface, f"the preface does not tell learners to run {command!r}"


# Runs one notebook cell in a real IPython shell, as a kernel would, with the modules named after
# the cell made missing. Exits 1 if the cell raised.
RUN_WITH_MODULES_MISSING = """
import sys

for name in sys.argv[2:]:
    sys.modules[name] = None  # an import of it fails, as where it is not installed
from IPython.core.interactiveshell import InteractiveShell

sys.exit(1 if InteractiveShell.instance().run_cell(sys.argv[1]).error_in_exec else 0)
"""


def run_install_cell(tmp_path, *missing_modules):
    """The chapters' first cell, run with ``missing_modules`` missing and, in place of the
    learners' repository, an address that does not exist; pip has no index either, so nothing
    is installed. Returns (the process, that address)."""
    import subprocess
    import sys

    import yaml

    url = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]
    notebook = json.loads((ROOT / "book" / "notebooks" / "ch02_degradation.ipynb").read_text())
    cell = "".join(notebook["cells"][0]["source"])
    assert url in cell
    missing = (tmp_path / "no-such-repository").as_uri()  # fails at once, needs no network
    environment = {
        "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GIT_TERMINAL_PROMPT": "0",
        "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }  # fmt: skip
    ran = subprocess.run(
        [sys.executable, "-c", RUN_WITH_MODULES_MISSING, cell.replace(url, missing),
         *missing_modules],
        capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=300,
    )  # fmt: skip
    return ran, missing


def test_the_colab_cell_stops_with_the_reason_when_the_install_fails(tmp_path):
    """The chapters' first cell installs resnet_ref from the learners' repository. With an
    address that is not a real repository (``_config.yml`` ships a placeholder), pip fails, and
    ``%pip`` does not raise: the cell once ended quietly and the chapter failed later on an
    import. It must stop itself and name the address."""
    ran, missing = run_install_cell(tmp_path, "resnet_ref", "myst_nb")
    assert ran.returncode == 1, f"the cell ended without an error:\n{ran.stdout}{ran.stderr}"
    assert f"resnet_ref could not be installed from {missing}" in ran.stdout + ran.stderr


def test_the_install_cell_leaves_an_installed_resnet_ref_alone(tmp_path):
    """The learners' copy installs resnet_ref but not MyST-NB (its requirements.txt). A chapter
    opened there once reinstalled resnet_ref from the repository's address because MyST-NB was
    missing; only what is missing may be installed, and from where it comes."""
    ran, _ = run_install_cell(tmp_path, "myst_nb")
    output = ran.stdout + ran.stderr
    assert "git clone" not in output, f"the cell asked pip for resnet_ref:\n{output}"
    assert ran.returncode == 1 and "myst_nb could not be installed from PyPI" in output
