"""What a learner sees who runs a released notebook before writing anything (issue 12, item 5).

Every cell that needs the learner's code must stop with one line that says the exercise is not
done yet: a test cell through its check's message, a cell that calls the code directly (the
"Try it" and exploring cells) through the setup cell's ``show_unfinished_in_one_line``. A bare
traceback into nbgrader's placeholder, ``raise NotImplementedError()``, tells a beginner nothing.

The slow test runs each blank notebook of ``exercises/`` in a real kernel, as JupyterLab would;
the fast ones drive IPython's shell in this process.
"""

import re
from concurrent.futures import ThreadPoolExecutor

import nbclient
import nbformat
import pytest
from grading_support import EXERCISES, ROOT
from IPython.core.interactiveshell import InteractiveShell

from resnet_ref.grading import show_unfinished_in_one_line
from resnet_ref.grading.unfinished import NOT_DONE

ANSI = re.compile(r"\x1b\[[0-9;]*m")
RELEASES = sorted(EXERCISES.glob("*/*.ipynb"))


def error_lines(path) -> list[tuple[str, list[str]]]:
    """Each error output of the notebook at ``path``, run top to bottom in a fresh kernel:
    the cell's grade id (or its first line) and the traceback's lines without colours."""
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    found = []
    for cell in notebook.cells:
        name = cell.metadata.get("nbgrader", {}).get("grade_id") or cell.source.splitlines()[0]
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                lines = ANSI.sub("", "\n".join(output.traceback)).strip().splitlines()
                found.append((name, lines))
    return found


@pytest.fixture(scope="module")
def blank_runs() -> dict[str, list]:
    """The error outputs of every blank release, two kernels at a time (CI has two cores)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = pool.map(error_lines, RELEASES)
        return {path.parent.name: errors for path, errors in zip(RELEASES, runs, strict=True)}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", [path.parent.name for path in RELEASES])
def test_a_blank_release_says_not_done_in_one_line(blank_runs, assignment):
    errors = blank_runs[assignment]
    assert errors, f"the blank {assignment} notebook ran without a single error"
    bare = [
        f"{cell}: {lines[-1] if lines else '(empty)'}"
        for cell, lines in errors
        if not lines or NOT_DONE not in lines[-1]
    ]
    assert not bare, f"{assignment}: errors that do not say the exercise is not done:\n" + (
        "\n".join(bare)
    )
    # A cell that ran into the placeholder itself shows the one line and nothing above it.
    long = [cell for cell, lines in errors if lines[-1].startswith("NotImplementedError")]
    assert all(len(lines) == 1 for cell, lines in errors if cell in long), long


# --- in this process, without a kernel --------------------------------------------------


@pytest.fixture
def shell(capsys):
    """IPython's shell with the handler installed; what it shows comes back as text."""
    instance = InteractiveShell.instance(colors="nocolor")
    show_unfinished_in_one_line()
    capsys.readouterr()

    def run(source: str) -> str:
        instance.run_cell(source)
        return capsys.readouterr().out.strip()

    yield run
    InteractiveShell.clear_instance()


def test_the_placeholder_reads_as_one_line_naming_the_function(shell):
    shell(
        "class Block:\n    def __init__(self):\n        # YOUR CODE HERE\n"
        "        raise NotImplementedError()\n"
    )
    shown = shell("def explore():\n    return Block()\nexplore()")
    assert shown == f"NotImplementedError: Block.__init__ is not written yet {NOT_DONE}"


@pytest.mark.parametrize(
    "source",
    [
        "raise NotImplementedError('this backend cannot do that')",  # a library's message
        "import math\nmath.floor(1.0).__class__.bit_count(None)",  # another error altogether
        # not nbgrader's placeholder line, which calls the class:
        "def later():\n    raise NotImplementedError\nlater()",
    ],
)
def test_every_other_error_keeps_its_traceback(shell, source):
    shown = shell(source)
    assert "Traceback" in shown or "Cell In[" in shown, shown
    assert NOT_DONE not in shown


def test_the_placeholder_line_in_a_library_keeps_its_traceback(shell, tmp_path, monkeypatch):
    """Only the learner's cells hold exercises; an abstract method elsewhere is not one."""
    (tmp_path / "library_with_stub.py").write_text(
        "def abstract():\n    raise NotImplementedError()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    shown = shell("import library_with_stub\nlibrary_with_stub.abstract()")
    assert "library_with_stub.py" in shown and NOT_DONE not in shown, shown


def test_outside_ipython_it_does_nothing():
    assert InteractiveShell.initialized() is False
    show_unfinished_in_one_line()
    assert InteractiveShell.initialized() is False


def test_every_assignment_is_covered():
    assert {path.parent.name for path in RELEASES} == {
        p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()
    }
