"""What a grading worker needs of the course to grade one assignment, packed to travel.

Workers (processes of this machine or of others, see :mod:`autograder.autograde`) never read
the course folder or write its gradebook: a gradebook that several processes write at once is
not safe (nbgrader's SQLite one), and a worker on another machine cannot reach the folder. A
:class:`GradingKit` carries instead, as one archive, a small course of its own:

- the course's ``nbgrader_config.py`` (the grading steps, the sandbox, the referee);
- ``solutions/<assignment>/``: the instructor notebooks, whose locked cells are put back into
  every hand-in and whose solutions the referee records;
- a gradebook of its own in which the assignment is registered, with its due date;
- the referee's records of the solutions (``.referee/``), when the course has them.

Its :attr:`GradingKit.version` names what decides a grade: the configuration, the solutions,
the checks' code and the due date. ``autograde`` keeps, per hand-in, the version it was graded
with, so it grades again only what changed.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook

from .course_folder import CONFIG_FILE, CourseFolder, check, nbgrader_api
from .deadlines import due_date
from .execute import RECORDS
from .sandbox import resnet_ref_folder


@dataclass(frozen=True)
class GradingKit:
    """One assignment's grading, packed (see the module)."""

    assignment: str
    version: str
    packed: bytes

    def unpack(self, into: Path) -> Path:
        """Unpack the kit's course folder into the folder ``into``; return the course folder."""
        with tarfile.open(fileobj=io.BytesIO(self.packed), mode="r:gz") as archive:
            archive.extractall(into, filter="data")
        return into / "course"


def kit_gradebook(course: Path) -> str:
    """The address of the kit's own gradebook, whatever gradebook the course uses."""
    return f"sqlite:///{course / 'gradebook.db'}"


def grading_version(folder: CourseFolder, assignment: str) -> str:
    """A digest of what decides ``assignment``'s grades (see the module)."""
    digest = hashlib.sha256()
    solutions = folder.solutions / assignment
    files = [folder.root / CONFIG_FILE, *sorted(p for p in solutions.rglob("*") if p.is_file())]
    files += sorted((resnet_ref_folder() / "grading").glob("*.py"))
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(str(due_date(folder, assignment)).encode())
    return digest.hexdigest()


def make_kit(folder: CourseFolder, assignment: str) -> GradingKit:
    """Pack ``assignment``'s grading kit from the course ``folder``."""
    with tempfile.TemporaryDirectory(prefix="grading-kit-") as scratch:
        course = Path(scratch) / "course"
        course.mkdir()
        shutil.copy(folder.root / CONFIG_FILE, course)
        shutil.copytree(folder.solutions / assignment, course / "solutions" / assignment)
        records = sorted((folder.root / RECORDS).glob(f"{assignment}-*.json"))
        for record in records:
            (course / RECORDS).mkdir(exist_ok=True)
            shutil.copy(record, course / RECORDS)
        release = str(Path(scratch) / "release")
        registering = nbgrader_api(
            CourseFolder(course),
            CourseDirectory={"release_directory": release, "db_url": kit_gradebook(course)},
        )
        check(registering.generate_assignment(assignment, force=True), f"packing {assignment}")
        due = due_date(folder, assignment)
        if due is not None:
            with Gradebook(kit_gradebook(course)) as gradebook:
                gradebook.update_or_create_assignment(assignment, duedate=due)
        packed = io.BytesIO()
        with tarfile.open(fileobj=packed, mode="w:gz") as archive:
            for name in [CONFIG_FILE, "solutions", "gradebook.db", RECORDS]:
                if (course / name).exists():
                    archive.add(course / name, arcname=f"course/{name}")
    return GradingKit(assignment, grading_version(folder, assignment), packed.getvalue())
