"""Releasing assignments: ``solutions/`` to ``exercises/``, checked, and the learner bundle.

:func:`release` writes the instructor notebooks from their text sources
(:mod:`autograder.notebooks`), has nbgrader generate the learners' versions in ``exercises/``
(and register the assignments in the gradebook), checks the result, and, for a release of all
assignments, writes the learner bundle (:mod:`autograder.learner_bundle`).

:func:`release_problems` is the check: it generates the release again in a scratch copy of the
course and compares it with ``exercises/``, so it changes nothing. ``course.py release --check``
and the tests run it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from . import learner_bundle
from .course_folder import CONFIG_FILE, CourseFolder, check, nbgrader_api
from .notebooks import notebook_fingerprint, stale_notebooks, write_notebooks

LEARNER_BUILD = Path("_build") / "learner"  # the learner bundle and its zip, in the course folder


def compare_folders(generated: Path, committed: Path, label: str) -> list[str]:
    """How the files under ``committed`` differ from freshly generated ones, one line each."""
    problems = []
    want = {p.relative_to(generated) for p in generated.rglob("*") if p.is_file()}
    have = {p.relative_to(committed) for p in committed.rglob("*") if p.is_file()}
    for missing in sorted(want - have):
        problems.append(f"{label}/{missing} is missing")
    for extra in sorted(have - want):
        problems.append(f"{label}/{extra} is not generated from solutions/")
    for common in sorted(want & have):
        new, old = generated / common, committed / common
        same = (
            notebook_fingerprint(new) == notebook_fingerprint(old)
            if common.suffix == ".ipynb"
            else new.read_bytes() == old.read_bytes()
        )
        if not same:
            problems.append(f"{label}/{common} is out of date with solutions/")
    return problems


def release_problems(folder: CourseFolder, assignments: list[str] | None = None) -> list[str]:
    """What differs between ``exercises/`` and what ``solutions/`` generates, one line each."""
    assignments = assignments or folder.assignments()
    problems = stale_notebooks(folder)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch)
        shutil.copy(folder.root / CONFIG_FILE, copy)
        shutil.copytree(
            folder.solutions, copy / "solutions", ignore=shutil.ignore_patterns("__pycache__")
        )
        api = nbgrader_api(CourseFolder(copy))
        for assignment in assignments:
            result = api.generate_assignment(assignment, force=True)
            if not result.get("success"):
                problems.append(
                    f"nbgrader generate_assignment {assignment} failed: {result.get('error', '')}"
                )
                continue
            problems += compare_folders(
                copy / "exercises" / assignment,
                folder.exercises / assignment,
                f"exercises/{assignment}",
            )
    if folder.exercises.exists():
        for extra in sorted(p for p in folder.exercises.iterdir() if p.is_dir()):
            if extra.name not in folder.assignments():
                problems.append(f"exercises/{extra.name} has no source in solutions/")
    return problems


def release(folder: CourseFolder, assignment: str | None = None, check_only: bool = False):
    """Generate ``exercises/`` from ``solutions/`` (all assignments, or one), then check it.

    A release of all assignments then writes the learner bundle, what learners get instead of
    the course's repository, to ``_build/learner/``.
    """
    assignments = [folder.known(assignment)] if assignment else folder.assignments()
    if not check_only:
        for written in write_notebooks(folder):
            print(f"wrote {written.relative_to(folder.root)} from its {written.stem}.pct.py")
        api = nbgrader_api(folder)
        for name in assignments:
            check(api.generate_assignment(name, force=True), f"nbgrader generate_assignment {name}")
            print(f"released {name} to exercises/{name}/")
    problems = release_problems(folder, assignments)
    if problems:
        raise SystemExit("release check failed:\n  " + "\n  ".join(problems))
    print(f"release check passed: exercises/ matches solutions/ for {', '.join(assignments)}")
    if check_only:
        return
    if assignment:
        # The bundle holds every assignment, so it is only written once all of them are checked.
        print("learner bundle not written: run python3 course.py release (all assignments)")
        return
    learner_bundle.main([str(folder.root / LEARNER_BUILD)])
