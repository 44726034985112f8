"""The exercises as a learner meets them: JupyterLab in a real browser.

The learner bundle (what learners are given, ``autograder/learner_bundle.py``) is served by a
real JupyterLab on a free local port, started as its README says (``--allow-root`` because
the tests run as root), and headless Chromium opens each assignment's notebooks. Requests to
any other host are refused. In one kernel per notebook, as a learner would:

1. run every cell of the blank notebook, one at a time: a cell that fails says in one line
   that the exercise is not done yet (no bare traceback of ``NotImplementedError``);
2. fill in a correct solution written in a style other than the instructor's
   (``tests/submissions/<assignment>/correct_*.py``, the first one) and run every cell: every
   test cell prints its "ok", and ``nbgrader validate`` passes on the saved notebook;
3. put in each named mistake (``mutant_*.py``), run the cells it changes and the test cells
   where it loses points: one of them fails with the mistake's hint (its ``Says:`` line).

Cells are edited through the notebook's shared model, which is what typing into the editor
changes, and run with JupyterLab's own "Run Selected Cell" command.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest
from browser import chromium, keep_offline
from grading_support import ROOT, assignments, fill_release, read_cells
from servers import jupyter_server

from autograder import learner_bundle

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CELL_LIMIT = 300  # seconds; a4's experiment takes about 30 s on two cores
BIN = Path(sys.executable).parent
ASSIGNMENTS = {a.name: a for a in assignments()}

# The open notebook, once JupyterLab has loaded it and its kernel.
READY = """
async (path) => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (panel.context.path !== path) {
    throw new Error(`JupyterLab shows ${panel.context.path}, not ${path}`);
  }
  await panel.context.ready;
  await panel.sessionContext.ready;
  // The kernel has answered its first request: a cell run now is not dropped.
  await panel.sessionContext.session.kernel.info;
  return panel.content.model.cells.length;
}
"""
# Run cell i with JupyterLab's command; the promise settles when the kernel has answered.
RUN = """
async ([i, seconds]) => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  notebook.activeCellIndex = i;
  const late = new Promise((_, fail) => {
    const message = `cell ${i} still running after ${seconds} s`;
    setTimeout(() => fail(new Error(message)), seconds * 1000);
  });
  await Promise.race([window.jupyterapp.commands.execute("notebook:run-cell"), late]);
  const cell = notebook.widgets[i].model;
  if (cell.type === "code" && cell.executionCount === null) {
    throw new Error(`cell ${i} did not run`);
  }
  return cell.toJSON().outputs || [];
}
"""
EDIT = """
([i, text]) => {
  window.jupyterapp.shell.currentWidget.content.widgets[i].model.sharedModel.setSource(text);
}
"""
SAVE = "async () => { await window.jupyterapp.commands.execute('docmanager:save'); }"


@pytest.fixture(scope="module")
def bundle(learner_output) -> Path:
    return learner_output / learner_bundle.NAME


@pytest.fixture(scope="module")
def lab(bundle):
    """JupyterLab on the bundle, and a function that opens one of its notebooks in Chromium."""
    # The test drives JupyterLab through its application object, as its own tests do; a
    # workspaces folder of its own keeps the notebooks of earlier runs from reopening.
    options = ["--LabApp.expose_app_in_browser=True"]
    options += [f"--LabApp.workspaces_dir={bundle.parent / 'workspaces'}"]
    with jupyter_server("lab", bundle, *options, ready="/lab") as site:
        with chromium() as browser:
            context = browser.new_context()
            keep_offline(context, site)  # the course must work offline
            opened: list[str] = []

            def open_notebook(path: str):
                page = context.new_page()
                # A workspace of its own, so that no notebook of an earlier page reopens.
                workspace = f"learner-{len(opened)}"
                opened.append(path)
                page.goto(f"{site}/lab/workspaces/{workspace}/tree/{path}", wait_until="load")
                page.wait_for_function(
                    "window.jupyterapp && window.jupyterapp.shell.currentWidget"
                    " && window.jupyterapp.shell.currentWidget.sessionContext",
                    timeout=120_000,
                )
                page.evaluate(READY, path)
                return page

            yield open_notebook


def errors(outputs: list[dict]) -> list[list[str]]:
    """Each error output as the lines the learner sees (its traceback, without colours)."""
    return [
        ANSI.sub("", "\n".join(o["traceback"])).strip().splitlines()
        for o in outputs
        if o["output_type"] == "error"
    ]


def run_cell(page, i: int) -> list[dict]:
    """Run cell ``i`` of the notebook open in ``page``; its outputs."""
    return page.evaluate(RUN, [i, CELL_LIMIT])


def printed(outputs: list[dict]) -> str:
    return "".join(
        "".join(o["text"]) if isinstance(o["text"], list) else o["text"]
        for o in outputs
        if o["output_type"] == "stream"
    )


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_a_learner_works_through_the_assignment(name, bundle, lab, tmp_path):
    assignment = ASSIGNMENTS[name]
    correct = next(s for s in assignment.submissions.values() if s.kind == "correct")
    mutants = [s for s in assignment.submissions.values() if s.kind == "mutant"]
    for notebook in assignment.notebooks:
        path = f"exercises/{name}/{notebook}.ipynb"
        cells = read_cells(bundle / path)
        index = {cell.grade_id: i for i, cell in enumerate(cells) if cell.grade_id}
        page = lab(path)

        run = functools.partial(run_cell, page)

        # 1. Blank: every failure is a one-line "not done yet".
        for i, cell in enumerate(cells):
            if cell.cell_type != "code":
                continue
            for shown in errors(run(i)):
                assert "not done yet" in shown[-1], (path, i, shown)
                if shown[-1].startswith("NotImplementedError"):  # no traceback into the stub
                    assert len(shown) == 1, (path, i, shown)

        # 2. A correct solution in another style: every visible check passes.
        filled = fill_release(bundle / path, assignment.solution(notebook), correct.sections)
        solution: dict[str, str] = {}
        for i, cell in enumerate(cells):
            if cell.solution:
                solution[cell.grade_id] = "".join(filled["cells"][i]["source"])
                page.evaluate(EDIT, [i, solution[cell.grade_id]])
        for i, cell in enumerate(cells):
            if cell.cell_type != "code":
                continue
            outputs = run(i)
            assert not errors(outputs), (path, correct.name, i, errors(outputs))
            if cell.graded:
                assert ": ok" in printed(outputs), (path, correct.name, cell.grade_id)
        page.evaluate(SAVE)
        done = subprocess.run(
            [BIN / "nbgrader", "validate", bundle / path],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert "Success! Your notebook passes all the tests." in done.stdout, done.stdout

        # 3. Each named mistake: a visible check where it loses points gives its hint.
        for mutant in mutants:
            changed = sorted(index[g] for g in mutant.sections if g in index)
            losing = sorted(index[g] for g in mutant.loses if g in index)
            if not changed:
                continue
            for i in changed:
                page.evaluate(EDIT, [i, mutant.sections[cells[i].grade_id]])
                run(i)
            said = [shown[-1] for i in losing for shown in errors(run(i))]
            assert said, f"{mutant.name}: every visible check passed in {path}"
            assert any(squash(mutant.says) in squash(line) for line in said), (
                mutant.name,
                mutant.says,
                said,
            )
            for i in changed:
                page.evaluate(EDIT, [i, solution[cells[i].grade_id]])
                run(i)
        page.close()


def test_every_assignment_is_met_in_the_lab():
    assert set(ASSIGNMENTS) == {p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()}
