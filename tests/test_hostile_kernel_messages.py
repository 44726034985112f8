"""Kernels that attack the grader through the messages they send, graded by the real
``python3 course.py autograde``.

``tests/test_hostile_submissions.py`` holds attacks that change what the learner's code does;
these change what the kernel *says* to the grader while it runs, which no check sees:

- ``displayhook``: an IPython ``pre_run_cell`` hook gives every later cell, tests included, an
  ``execute_result`` first, which nbgrader's ``determine_grade`` reads as the cell's partial
  credit (text that is no number: full marks) before it looks at any error; with it, the
  errors of failing checks swallowed, so that only the referee knows they failed;
- ``partial_credit``: the same hook shows ``1e9``, more than a cell's points, in the test cell
  the referee does not decide, and nbgrader raises while the coordinator records the hand-in;
- ``comm_flood``: widget state sent in ``comm_msg`` messages, which are not outputs;
- ``one_message``: a single print larger than the whole output limit, which the grader would
  have to hold whole before it could count it;
- ``forged_timeout``: the learner's code raises an exception named as the grader's own
  ``CellTimedOut``, which the summaries would read as a cell the grader stopped;
- ``log_injection``: comm targets and message types whose text nbclient writes to nbgrader's
  log, dressed as the grader's own warnings, and big enough to fill the log.

Each is handed in beside an honest control and the honest-wrong twin they are appended to, in a
course whose output limit is lowered to 1 MiB so that the floods stay cheap, and whose a2
notebook has one test cell of plain ``assert`` lines (``plain_check``), which the referee does
not decide: an instructor may write such cells.
"""

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from grading_support import assignments, fill_release, read_cells, whole_course_copy
from grading_support import course_py as run_course_py
from nbgrader.api import Gradebook

from autograder.course_folder import CourseFolder
from autograder.notebooks import notebook_json
from autograder.outcomes import run_record

pytestmark = pytest.mark.slow

A2 = next(a for a in assignments() if a.name == "a2_blocks")
(NOTEBOOK,) = A2.notebooks
TWIN = A2.submissions["mutant_relu_before_add"]
SOLUTION_CODE = {c.grade_id: c.source for c in read_cells(A2.solution(NOTEBOOK)) if c.solution}
OUTPUT_LIMIT = 1024 * 1024

# A test cell of plain asserts, added to the course's a2 notebook and to every hand-in: the
# referee does not decide it, so nbgrader counts it from what the kernel shows.
PLAIN_CHECK = {
    "cell_type": "code",
    "execution_count": None,
    "metadata": {
        "nbgrader": {
            "grade": True,
            "grade_id": "plain_check",
            "locked": True,
            "points": 1,
            "schema_version": 3,
            "solution": False,
            "task": False,
        }
    },
    "outputs": [],
    "source": "# [1 points]\nassert BasicBlock is not None",  # as a release writes it
}

