"""Hostile notebook files, graded in one batch by the real ``python3 course.py`` commands.

A learner controls the whole ``.ipynb`` file they hand in, not only the code in it: its JSON,
the nbgrader metadata of every cell, the cell types and order, the notebook's metadata. Each
tampering below is applied to the notebook of a wrong solution, its *honest-wrong twin*
(which loses three test cells), and handed in by a learner of its own, beside the twin itself
and a correct control; one more learner hands in a link to the instructor's solution
notebook. The class goes through ``collect``, ``autograde``, ``feedback`` and
``grades`` in a copy of the course; the tests check that no tampering earns a point the twin
does not, that the gradebook's cells and points stay the instructor's, that the control keeps
its marks, that the batch completes, that nothing hidden reaches a feedback page, and that a
file that cannot be graded is named with a reason rather than a traceback.
"""

from __future__ import annotations

import copy
import csv
import html
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from grading_support import assignments, fill_release, hidden_test_lines, whole_course_copy
from grading_support import course_py as run_course_py
from nbgrader.api import Gradebook, MissingEntry

pytestmark = pytest.mark.slow

A2 = next(a for a in assignments() if a.name == "a2_blocks")
(NOTEBOOK,) = A2.notebooks
TWIN = "mutant_relu_before_add"
CONTROL = "control_solution"
FAILING = "basic_gradient"  # a test cell the twin fails (1 point)
PASSING = "basic_shape"  # a test cell the twin passes (2 points)
PASS = "pass  # the learner's own test: it always passes\n"
# A learner whose notebook is a link to the instructor's solution (a zip holds links, and
# unzip makes them): collect must leave it, not copy the solution in as the hand-in.
LINKED = "linked_to_the_solution"


def twin_notebook() -> dict:
    """The honest-wrong twin's notebook, as JSON."""
    return fill_release(A2.release(NOTEBOOK), A2.solution(NOTEBOOK), A2.submissions[TWIN].sections)


