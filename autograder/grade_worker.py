"""Grading one hand-in on a worker: nbgrader's autograde in a course of its own, from a kit.

:func:`grade_hand_in` is what ``autograde`` sends to a worker (a Dask worker process, here or
on another machine) for each hand-in. It unpacks the assignment's :class:`GradingKit` into a
scratch folder, puts the learner's files where nbgrader looks for them, and autogrades them
with the course's configuration: the kernel in the bubblewrap sandbox, the test cells decided
by the referee (:mod:`autograder.execute`), all but the steps that write grades into a
gradebook: ``autograde`` runs those itself when it records the result in the course's
gradebook (:mod:`autograder.recording`). What it returns is plain data: the graded notebooks,
nbgrader's log, the time it took. The scratch folder, with its gradebook, is gone afterwards.

A worker process grades one hand-in at a time; it keeps between hand-ins only what depends on
the assignment, never on a learner: the referee's record of the solutions, and the warm
template its kernels are forked from (:mod:`autograder.kernel_template`), which no learner's
code ever runs in.
"""

from __future__ import annotations

import importlib
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

from .course_folder import CourseFolder, nbgrader_api
from .grader_log import bounded, watching
from .grading_kit import RECORDS, GradingKit, grading_code, kit_gradebook
from .recording import RECORDING_STEPS
from .sandbox import KernelTemplate, SandboxUnavailable, bwrap_path


class UnfitWorker(RuntimeError):
    """This worker cannot grade as the course does: it cannot sandbox a kernel."""


def kernel_settings(sandbox: bool, warm: bool) -> dict[str, dict]:
    """The configuration of how the grading kernels start: in the sandbox or not, forked from a
    warm template (:mod:`autograder.kernel_template`) or cold."""
    return {
        "ContainedExecute": {"sandbox": sandbox},
        "SandboxedKernelManager": {"warm_start": warm},
    }


def warm_up(kernels: dict) -> str:
    """Ready this worker for its first hand-in while ``autograde`` registers the assignment and
    packs the kit: import what grading imports, and start the kernel template if its kernels
    start warm. Return the machine's name."""
    leave_the_terminal()
    # nbgrader imports the grading steps through the course's configuration, and with them
    # torch for the referee: seconds, which the first hand-in would otherwise wait for.
    importlib.import_module(f"{__package__}.execute")
    if kernels["ContainedExecute"]["sandbox"]:
        # Said as the machine's fault, not left to fail every hand-in's kernel, which would
        # read as the learners' hand-ins that could not be graded.
        try:
            bwrap_path()
            if kernels["SandboxedKernelManager"]["warm_start"]:
                KernelTemplate.shared()
        except SandboxUnavailable as error:
            raise UnfitWorker(f"{this_worker()} cannot sandbox a kernel: {error}") from None
    return platform.node()


def leave_the_terminal() -> None:
    """Put this Dask worker process, and the kernels it will start, in a session of their own."""
    # A Ctrl-C in a terminal goes to its whole foreground process group: the grading processes
    # and their kernels too, where it stops a check or a cell halfway, and the hand-in was
    # recorded with that cell failed. Dask stops its workers itself (a worker whose parent
    # ends exits), so a terminal's signals are for autograde, or for `dask worker`, alone.
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:  # called in a process of one's own (a test), not a Dask worker's
        return
    if os.getsid(0) != os.getpid():
        os.setsid()


def this_worker() -> str:
    """This Dask worker's address and machine."""
    from distributed import get_worker

    try:
        return f"{get_worker().address} (on {platform.node()})"
    except ValueError:  # not a Dask worker's task
        return platform.node()


def grade_hand_in(kit: GradingKit, student: str, files: dict[str, bytes], kernels: dict) -> dict:
    """Autograde ``student``'s hand-in (its ``files``, by name) of the kit's assignment, with
    its kernels started as ``kernels`` (:func:`kernel_settings`) says.

    Returns ``success``, ``error``, ``log`` (cut to :data:`~autograder.grader_log.LOG_LIMIT`),
    ``edited`` and ``about_the_solution`` (what the grader's own code logged of each:
    :mod:`autograder.grader_log`), ``graded`` (the autograded folder's files by name),
    ``records`` (the referee's records of the solutions, by file name), ``seconds``,
    ``worker`` (the machine it ran on) and ``code`` (the code it graded with:
    :func:`~autograder.grading_kit.grading_code`).
    """
    started = time.monotonic()
    warm_up(kernels)  # at once when done before; on a machine that cannot sandbox, UnfitWorker
    with tempfile.TemporaryDirectory(prefix="grading-") as scratch:
        course = kit.unpack(Path(scratch))
        hand_in = course / "submitted" / student / kit.assignment
        hand_in.mkdir(parents=True)
        for name, data in files.items():
            (hand_in / name).parent.mkdir(parents=True, exist_ok=True)  # a learner's subfolder
            (hand_in / name).write_bytes(data)
        folder = CourseFolder(course)
        steps = folder.config().Autograde.autograde_preprocessors
        api = nbgrader_api(
            folder,
            CourseDirectory={"db_url": kit_gradebook(course)},
            Autograde={"autograde_preprocessors": [s for s in steps if s not in RECORDING_STEPS]},
            **kernels,
        )
        with warnings.catch_warnings(record=True) as caught, watching(api.log) as facts:
            # SQLAlchemy warns about nbgrader's own session handling, once per hand-in.
            warnings.simplefilter("always")
            result = api.autograde(kit.assignment, student, force=True)
        log = result.get("log", "")
        log += "".join(f"{w.category.__name__}: {w.message}\n" for w in caught)
        graded = course / "autograded" / student / kit.assignment
        return {
            "success": bool(result.get("success")),
            "error": result.get("error") or "",
            "log": bounded(log),
            **facts.facts,
            "graded": {
                str(p.relative_to(graded)): p.read_bytes() for p in graded.rglob("*") if p.is_file()
            },
            "records": {p.name: p.read_bytes() for p in (course / RECORDS).glob("*.json")},
            "seconds": round(time.monotonic() - started, 1),
            "worker": platform.node(),
            "code": grading_code(),
        }
