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
the reference package ``resnet_ref`` with its checks, the versions of the packages that grade
(:data:`GRADING_PACKAGES`) and the due date. ``autograde`` keeps, per hand-in, the
version it was graded with, so it grades again only what changed.

The kit does not carry the grading code: each worker grades with its own ``autograder`` and
``resnet_ref`` (the referee's checks and references) and its own nbgrader and torch. A worker
therefore returns its :func:`grading_code` with every result, and ``autograde`` refuses a result
whose code differs from its own (:func:`code_differences`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import io
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy
from nbgrader.api import Gradebook

from .course_folder import CONFIG_FILE, CourseFolder, check, nbgrader_api
from .deadlines import due_date
from .sandbox import resnet_ref_folder

RECORDS = ".referee"  # the referee's records of the solutions, in the course folder
# What runs a notebook, records its scores or checks its results, besides the course's code.
GRADING_PACKAGES = ("nbgrader", "nbconvert", "nbclient", "nbformat", "jupyter_client")
GRADING_PACKAGES += ("ipykernel", "torch", "numpy")


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


def record_file(course: Path, source: Path) -> Path:
    """Where the referee's record of the solution notebook ``source`` is kept in ``course``.

    The record depends on the solution and on the checks' code, and on nothing else: it is
    kept on disk, and a later autograde of the same versions reads it back.
    """
    digest = hashlib.sha256(source.read_bytes())
    for path in sorted((resnet_ref_folder() / "grading").glob("*.py")):
        digest.update(path.read_bytes())
    return course / RECORDS / f"{source.parent.name}-{source.stem}-{digest.hexdigest()}.json"


def kit_gradebook(course: Path) -> str:
    """The address of the kit's own gradebook, whatever gradebook the course uses."""
    return f"sqlite:///{course / 'gradebook.db'}"


def _mark_schema_version(folder: CourseFolder, kit_course: Path) -> None:
    """Start the kit's gradebook with the schema version of the course's gradebook.

    nbgrader marks a new gradebook with its schema version, which it asks of alembic in a
    subprocess: seconds, every time a kit is packed. The course's gradebook (registered by
    ``autograde`` before it packs the kit) was made by the same nbgrader, or upgraded to it
    with ``nbgrader db upgrade``, so it carries that version; where there is none to read,
    nbgrader asks alembic as usual.
    """
    read = "SELECT version_num FROM alembic_version"
    try:
        [(version,)] = _run_sql(nbgrader_api(folder).coursedir.db_url, read)
    except (sqlalchemy.exc.SQLAlchemyError, ValueError):  # no such table, or not one row
        return
    _run_sql(kit_gradebook(kit_course), "CREATE TABLE alembic_version (version_num VARCHAR(32))")
    _run_sql(kit_gradebook(kit_course), "INSERT INTO alembic_version VALUES (:v)", v=version)


def _run_sql(db_url: str, statement: str, **values) -> list:
    """Run one SQL ``statement`` on the database at ``db_url`` and commit; return its rows."""
    engine = sqlalchemy.create_engine(db_url)
    try:
        with engine.begin() as db:
            result = db.execute(sqlalchemy.text(statement), values)
            return result.all() if result.returns_rows else []
    finally:
        engine.dispose()


def grading_code() -> dict[str, str]:
    """The code this process grades with: a digest of each source file of ``autograder`` and
    ``resnet_ref`` by path (``resnet_ref/grading/checks.py``), and the version of each of
    :data:`GRADING_PACKAGES` by name."""
    # Read afresh each time (milliseconds), so that a worker's and this process's, read
    # moments apart, agree on one machine even while its checkout is being edited.
    code = {}
    for package in (Path(__file__).resolve().parent, resnet_ref_folder()):
        for path in sorted(package.rglob("*.py")):
            name = f"{package.name}/{path.relative_to(package)}"
            code[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return code | package_versions()


@functools.cache
def package_versions() -> dict[str, str]:
    """The version of each of :data:`GRADING_PACKAGES`, by name."""
    # A build for another machine (torch's +cpu, +cu128) is the same release.
    return {name: importlib.metadata.version(name).split("+")[0] for name in GRADING_PACKAGES}


def code_differences(ours: dict[str, str], theirs: dict[str, str] | None) -> list[str]:
    """What differs between this process's :func:`grading_code` and a worker's, in words;
    nothing when they are the same."""
    if theirs is None:
        return ["it does not say which code it grades with (an older version of this course)"]
    differences = []
    for name in sorted(ours.keys() | theirs.keys()):
        here, there = ours.get(name), theirs.get(name)
        if here == there:
            continue
        if name in GRADING_PACKAGES:
            differences.append(f"{name} {there} (here {here})")
        elif here is None:
            differences.append(f"{name} is there, not here")
        elif there is None:
            differences.append(f"{name} is missing there")
        else:
            differences.append(f"{name} differs")
    return differences


def solution_files(folder: CourseFolder, assignment: str) -> list[Path]:
    """The files of ``solutions/<assignment>/``: the instructor notebooks and their sources."""
    return sorted(p for p in (folder.solutions / assignment).rglob("*") if p.is_file())


def _digest(digest, files: list[Path]) -> None:
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")


def release_version(folder: CourseFolder, assignment: str) -> str:
    """A digest of ``solutions/<assignment>/``, which a release changes: a hand-in graded
    with another has been graded against tests, points or questions that are no longer so."""
    digest = hashlib.sha256()
    _digest(digest, solution_files(folder, assignment))
    return digest.hexdigest()


def grading_version(folder: CourseFolder, assignment: str) -> str:
    """A digest of what decides ``assignment``'s grades (see the module)."""
    digest = hashlib.sha256()
    _digest(digest, [folder.root / CONFIG_FILE, *solution_files(folder, assignment)])
    for name, version in sorted(grading_code().items()):
        # The grader's own code changes for its other commands too (reports, collecting), and
        # regrading a class for each change would cost hours: after a change to how it grades,
        # --force. What a hand-in is compared with, the references and checks, is kept here.
        if not name.startswith("autograder/"):
            digest.update(f"{name}\0{version}\0".encode())
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
        _mark_schema_version(folder, course)
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