def cell_of(notebook: dict, grade_id: str) -> dict:
    """The cell of ``notebook`` with ``grade_id``."""
    return next(
        c
        for c in notebook["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id
    )


def nbgrader_of(notebook: dict, grade_id: str) -> dict:
    """The nbgrader metadata of the cell with ``grade_id``."""
    return cell_of(notebook, grade_id)["metadata"]["nbgrader"]


# --- the tamperings: each takes the twin's notebook and returns the file's JSON or bytes ---


def points_raised(nb):
    nbgrader_of(nb, PASSING)["points"] = 1000
    nbgrader_of(nb, FAILING)["points"] = 1000
    return nb


def grade_false(nb):
    nbgrader_of(nb, FAILING)["grade"] = False
    cell_of(nb, FAILING)["source"] = PASS
    return nb


def grade_and_lock_false(nb):
    nbgrader_of(nb, FAILING).update(grade=False, locked=False)
    cell_of(nb, FAILING)["source"] = PASS
    return nb


def locked_false(nb):
    nbgrader_of(nb, FAILING)["locked"] = False
    cell_of(nb, FAILING)["source"] = PASS
    return nb


def solution_true(nb):
    nbgrader_of(nb, FAILING)["solution"] = True
    cell_of(nb, FAILING)["source"] = PASS
    return nb


def failing_id_on_a_later_passing_copy(nb):
    # DeduplicateIds keeps the last cell of an id: the copy, placed last, would be graded.
    copied = copy.deepcopy(cell_of(nb, PASSING))
    copied["id"] = "copied-test"
    copied["metadata"]["nbgrader"].update(grade_id=FAILING, points=1)
    nb["cells"].append(copied)
    return nb


def failing_id_on_a_markdown_cell(nb):
    marked = copy.deepcopy(cell_of(nb, FAILING))
    marked.update(cell_type="markdown", source="All good.", id="marked")
    del marked["outputs"], marked["execution_count"]
    nb["cells"].append(marked)
    return nb


def solution_cell_copied(nb):
    # Not even hostile: a learner who copies their answer cell and pastes it below, to try a
    # variant, hands in two cells with the answer's metadata, as JupyterLab copies it.
    cell = cell_of(nb, "bottleneck_block")
    copied = copy.deepcopy(cell)
    copied["id"] = "pasted"
    copied["source"] = cell["source"] + "\n# the same again, to try a variant later\n"
    nb["cells"].insert(nb["cells"].index(cell) + 1, copied)
    return nb


def made_up_grade_cell(nb):
    extra = copy.deepcopy(cell_of(nb, PASSING))
    extra["id"] = "bonus"
    extra["source"] = PASS
    extra["metadata"]["nbgrader"].update(grade_id="bonus", points=1000, checksum="0" * 32)
    nb["cells"].append(extra)
    return nb


def grade_id_renamed(nb):
    nbgrader_of(nb, FAILING)["grade_id"] = "my_gradient"
    cell_of(nb, "my_gradient")["source"] = PASS
    return nb


def grade_id_removed(nb):
    cell = cell_of(nb, FAILING)
    del cell["metadata"]["nbgrader"]["grade_id"]
    cell["source"] = PASS
    return nb


def grade_on_a_solution_cell(nb):
    nbgrader_of(nb, "basic_block").update(grade=True, points=1000)
    return nb


def schema_version_changed(nb):
    for cell in nb["cells"]:
        if "nbgrader" in cell["metadata"]:
            cell["metadata"]["nbgrader"]["schema_version"] = 99
    return nb


def schema_version_old(nb):
    for cell in nb["cells"]:
        if "nbgrader" in cell["metadata"]:
            cell["metadata"]["nbgrader"]["schema_version"] = 1
    return nb


def nbgrader_metadata_not_a_dict(nb):
    cell_of(nb, FAILING)["metadata"]["nbgrader"] = ["grade", True]
    return nb


def checks_made_markdown(nb):
    cell = cell_of(nb, FAILING)
    cell.update(cell_type="markdown", source=PASS)
    del cell["outputs"], cell["execution_count"]
    return nb


def checks_made_raw(nb):
    cell = cell_of(nb, FAILING)
    cell.update(cell_type="raw", source=PASS)
    del cell["outputs"], cell["execution_count"]
    return nb


def checks_before_their_solution(nb):
    cell = cell_of(nb, FAILING)
    nb["cells"].remove(cell)
    nb["cells"].insert(1, cell)
    return nb


def solution_after_its_tests(nb):
    cell = cell_of(nb, "basic_block")
    nb["cells"].remove(cell)
    nb["cells"].append(cell)
    return nb


SCRIPTED = "scripted-by-the-learner"  # what the scripts in a hand-in would write


def raw_html_cells(nb):
    # nbconvert copies a raw cell of an HTML format into the page as it is.
    script = f"<script>document.title='{SCRIPTED}'</script>"
    image = f"<img src=x onerror=\"document.title='{SCRIPTED}'\">"
    for key in ["raw_mimetype", "format"]:
        nb["cells"].append(
            {
                "cell_type": "raw",
                "id": f"raw-{key}",
                "metadata": {key: "text/html"},
                "source": script + image,
            }
        )
    return nb


def outputs_prefilled(nb):
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade"):
            cell["execution_count"] = 7
            cell["outputs"] = [
                {
                    "output_type": "execute_result",
                    "execution_count": 7,
                    "data": {"text/plain": "'all checks passed'"},
                    "metadata": {},
                }
            ]
    return nb


def kernelspec_changed(nb):
    nb["metadata"]["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}
    nb["metadata"]["language_info"] = {"name": "bash"}
    return nb


def kernelspec_missing(nb):
    nb["metadata"] = {}
    return nb


def notebook_nbgrader_forged(nb):
    nb["metadata"]["nbgrader"] = {"grade": True, "points": 1000, "grade_id": FAILING}
    return nb


def nbformat_minor_odd(nb):
    nb["nbformat_minor"] = 99
    return nb


def nbformat_old(nb):
    nb["nbformat"] = 3
    return nb


def duplicate_cell_ids(nb):
    for cell in nb["cells"]:
        cell["id"] = "same"
    return nb


def huge_attachment(nb):
    picture = "A" * (24 * 1024 * 1024)
    nb["cells"][0]["attachments"] = {"big.png": {"image/png": picture}}
    nb["cells"][0]["source"] += "\n\n![big](attachment:big.png)\n"
    return nb


def oversized(nb):
    picture = "A" * (60 * 1024 * 1024)  # a notebook of 60 MiB: over the limit, refused unread
    nb["cells"][0]["attachments"] = {"big.png": {"image/png": picture}}
    return nb


def deeply_nested(nb):
    depth = 100_000
    text = json.dumps(nb)
    return text.replace(
        '"metadata": {', '"metadata": {"deep": ' + "[" * depth + "]" * depth + ", ", 1
    )


def not_utf8(nb):
    return json.dumps(nb).encode("utf-8").replace(b"# Assignment 2", b"# Assignment \xff\xfe2", 1)


def duplicate_keys(nb):
    # Python's json keeps the last "metadata" of the failing cell: one without nbgrader's.
    text = json.dumps(nb)
    cell = json.dumps(cell_of(nb, FAILING))
    forged = cell[:-1] + ', "metadata": {}}'
    return text.replace(cell, forged, 1)


# How each tampering must end. TWIN: graded exactly as the twin (its code is the twin's);
# NO_MORE: graded, no cell above the twin's (moved cells can lose more); UNREADABLE: collect
# names the file and why it cannot be graded (CAUSES), and autograde reports it not processed.
TWIN_SCORE, NO_MORE, UNREADABLE = "twin", "no more", "unreadable"
CAUSES = {
    "nbformat_old": "is not a readable notebook (",
    "deeply_nested": "is not a readable notebook (",
    "oversized": "is 60 MiB, over the 50 MiB a notebook may be",
    "not_utf8": "is not a readable notebook (",
    # nbgrader stopped at these with a traceback before collect named them (its
    # DeduplicateIds step reads the grade_id of every cell marked for grading).
    "grade_id_removed": "cannot be graded: cell 10 is marked for grading but has no grade_id",
    "nbgrader_metadata_not_a_dict": "cannot be graded: cell 10's nbgrader metadata is not a",
}
# Before the fix in autograder/locked_cells.py each of these stopped nbgrader, so the hand-in
# was "not processed" with nbgrader's "Please see the above traceback": a grade_id, a grade,
# solution or locked flag, or a schema version the learner changed, or the empty metadata
# DeduplicateIds leaves on a copied test cell. The others were already graded as they should.
WERE_HOLES = {
    "solution_cell_copied",
    "grade_false",
    "grade_and_lock_false",
    "solution_true",
    "failing_id_on_a_later_passing_copy",
    "failing_id_on_a_markdown_cell",
    "made_up_grade_cell",
    "grade_id_renamed",
    "grade_on_a_solution_cell",
    "schema_version_changed",
    "schema_version_old",
}
TAMPERINGS = {
    points_raised: TWIN_SCORE,
    grade_false: TWIN_SCORE,
    grade_and_lock_false: TWIN_SCORE,
    locked_false: TWIN_SCORE,
    solution_true: TWIN_SCORE,
    failing_id_on_a_later_passing_copy: TWIN_SCORE,
    failing_id_on_a_markdown_cell: TWIN_SCORE,
    solution_cell_copied: TWIN_SCORE,
    made_up_grade_cell: TWIN_SCORE,
    grade_id_renamed: TWIN_SCORE,
    grade_id_removed: UNREADABLE,
    nbgrader_metadata_not_a_dict: UNREADABLE,
    grade_on_a_solution_cell: TWIN_SCORE,
    schema_version_changed: TWIN_SCORE,
    schema_version_old: TWIN_SCORE,
    checks_made_markdown: TWIN_SCORE,
    checks_made_raw: TWIN_SCORE,
    checks_before_their_solution: NO_MORE,
    solution_after_its_tests: NO_MORE,
    outputs_prefilled: TWIN_SCORE,
    raw_html_cells: TWIN_SCORE,
    kernelspec_changed: TWIN_SCORE,
    kernelspec_missing: TWIN_SCORE,
    notebook_nbgrader_forged: TWIN_SCORE,
    nbformat_minor_odd: TWIN_SCORE,
    nbformat_old: UNREADABLE,
    duplicate_cell_ids: TWIN_SCORE,
    huge_attachment: TWIN_SCORE,
    oversized: UNREADABLE,
    deeply_nested: UNREADABLE,
    not_utf8: UNREADABLE,
    duplicate_keys: TWIN_SCORE,
}
OUTCOMES = {edit.__name__: outcome for edit, outcome in TAMPERINGS.items()}


@dataclass
class Batch:
    """What the commands printed and the gradebook holds afterwards."""

    course: Path
    collect: subprocess.CompletedProcess
    autograde: subprocess.CompletedProcess
    feedback: subprocess.CompletedProcess
    grades: subprocess.CompletedProcess
    scores: dict[str, dict[str, float]]
    max_scores: dict[str, float]
    cells: dict[str, list[str]]


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Batch:
    """Hand in and grade the whole class once, as the README's instructor workflow does."""
    base = tmp_path_factory.mktemp("hostile-notebooks")
    course = whole_course_copy(base / "course", "c.Execute.timeout = 60\n")
    inbox = base / "inbox"
    files = {
        CONTROL: json.dumps(
            fill_release(A2.release(NOTEBOOK), A2.solution(NOTEBOOK), {}), indent=1
        ),
        TWIN: json.dumps(twin_notebook(), indent=1),
    }
    for edit in TAMPERINGS:
        files[edit.__name__] = edit(twin_notebook())
    for student, content in files.items():
        (inbox / student).mkdir(parents=True)
        path = inbox / student / f"{NOTEBOOK}.ipynb"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content, indent=1))
    (inbox / LINKED).mkdir()
    (inbox / LINKED / f"{NOTEBOOK}.ipynb").symlink_to(A2.solution(NOTEBOOK))
    env = dict(os.environ, PYTHONPATH=str(course))

    def course_py(*args):
        return run_course_py(course, *args, env=env, timeout=3000)

    collected = course_py("collect", A2.name, str(inbox))
    graded = course_py("autograde", A2.name)
    feedback = course_py("feedback", A2.name)
    grades = course_py("grades")
    scores, max_scores, cells = {}, {}, {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_notebook(NOTEBOOK, A2.name)
        cells = {"grade": sorted(c.name for c in notebook.grade_cells)}
        max_scores = {c.name: c.max_score for c in notebook.grade_cells}
        for student in gradebook.students:
            try:
                submission = gradebook.find_submission_notebook(NOTEBOOK, A2.name, student.id)
            except MissingEntry:
                continue
            scores[student.id] = {g.name: g.score for g in submission.grades}
    return Batch(course, collected, graded, feedback, grades, scores, max_scores, cells)


def test_the_batch_completed_and_names_what_it_could_not_grade(batch):
    log = batch.autograde.stdout + batch.autograde.stderr
    assert "Traceback" not in batch.collect.stdout + batch.collect.stderr
    unreadable = {name for name, outcome in OUTCOMES.items() if outcome == UNREADABLE}
    assert set(CAUSES) == unreadable
    for name in unreadable:
        assert f"WARNING {name}: {NOTEBOOK}.ipynb {CAUSES[name]}" in batch.collect.stdout
        said = rf"\n  {name} +not processed +{re.escape(f'{NOTEBOOK}.ipynb {CAUSES[name]}')}"
        assert re.search(said, log), log[-3000:]
    said = f"WARNING {LINKED}: {NOTEBOOK}.ipynb is a link or a special file: not collected"
    assert said in batch.collect.stdout
    summary = re.search(r"  not processed \(nothing could be graded[^)]*\): ([^\n]*)", log)
    assert summary, log[-3000:]
    assert set(summary.group(1).split(", ")) == unreadable | {LINKED}
    assert set(batch.scores) == {CONTROL, TWIN, *OUTCOMES} - unreadable


def test_control_keeps_full_marks(batch):
    assert batch.scores[CONTROL] == A2.cells


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_no_tampering_earns_more_than_its_honest_twin(batch, name):
    twin = batch.scores[TWIN]
    assert twin == {c: 0.0 if c in A2.submissions[TWIN].loses else p for c, p in A2.cells.items()}
    if OUTCOMES[name] == UNREADABLE:
        assert name not in batch.scores
    elif OUTCOMES[name] == TWIN_SCORE:
        assert batch.scores[name] == twin
    else:
        assert {c: s for c, s in batch.scores[name].items() if s > twin[c]} == {}


def test_the_learners_metadata_edits_are_named(batch):
    log = batch.autograde.stdout
    # A schema version is no edit of how a cell is graded: it is put back without a word;
    # a copied answer cell is no edit at all.
    unsaid = {"schema_version_changed", "schema_version_old", "solution_cell_copied"}
    for name in WERE_HOLES - unsaid:
        assert re.search(rf"WARNING {name}: edited locked cell \w+", log), name
    for name in [CONTROL, TWIN, *unsaid]:
        assert f"WARNING {name}:" not in log, name


def test_the_gradebook_keeps_the_instructors_cells_and_points(batch):
    assert batch.max_scores == A2.cells
    for student, cells in batch.scores.items():
        assert set(cells) == set(A2.cells), student


def test_feedback_and_grades_show_nothing_hidden_nor_more(batch):
    assert batch.feedback.returncode == 0, batch.feedback.stderr[-3000:]
    assert batch.grades.returncode == 0, batch.grades.stderr[-3000:]
    hidden = hidden_test_lines(A2, NOTEBOOK)
    pages = sorted((batch.course / "feedback").glob(f"*/{A2.name}/*.html"))
    assert {page.parts[-3] for page in pages} == {CONTROL, TWIN, LINKED, *OUTCOMES}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        flat = " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())
        assert [line for line in hidden if line in flat] == [], page
        # The page's own scripts only: none of the learner's raw HTML cells runs in it.
        assert f"<script>document.title='{SCRIPTED}'" not in text, page
        assert "onerror" not in text, page
    total = sum(A2.cells.values())
    twin = sum(batch.scores[TWIN].values())
    with (batch.course / "grades_wide.csv").open(encoding="utf-8") as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file)}
    column = next(name for name in rows[CONTROL] if name.startswith(A2.name))
    assert float(rows[CONTROL][column]) == total
    for name in OUTCOMES:
        score = rows[name][column]
        assert score == "" if name not in batch.scores else float(score) <= twin, name