# Every later cell starts with an execute_result of "fine".
DISPLAYHOOK = """
from IPython import get_ipython as _g
_g().events.register("pre_run_cell", lambda info=None: _g().displayhook("fine"))
"""
# ... and every later cell runs inside ``try: ... except Exception: pass``, so that a failing
# check shows no error.
SWALLOWED = """
def _swallowed(lines):
    body = "".join(lines) or "pass"
    return ["try:\\n", *("    " + line + "\\n" for line in body.splitlines()),
            "    pass\\nexcept Exception:\\n    pass\\n"]
get_ipython().input_transformers_post.append(_swallowed)
"""
# Every later cell shows 1e9 as its result: more than any cell's points.
PARTIAL_CREDIT = """
from IPython import get_ipython as _g
class _Big:
    def __repr__(self):
        return "1e9"
_g().events.register("pre_run_cell", lambda info=None: _g().displayhook(_Big()))
"""
# Four 1 MiB messages of widget state: past the output limit, though none is an output.
COMM_FLOOD = """
import uuid
_k = get_ipython().kernel
_state = "w" * (1024 * 1024)
for _i in range(4):
    _k.session.send(_k.iopub_socket, "comm_msg",
                    {"comm_id": uuid.uuid4().hex, "data": {"state": {"v": _state}}},
                    parent=_k.get_parent("shell"))
"""
# One 8 MiB message: eight times the output limit at once.
ONE_MESSAGE = """
print("o" * (8 * 1024 * 1024))
"""
# An error named as the grader's, in a cell that ran in a second.
FORGED_TIMEOUT = """
class CellTimedOut(Exception):
    pass
raise CellTimedOut("this cell ran past the time limit (40 s) and was stopped")
"""
# Text nbclient logs, dressed as the grader's warnings, then 3 x 600 kB of comm target names.
LOG_INJECTION = """
import uuid
_k = get_ipython().kernel
_parent = _k.get_parent("shell")
_k.session.send(_k.iopub_socket, "x\\n[WARNING] edited locked cell SPOOFED_EDIT"
                " (the original was put back)", {}, parent=_parent)
_k.session.send(_k.iopub_socket, "comm_open",
                {"comm_id": uuid.uuid4().hex, "data": {},
                 "target_name": "the solution fails a check in SPOOFED_SOLUTION"},
                parent=_parent)
for _i in range(3):
    _k.session.send(_k.iopub_socket, "comm_open",
                    {"comm_id": uuid.uuid4().hex, "data": {}, "target_name": "L" * 600_000},
                    parent=_parent)
"""


def hand_in(sections: dict[str, str], extra: str = "") -> dict:
    """The released a2 notebook filled with ``sections``, ``extra`` appended to its first
    solution cell, and the plain test cell at its end."""
    sections = dict(sections)
    if extra:
        base = sections.get("basic_block") or SOLUTION_CODE["basic_block"]
        sections["basic_block"] = f"{base}\n{extra}"
    notebook = fill_release(A2.release(NOTEBOOK), A2.solution(NOTEBOOK), sections)
    notebook["cells"].append(PLAIN_CHECK)
    return notebook


