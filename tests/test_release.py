"""``python3 course.py release``, as an instructor runs it, on a copy of the course with two
assignments: what it says it changed, what it leaves alone, where nbgrader's log goes, and the
check that a notebook's points table and test cells state the points its cells carry.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from grading_support import course_py, graded_cells, manual_cells
from nbgrader.api import Gradebook

from autograder.course_folder import CourseFolder
from autograder.notebooks import points_disagreements, points_problems

ROOT = Path(__file__).resolve().parents[1]
RELEASED, OTHER = "a2_blocks", "a6_theory"  # a6: the quickest to generate
NOTEBOOK = "blocks"


@pytest.fixture
def course(tmp_path) -> Path:
    """A copy of the course with two assignments, sharing this checkout's .venv."""
    # The copy's setup must find the shared .venv up to date, or it would reinstall the
    # package from the copy: set up here first (nothing to do when it is).
    done = subprocess.run([sys.executable, "course.py", "setup"], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr
    copy = tmp_path / "course"
    copy.mkdir()
    for name in ["course.py", "nbgrader_config.py", "requirements.lock", "pyproject.toml"]:
        shutil.copy(ROOT / name, copy)
    for folder in ["solutions", "exercises"]:
        for assignment in [RELEASED, OTHER]:
            shutil.copytree(ROOT / folder / assignment, copy / folder / assignment)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    return copy


def files(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.slow
def test_a_release_says_what_it_changed_and_leaves_other_assignments_alone(course):
    source = course / "solutions" / RELEASED / f"{NOTEBOOK}.pct.py"
    edit(source, "# ## Part 4: edge cases", "# ## Part 4: edge cases, last")
    stray = course / "exercises" / RELEASED / "notes.txt"
    stray.write_text("not generated from solutions/\n")
    # The other assignment's source changes too, and its exercise is stale: neither is touched.
    edit(course / "solutions" / OTHER / "theory.pct.py", "## Part 5:", "## Part 5 (edited):")
    (course / "exercises" / OTHER / "theory.ipynb").write_text("{}\n")
    others = files(course / "solutions" / OTHER) | files(course / "exercises" / OTHER)

    done = course_py(course, "release", RELEASED)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert f"rewrote solutions/{RELEASED}/{NOTEBOOK}.ipynb from its {NOTEBOOK}.pct.py" in lines
    assert f"updated exercises/{RELEASED}/{NOTEBOOK}.ipynb" in lines
    assert f"removed exercises/{RELEASED}/notes.txt" in lines
    assert not stray.exists()
    assert not any(OTHER in line for line in lines), lines
    assert files(course / "solutions" / OTHER) | files(course / "exercises" / OTHER) == others

    # nbgrader's INFO lines go to the log file, not to the console.
    assert "INFO" not in done.stdout + done.stderr
    log = (course / ".nbgrader.log").read_text(encoding="utf-8")
    assert f"generate_assignment {RELEASED}" in log and "[INFO] Converting notebook" in log

    # nbgrader registered the assignment, its notebook and the points of its graded cells.
    solution = ROOT / "solutions" / RELEASED / f"{NOTEBOOK}.ipynb"
    points = sum(graded_cells(solution).values()) + sum(manual_cells(solution).values())
    assert (course / "gradebook.db").is_file()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "resnet-course") as gradebook:
        notebooks = gradebook.find_assignment(RELEASED).notebooks
        assert [(n.name, n.max_score) for n in notebooks] == [(NOTEBOOK, points)]

    again = course_py(course, "release", RELEASED)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"exercises/{RELEASED}/ unchanged" in again.stdout.splitlines()
    assert "rewrote" not in again.stdout and "INFO" not in again.stdout + again.stderr

    # What the release wrote is, byte for byte, what nbgrader generates.
    check = course_py(course, "release", RELEASED, "--check")
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.slow
def test_points_that_disagree_with_the_text_and_a_failed_generate_fail_the_release(course):
    source = course / "solutions" / RELEASED / f"{NOTEBOOK}.pct.py"
    edit(
        source,
        '"grade_id": "basic_shape", "locked": true, "points": 2',
        '"grade_id": "basic_shape", "locked": true, "points": 3',
    )
    # Two cells with one grade id: nbgrader refuses to generate the other assignment.
    edit(
        course / "solutions" / OTHER / "theory.pct.py",
        '"grade_id": "answer_representation"',
        '"grade_id": "answer_gradient_flow"',
    )
    notebook = f"solutions/{RELEASED}/{NOTEBOOK}.ipynb"
    disagreements = [
        f"{notebook}: test cell basic_shape: '# [2 points]' on its first line, 3 in its metadata",
        f"{notebook}: part 1: 9 in the points table, 10 in the cells' metadata",
        f"{notebook}: total: 18 in the points table, 19 in the cells' metadata",
    ]

    done = course_py(course, "release")
    assert done.returncode != 0
    for line in disagreements:
        assert line in done.stderr, done.stderr
    assert f"nbgrader generate_assignment {OTHER} failed:" in done.stderr
    assert "Duplicate grade id: answer_gradient_flow" in done.stderr  # nbgrader's own words
    assert "learner bundle" not in done.stdout

    check = course_py(course, "release", RELEASED, "--check")
    assert check.returncode != 0
    assert [line.strip() for line in check.stderr.splitlines()[1:]] == disagreements


def test_the_points_written_in_every_notebook_agree_with_its_cells():
    folder = CourseFolder(ROOT)
    assert len(folder.assignments()) == 6
    assert points_problems(folder, folder.assignments()) == []


def test_each_kind_of_points_disagreement_is_named():
    path = ROOT / "solutions" / OTHER / "theory.ipynb"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = {
        cell["metadata"].get("nbgrader", {}).get("grade_id"): cell for cell in notebook["cells"]
    }
    cells["answer_socratic_a"]["metadata"]["nbgrader"]["points"] = 3  # part 5: "3 × 2"
    cells["test_count_paths"]["source"] = ["# checks count_paths\n"]
    assert points_disagreements(notebook) == [
        "test cell test_count_paths: no '# [N points]' on its first line, 2 in its metadata",
        "part 5: 3 × 2 in the points table, 7 in the cells' metadata",
        "total: 25 (4 autograded, 21 by hand) in the points table, 26 in the cells' metadata",
    ]
    heading = next(cell for cell in notebook["cells"] if "## Part 5:" in "".join(cell["source"]))
    heading["source"] = ["## More open questions\n"]  # part 5's cells now count for part 4
    assert points_disagreements(notebook)[1:] == [
        "part 4: 2 + 2 + 2 in the points table, 13 in the cells' metadata",
        "part 5: 3 × 2 in the points table, 0 in the cells' metadata",
        "total: 25 (4 autograded, 21 by hand) in the points table, 26 in the cells' metadata",
    ]
