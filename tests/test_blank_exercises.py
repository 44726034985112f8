"""What a learner sees who calls an exercise before writing it (issue 12, item 5).

Every cell that needs the learner's code must stop with one line that says the exercise is not
done yet: a test cell through its check's message, a cell that calls the code directly (the
"Try it" and exploring cells) through the setup cell's ``show_unfinished_in_one_line``. A bare
traceback into nbgrader's placeholder, ``raise NotImplementedError()``, tells a beginner nothing.

These tests drive IPython's shell with the handler's cases; tests/test_learner_lab.py runs every
blank assignment in JupyterLab and requires the same of each of its cells.
"""

import json
import os
import subprocess
import sys

import pytest
from grading_support import ROOT
from IPython.core.interactiveshell import InteractiveShell

from resnet_ref.grading import show_unfinished_in_one_line
from resnet_ref.grading.unfinished import NOT_DONE

# --- IPython's shell, without a kernel ---------------------------------------------------

# An IPython shell replaces sys.modules["__main__"] and sets builtins of the process it lives in,
# so it gets a process of its own: one for all the cases below.
SHELL = """
import contextlib, io, json, sys
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config
config = Config()
config.HistoryManager.enabled = False
shell = InteractiveShell.instance(config=config, colors="nocolor")
from resnet_ref.grading import show_unfinished_in_one_line
show_unfinished_in_one_line()
shown = []
for source in json.load(sys.stdin):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        shell.run_cell(source)
    shown.append(out.getvalue().strip())
json.dump(shown, sys.__stdout__)
"""
PLACEHOLDER_CLASS = (
    "class Block:\n    def __init__(self):\n        # YOUR CODE HERE\n"
    "        raise NotImplementedError()\n"
)
CALLS_THE_PLACEHOLDER = "def explore():\n    return Block()\nexplore()"
OTHER_ERRORS = [
    "raise NotImplementedError('this backend cannot do that')",  # a library's message
    "import math\nmath.floor(1.0).__class__.bit_count(None)",  # another error altogether
    # not nbgrader's placeholder line, which calls the class:
    "def later():\n    raise NotImplementedError\nlater()",
]
# A test cell whose check fails, and a learner's own assert, which is no check.
FAILED_CHECK = (
    "from resnet_ref.grading import check_output_size, expect\n"
    "expect(check_output_size(lambda n, kernel, stride=1, padding=0: n, 56, 3, stride=2))"
)
OWN_ASSERT = "def mine():\n    assert 1 + 1 == 3, 'my own check'\nmine()"
# Only the learner's cells hold exercises; an abstract method in a module is not one.
LIBRARY = "def abstract():\n    raise NotImplementedError()\n"
CALLS_THE_LIBRARY = "import library_with_stub\nlibrary_with_stub.abstract()"


@pytest.fixture(scope="module")
def shown(tmp_path_factory) -> dict[str, str]:
    """What the shell shows for each cell, by the cell's source."""
    folder = tmp_path_factory.mktemp("library")
    (folder / "library_with_stub.py").write_text(LIBRARY)
    cells = [PLACEHOLDER_CLASS, CALLS_THE_PLACEHOLDER, *OTHER_ERRORS, CALLS_THE_LIBRARY]
    cells += [FAILED_CHECK, OWN_ASSERT]
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder), str(ROOT)]))
    done = subprocess.run(
        [sys.executable, "-c", SHELL],
        input=json.dumps(cells),
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )
    assert done.returncode == 0, done.stderr
    return dict(zip(cells, json.loads(done.stdout), strict=True))


def test_the_placeholder_reads_as_one_line_naming_the_function(shown):
    assert shown[PLACEHOLDER_CLASS] == ""
    expected = f"NotImplementedError: Block.__init__ is not written yet {NOT_DONE}"
    assert shown[CALLS_THE_PLACEHOLDER] == expected


@pytest.mark.parametrize("source", OTHER_ERRORS)
def test_every_other_error_keeps_its_traceback(shown, source):
    assert "Cell In[" in shown[source] and NOT_DONE not in shown[source], shown[source]


def test_the_placeholder_line_in_a_library_keeps_its_traceback(shown):
    text = shown[CALLS_THE_LIBRARY]
    assert "library_with_stub.py" in text and NOT_DONE not in text, text


def test_a_failed_check_shows_the_test_cells_line_and_its_message(shown):
    # No frame of the course's code under it: the mistake is in the learner's code.
    lines = shown[FAILED_CHECK].splitlines()
    assert lines[-1].startswith("AssertionError: conv_output_size(56, 3, stride=2, padding=0)")
    assert "----> 2 expect(check_output_size(" in shown[FAILED_CHECK]
    assert [line for line in lines if line.startswith("File ")] == [], shown[FAILED_CHECK]


def test_a_learners_own_assert_keeps_its_traceback(shown):
    assert "in mine()" in shown[OWN_ASSERT], shown[OWN_ASSERT]
    assert shown[OWN_ASSERT].endswith("AssertionError: my own check"), shown[OWN_ASSERT]


def test_outside_ipython_it_does_nothing():
    assert InteractiveShell.initialized() is False
    show_unfinished_in_one_line()
    assert InteractiveShell.initialized() is False