def blank_with(extra: str) -> dict:
    """The released notebook as a learner got it, ``extra`` typed into its first solution
    cell, and the plain test cell at its end."""
    notebook = json.loads(A2.release(NOTEBOOK).read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "basic_block":
            source = "".join(cell["source"])
            cell["source"] = f"{extra}\n{source}"
    notebook["cells"].append(PLAIN_CHECK)
    return notebook


def edited_test_cell() -> dict:
    """The solution with a locked test cell edited, which the grader does warn about."""
    notebook = hand_in({})
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "basic_shape":
            cell["source"] = "".join(cell["source"]) + "\n# I was here\n"
    return notebook


def hand_ins() -> dict[str, dict]:
    """Every learner's notebook."""
    twin = TWIN.sections
    return {
        "control_solution": hand_in({}),
        "control_edited_test": edited_test_cell(),
        "twin": hand_in(twin),
        "hostile_displayhook_blank": blank_with(DISPLAYHOOK),
        "hostile_displayhook_swallowed": hand_in(twin, DISPLAYHOOK + SWALLOWED),
        "hostile_partial_credit": hand_in(twin, PARTIAL_CREDIT),
        "hostile_comm_flood": hand_in(twin, COMM_FLOOD),
        "hostile_one_message": hand_in(twin, ONE_MESSAGE),
        "hostile_forged_timeout": hand_in(twin, FORGED_TIMEOUT),
        "hostile_log_injection": hand_in(twin, LOG_INJECTION),
    }


@dataclass
class Batch:
    """What grading the class left behind."""

    course: Path
    runs: list[subprocess.CompletedProcess]
    scores: dict[str, dict[str, float]]

    @property
    def printed(self) -> str:
        """What the first autograde printed."""
        return self.runs[0].stdout + self.runs[0].stderr

    def graded(self, student: str) -> dict:
        """``student``'s graded notebook."""
        path = self.course / "autograded" / student / A2.name / f"{NOTEBOOK}.ipynb"
        return json.loads(path.read_text(encoding="utf-8"))

    def run_record(self) -> dict:
        """What autograde recorded of each hand-in (grading/a2_blocks.jsonl)."""
        return run_record(CourseFolder(self.course), A2.name)

    def log_sections(self) -> dict[str, int]:
        """The size in bytes of each section of .nbgrader.log, by its heading."""
        text = (self.course / ".nbgrader.log").read_text(encoding="utf-8")
        parts = re.split(r"^=== \S+ \S+ UTC (.*)$", text, flags=re.M)
        sizes: dict[str, int] = {}
        for heading, body in zip(parts[1::2], parts[2::2], strict=True):
            sizes[heading] = sizes.get(heading, 0) + len(body.encode())
        return sizes


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Batch:
    """Collect and autograde the class, as the README's instructor workflow does, then autograde
    it again (which grades again what the first run could not record)."""
    base = tmp_path_factory.mktemp("kernel-messages")
    course = whole_course_copy(
        base / "course",
        "c.Execute.timeout = 40\nc.ContainedExecute.interrupt_grace = 5\n"
        "c.SandboxedKernelManager.memory_bytes = 2 * 1024**3\n"
        f"c.ContainedExecute.output_limit = {OUTPUT_LIMIT}\n",
    )
    solution = course / "solutions" / A2.name / f"{NOTEBOOK}.ipynb"
    notebook = json.loads(solution.read_text(encoding="utf-8"))
    notebook["cells"].append(PLAIN_CHECK)
    solution.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    # autograde grades only with instructor notebooks that their sources generate: the cell goes
    # into the source too, and the notebook is written from it, as release would write it.
    source = solution.with_name(f"{NOTEBOOK}.pct.py")
    jupytext = [str(Path(sys.executable).parent / "jupytext"), "--to", "py:percent"]
    subprocess.run([*jupytext, "-o", str(source), str(solution)], check=True, capture_output=True)
    solution.write_text(notebook_json(source), encoding="utf-8")
    inbox = base / "inbox"
    for student, notebook in hand_ins().items():
        (inbox / student).mkdir(parents=True)
        (inbox / student / f"{NOTEBOOK}.ipynb").write_text(json.dumps(notebook, indent=1))
    env = dict(os.environ, PYTHONPATH=str(course))

    def course_py(*args):
        return run_course_py(course, *args, env=env, timeout=1800)

    done = course_py("collect", A2.name, str(inbox))
    assert done.returncode == 0, done.stderr
    runs = [course_py("autograde", A2.name, "--workers", "2"), course_py("autograde", A2.name)]
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in gradebook.students:
            submission = gradebook.find_submission_notebook(NOTEBOOK, A2.name, student.id)
            scores[student.id] = {grade.name: grade.score for grade in submission.grades}
    return Batch(course=course, runs=runs, scores=scores)


def twin_scores() -> dict[str, float]:
    """What the honest-wrong twin earns on the refereed test cells."""
    return {c: 0.0 if c in TWIN.loses else p for c, p in A2.cells.items()}


def refereed(scores: dict[str, float]) -> dict[str, float]:
    """The scores of the assignment's own (refereed) test cells."""
    return {cell: score for cell, score in scores.items() if cell in A2.cells}


def test_the_honest_hand_ins_score_as_they_should(batch):
    assert refereed(batch.scores["control_solution"]) == A2.cells, batch.printed[-3000:]
    assert refereed(batch.scores["twin"]) == twin_scores()
    assert batch.scores["control_solution"]["plain_check"] == 1.0


def test_a_displayhook_earns_nothing_for_a_blank_notebook(batch):
    scores = refereed(batch.scores["hostile_displayhook_blank"])
    assert scores == dict.fromkeys(A2.cells, 0.0), batch.printed[-3000:]


def test_swallowed_errors_behind_a_displayhook_earn_nothing(batch):
    scores = refereed(batch.scores["hostile_displayhook_swallowed"])
    assert scores == twin_scores()
    # What the kernel showed stays in the feedback, but as a display, never a score.
    for cell in batch.graded("hostile_displayhook_swallowed")["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in TWIN.loses:
            assert cell["outputs"][0]["ename"] == "GradingRefused", cell["outputs"]
        if grade_id in A2.cells:
            types = [o["output_type"] for o in cell["outputs"]]
            assert "execute_result" not in types, (grade_id, types)


def test_a_hand_in_that_cannot_be_recorded_stops_nobody_else(batch):
    for run in batch.runs:  # the batch, and a rerun, complete with a summary
        assert f"{A2.name} (no due date): 10 learner(s)" in run.stdout, run.stderr[-3000:]
        assert run.returncode != 0  # the summary's exit status flags the hand-in
    line = re.search(r"^  hostile_partial_credit +not processed +(.*)$", batch.printed, re.M)
    assert line, batch.printed[-3000:]
    assert "could not be recorded" in line.group(1)
    assert "partial credit cannot be greater than maximum points" in line.group(1)
    tests = {*A2.cells, "plain_check"}
    scores = batch.scores["hostile_partial_credit"]
    assert {cell: scores[cell] for cell in tests} == dict.fromkeys(tests, 0.0)
    # Everyone else was graded and recorded as if it had not been there.
    assert refereed(batch.scores["control_solution"]) == A2.cells
    assert refereed(batch.scores["twin"]) == twin_scores()
    assert batch.run_record()["twin"].get("not_processed") is None


@pytest.mark.parametrize("student", ["hostile_comm_flood", "hostile_one_message"])
def test_widget_messages_and_one_huge_message_count_toward_the_output_limit(batch, student):
    line = re.search(r"^  contained \(stopped by the grader[^)]*\): (.*)$", batch.printed, re.M)
    assert line and student in line.group(1).split(", "), batch.printed[-3000:]
    stopped = [
        (cell["metadata"].get("nbgrader", {}).get("grade_id"), output["evalue"])
        for cell in batch.graded(student)["cells"]
        for output in cell.get("outputs", [])
        if output.get("ename") == "GradingStopped"
    ]
    # Stopped in the cell that sent it, not later at a time limit.
    assert stopped[0][0] == "basic_block", stopped
    assert f"more than {OUTPUT_LIMIT:,} bytes" in stopped[0][1]
    assert refereed(batch.scores[student]) == dict.fromkeys(A2.cells, 0.0)


def test_a_kernel_neither_speaks_for_the_grader_nor_fills_its_log(batch):
    for run in batch.runs:
        assert "SPOOFED" not in run.stdout + run.stderr
    assert batch.run_record()["hostile_log_injection"]["edited"] == []
    # What the grader itself logged still reaches the console.
    edit = "edited locked cell basic_shape (the original was put back)"
    assert batch.run_record()["control_edited_test"]["edited"] == [edit]
    assert f"  WARNING control_edited_test: {edit}" in batch.printed
    assert "  recording what the solution's test cells check: a2_blocks/blocks.ipynb" in (
        batch.printed
    )
    # In the log itself, a line that starts like a record is one the grader logged.
    log = (batch.course / ".nbgrader.log").read_text(encoding="utf-8")
    assert not re.search(r"^\[\w+\] edited locked cell SPOOFED", log, re.M)
    sizes = batch.log_sections()
    assert sizes[f"autograde {A2.name} hostile_log_injection"] < 512 * 1024, sizes
    assert refereed(batch.scores["hostile_log_injection"]) == dict.fromkeys(A2.cells, 0.0)


def test_an_error_named_as_the_graders_is_not_read_as_the_graders(batch):
    line = re.search(r"^  hostile_forged_timeout +(\S+)", batch.printed, re.M)
    assert line and line.group(1) == "graded", batch.printed[-3000:]
    names = [
        output["ename"]
        for cell in batch.graded("hostile_forged_timeout")["cells"]
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert "CellTimedOut (raised by the notebook)" in names
    assert "CellTimedOut" not in names
    assert refereed(batch.scores["hostile_forged_timeout"]) == twin_scores()
