"""Releasing assignments: ``solutions/`` to ``exercises/``, checked, and the learner bundle.

:func:`release` writes the instructor notebooks of the assignments it releases from their text
sources (:mod:`autograder.notebooks`), has nbgrader generate the learners' versions, once per
assignment, into a scratch folder, copies into ``exercises/`` the files that changed, and says
which. nbgrader registers the assignments in the gradebook as it generates them. For a release
of all assignments it then writes the learner bundle (:mod:`autograder.learner_bundle`).

:func:`release_problems` is the check: the instructor notebooks are their sources', their
points tables agree with their cells, and ``exercises/`` is what nbgrader generates from
``solutions/``. Checking alone changes nothing but the log (nbgrader then writes to a scratch
gradebook); ``course.py release --check`` and the tests run it.

nbgrader's log of each step goes to ``.nbgrader.log`` in the course folder, not to the console.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from . import learner_bundle
from .course_folder import LOG_FILE, CourseFolder, append_log, nbgrader_api
from .notebooks import edited_notebooks, points_problems, stale_notebooks, write_notebooks

# What nbgrader says when it refuses to add or remove a notebook of an assignment with hand-ins.
HAS_HAND_INS = "because there are submissions associated with it"
LEARNER_BUILD = Path("_build") / "learner"  # the learner bundle and its zip, in the course folder


def differences(generated: Path, current: Path) -> dict[Path, str]:
    """What copying ``generated`` over ``current`` does to each file: added, updated, removed."""
    want = {p.relative_to(generated) for p in generated.rglob("*") if p.is_file()}
    have = {p.relative_to(current) for p in current.rglob("*") if p.is_file()}
    changed = {path: "added" for path in want - have}
    changed |= {path: "removed" for path in have - want}
    for path in want & have:
        if (generated / path).read_bytes() != (current / path).read_bytes():
            changed[path] = "updated"
    return dict(sorted(changed.items()))


def compare_folders(generated: Path, committed: Path, label: str) -> list[str]:
    """How the files under ``committed`` differ from freshly generated ones, one line each."""
    says = {
        "added": "is missing",
        "removed": "is not generated from solutions/",
        "updated": "is out of date with solutions/",
    }
    return [
        f"{label}/{path} {says[change]}"
        for path, change in differences(generated, committed).items()
    ]


def update_folder(generated: Path, current: Path, label: str) -> list[str]:
    """Make ``current`` hold exactly the files of ``generated``; say what changed, one line each."""
    changed = differences(generated, current)
    for path, change in changed.items():
        if change == "removed":
            (current / path).unlink()
        else:
            (current / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(generated / path, current / path)
    lines = [f"{change} {label}/{path}" for path, change in changed.items()]
    return lines or [f"{label}/ unchanged"]


def release_problems(
    folder: CourseFolder, assignments: list[str] | None = None, update: bool = False
) -> list[str]:
    """What is wrong with the release of ``assignments`` (default: all), one line each.

    An instructor notebook must be what its ``.pct.py`` generates, its points table and test
    cells must state the points of its cells' metadata, and ``exercises/<assignment>/`` must be
    what nbgrader generates, once per assignment, into a scratch folder. With ``update`` (what
    :func:`release` does), the notebooks and files that differ are written instead, a line
    printed for each, and nbgrader registers the assignments in the course's gradebook; without
    it, nothing in the course changes but ``.nbgrader.log``.
    """
    assignments = assignments or folder.assignments()
    if update:
        problems = edited_notebooks(folder, assignments)
        if problems:  # nothing written: the edits are the instructor's work
            return problems
        for written in write_notebooks(folder, assignments):
            print(f"rewrote {written.relative_to(folder.root)} from its {written.stem}.pct.py")
    else:
        problems = stale_notebooks(folder, assignments)
    problems += points_problems(folder, assignments)
    with tempfile.TemporaryDirectory() as scratch:
        generated = Path(scratch) / "exercises"
        settings = {"release_directory": str(generated)}
        if not update:
            settings["db_url"] = f"sqlite:///{scratch}/gradebook.db"
        api = nbgrader_api(folder, CourseDirectory=settings)
        for assignment in assignments:
            result = api.generate_assignment(assignment, force=True)
            log = result.get("log", "") + result.get("error", "")
            append_log(folder, f"generate_assignment {assignment}", log)
            new, old = generated / assignment, folder.exercises / assignment
            if not result.get("success") and HAS_HAND_INS in log:
                problems.append(notebooks_fixed_by_hand_ins(folder, assignment))
            elif not result.get("success"):
                problems.append(f"nbgrader generate_assignment {assignment} failed:\n{log}")
            elif update:
                print("\n".join(update_folder(new, old, f"exercises/{assignment}")))
            else:
                problems += compare_folders(new, old, f"exercises/{assignment}")
    if folder.exercises.exists():
        for extra in sorted(p for p in folder.exercises.iterdir() if p.is_dir()):
            if extra.name not in folder.assignments():
                problems.append(f"exercises/{extra.name} has no source in solutions/")
    return problems


def notebooks_fixed_by_hand_ins(folder: CourseFolder, assignment: str) -> str:
    """Why nbgrader refused to release ``assignment``, whose notebooks changed in number or
    name since hand-ins of it were graded, and what the instructor can do instead."""
    with nbgrader_api(folder).gradebook as gradebook:
        registered = {n.name for n in gradebook.find_assignment(assignment).notebooks}
    now = {source.stem for source in (folder.solutions / assignment).glob("*.ipynb")}
    changes = [f"{name}.ipynb added" for name in sorted(now - registered)]
    changes += [f"{name}.ipynb removed" for name in sorted(registered - now)]
    return (
        f"{assignment} not released: {', '.join(changes)}, but hand-ins of it are graded, and"
        " nbgrader keeps an assignment's notebooks once it has hand-ins (their grades belong to"
        f" them). Put the new notebook in an assignment of its own (solutions/<new name>/), or"
        f" put solutions/{assignment}/ back as it was (nbgrader's log: {LOG_FILE})"
    )


def release(folder: CourseFolder, assignment: str | None = None, check_only: bool = False):
    """Generate ``exercises/`` from ``solutions/`` (all assignments, or one), then check it.

    A release of all assignments then writes the learner bundle, what learners get instead of
    the course's repository, to ``_build/learner/``.
    """
    assignments = [folder.known(assignment)] if assignment else folder.assignments()
    problems = release_problems(folder, assignments, update=not check_only)
    if problems:
        raise SystemExit("release check failed:\n  " + "\n  ".join(problems))
    print(
        f"release check passed for {', '.join(assignments)}: exercises/ is what solutions/"
        f" generates, and the points tables agree with the cells (nbgrader's log: {LOG_FILE})"
    )
    if check_only:
        return
    if assignment:
        # The bundle holds every assignment, so it is only written once all of them are checked.
        print("learner bundle not written: run python3 course.py release (all assignments)")
        return
    learner_bundle.main([str(folder.root / LEARNER_BUILD)])
