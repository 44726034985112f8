"""An instructor's mishaps while grading a class on Dask workers, with the real command.

Each test grades a small class of ``a6_theory`` hand-ins in a copy of the course, with real
``dask scheduler`` and ``dask worker`` processes on 127.0.0.1 where it needs a cluster, and
checks that the mishap is refused or survived with a message saying what to do, and that
nothing wrong is recorded:

- two ``autograde`` commands at once in one course (two terminals);
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from test_parallel_grading import A6, autograde, course_copy, finish, read_until

pytestmark = pytest.mark.slow

CLASS = ["blank", "mutant-count-linear", "solution-style"]  # a fail, a partial, a pass


def small_class(base: Path) -> Path:
    """A copy of the course with three learners' hand-ins of ``a6_theory``."""
    course = course_copy(base, "course")
    for folder in (course / "submitted").iterdir():
        if folder.name not in CLASS:
            shutil.rmtree(folder)
    return course


def scores(course: Path) -> dict[str, float]:
    """Each learner's a6_theory score in the course's gradebook (graded hand-ins only)."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {s.student.id: s.score for s in gradebook.find_assignment(A6.name).submissions}


def test_a_second_autograde_of_the_course_refuses_while_one_runs(tmp_path):
    course = small_class(tmp_path)
    first = autograde(course, "--workers", "1")
    printed = read_until(first, r"grading 3 hand-in\(s\)")
    second = finish(autograde(course, "--workers", "1", "--force"))
    printed = finish(first, printed)
    assert first.returncode == 0, printed
    assert f"autograde {A6.name} (process {first.pid}," in second, second
    assert "is running in this course" in second and "graded in" not in second, second
    assert scores(course) == {"blank": 0, "mutant-count-linear": 2, "solution-style": 4}
    # The lock ends with the run that held it: the next run goes ahead (and keeps the grades).
    again = finish(autograde(course, "--workers", "1"))
    assert "3 hand-in(s) already graded and unchanged, kept" in again, again
