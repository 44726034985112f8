"""Autograding a class: every hand-in of an assignment, on grading workers, then a summary.

:func:`autograde` first registers the assignment in the gradebook from ``solutions/`` (its
release goes to a scratch folder, ``exercises/`` stays untouched), so the gradebook always
holds the current tests, and packs what grading needs into a kit (:mod:`autograder.grading_kit`).
A hand-in with no notebook of the assignment, or one nbformat cannot read, is recorded as not
processed, with why. Every other hand-in goes to a grading worker
(:mod:`autograder.grade_worker`): nbgrader autogrades it with the course's configuration, every
kernel in the bubblewrap sandbox (forked from a warm template that has imported torch, unless
``--cold``), the test cells decided by the referee. The workers are Dask
workers: ``--workers N`` processes of this machine (a ``LocalCluster``; the default is one per
core), or those of a Dask scheduler given by address (``--scheduler tcp://host:8786``), each
running ``dask worker`` in the course's environment. A worker that dies mid-hand-in has that
hand-in graded again on another. Only this process writes the gradebook, as results arrive
(:mod:`autograder.recording`), so the grades are those of a serial run in any order. A hand-in
whose graded notebook cannot be recorded (nbgrader raises on it) scores zero on its tests and is
reported as not processed, with why; the others are recorded as if it had not been there.

A hand-in already graded, unchanged, with the same kit version (solutions, ``resnet_ref``,
configuration and due date), is not graded again, so an interrupted run resumes where it
stopped; ``--force`` grades every hand-in again.

The console gets a line per hand-in, with the count, the rate and the time left, and what an
instructor must act on: a locked cell a learner edited, a check the solution fails, a hand-in
that could not be processed. The first two are what the grader's own code logged, kept apart
by the worker (:mod:`autograder.grader_log`), never lines read back from the log, in which a
kernel can write. nbgrader's log goes to ``.nbgrader.log``, up to 256 KiB per hand-in. The
summary gives every learner's outcome (:mod:`autograder.outcomes`: graded, contained, not
processed, not submitted), lateness and points waiting for hand grading, then names the
learners that need a look; the command fails when some hand-in could not be processed or had
to be contained, so that a script running it notices. Without bwrap it refuses to run, unless
told to grade unsandboxed on purpose: then every line it prints says so.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from concurrent.futures import CancelledError
from pathlib import Path

from .collect import TIMESTAMP, expected_notebooks, notebook_problem, printable
from .course_folder import LOG_FILE, CourseFolder, append_log, check, nbgrader_api
from .deadlines import due_date, late_by
from .grade_worker import UnfitWorker, grade_hand_in, kernel_settings, warm_up
from .grader_log import bounded
from .grading_kit import (
    RECORDS,
    code_differences,
    grading_code,
    grading_version,
    make_kit,
    record_file,
    release_version,
)
from .notebooks import stale_notebooks
from .one_writer import only_autograde
from .outcomes import (
    CONTAINED,
    NEED_A_LOOK,
    NOT_PROCESSED,
    REFUSED_CELLS,
    RELEASE,
    Outcome,
    class_outcomes,
    compact_runs,
    digest_of,
    hand_in_files,
    run_record,
    save_run,
)
from .recording import record_graded, recording_failed

UNSANDBOXED = "UNSANDBOXED (submissions run with your rights): "
LOOK_FOR = {
    NOT_PROCESSED: "not processed (nothing could be graded or recorded: see why above)",
    CONTAINED: "contained (stopped by the grader: a cell timed out, the kernel died or flooded)",
    REFUSED_CELLS: "refused (test cells the referee refused: read the notebook)",
}


class Prefixed:
    """A text stream that starts every line written to it with ``prefix``."""

    def __init__(self, stream, prefix: str):
        self.stream, self.prefix, self.at_line_start = stream, prefix, True

    def write(self, text: str) -> int:
        """Write ``text``, with the prefix at the start of each line."""
        for piece in text.splitlines(keepends=True):
            if self.at_line_start:
                self.stream.write(self.prefix)
            self.stream.write(piece)
            self.at_line_start = piece.endswith("\n")
        return len(text)

    def flush(self) -> None:
        """Flush the underlying stream."""
        self.stream.flush()


@contextlib.contextmanager
def held_signals():
    """Hold Ctrl-C (SIGINT) and SIGTERM back while the block runs; then act on the first."""
    # Recording a hand-in writes autograded/, the gradebook and grading/<assignment>.jsonl one
    # after another: stopped halfway, it would leave a run record cut short, which no command
    # can read again, or a hand-in half recorded that the next run keeps as it is.
    held = []
    previous = {
        number: signal.signal(number, lambda caught, frame: held.append(caught))
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if held:
            signal.raise_signal(held[0])


def hand_in_problem(folder: CourseFolder, assignment: str, student: str) -> str | None:
    """Why ``student``'s hand-in cannot be given to nbgrader, or None when it can."""
    expected = expected_notebooks(folder, assignment)
    hand_in = folder.submitted / student / assignment
    received = sorted(p.name for p in hand_in.iterdir() if p.name != TIMESTAMP)
    present = [name for name in expected if name in received]
    if not present:
        return (
            f"no notebook named {' or '.join(expected)}; received:"
            f" {', '.join(received) or 'nothing'}"
        )
    for name in present:
        problem = notebook_problem(hand_in / name)
        if problem:
            return f"{name} {problem}"
    return None


def usable_cores() -> int:
    """The cores this process may run on: those it is pinned to, within its cgroup's CPU quota.

    ``os.cpu_count()`` counts the host's cores, which a container or a CI runner may not give.
    """
    cores = len(os.sched_getaffinity(0))
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota to read
    return cores


@contextlib.contextmanager
def grading_client(workers: int, scheduler: str | None):
    """A Dask client: of the scheduler at ``scheduler``, or of ``workers`` local processes.

    A scheduler that does not answer, or has no worker, within Dask's connect timeout (30 s,
    ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT``) is an exit that says what to start.
    """
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler)
        except (OSError, ValueError) as error:  # refused, timed out, or not an address
            raise SystemExit(
                f"cannot reach the Dask scheduler at {scheduler} ({error}): start it"
                " (.venv/bin/dask scheduler --port 8786) or give its address as"
                " tcp://HOST:PORT; nothing was graded"
            ) from None
        with client:
            # Tasks given to a scheduler without workers would wait, silently, for ever.
            try:
                client.wait_for_workers(1, dask.config.get("distributed.comm.timeouts.connect"))
            except TimeoutError:
                raise SystemExit(
                    f"the Dask scheduler at {scheduler} has no grading worker: start some"
                    f" (.venv/bin/dask worker {scheduler} --nworkers auto --nthreads 1 on each"
                    " grading machine), then run this command again; nothing was graded"
                ) from None
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,  # nbgrader and the kernel manager grade one hand-in at a time
            processes=True,
            memory_limit=0,  # the sandbox limits each kernel; the worker itself stays small
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def solution_passes(record: bytes) -> bool:
    """Whether the instructor's solution passed every check of a referee record of it."""
    # One that failed a check is not kept: the failure may be the grading machine's (a check
    # broken off by a signal or a lost worker), and kept, it would fail that test cell for
    # every learner at every later run, silently. Not kept, the next run records the solution
    # again, and says again what it fails.
    return all(check["passed"] for checks in json.loads(record).values() for check in checks)


def outcome_of(result: dict) -> dict:
    """A worker's result as the run record of one hand-in (see :mod:`autograder.outcomes`)."""
    # The grader's own words, which the worker kept apart from the log (a kernel writes in it).
    run = {"edited": result.get("edited", []), "seconds": result["seconds"]}
    if not result["success"]:
        reason = result["error"].strip().splitlines()[-1:] or ["no reason given"]
        run["not_processed"] = f"nbgrader could not grade it: {reason[0]} (see {LOG_FILE})"
    return run


def progress(done: int, total: int, started: float) -> str:
    """``[done/total]`` with the rate so far and the time the rest will take at that rate."""
    elapsed = time.monotonic() - started
    rate = done / elapsed if elapsed > 0 else 0.0
    left = (total - done) / rate if rate else 0.0
    return f"[{done}/{total}, {rate * 60:.1f}/min, {left:.0f} s left]"


@contextlib.contextmanager
def grading_workers(hand_ins: int, workers: int | None, scheduler: str | None, kernels: dict):
    """A Dask client of the workers that will grade ``hand_ins`` hand-ins (see
    :func:`grading_client`), each of which starts its kernel template straight away."""
    local_workers = min(workers or usable_cores(), hand_ins)
    with grading_client(local_workers, scheduler) as client:
        names = list(client.scheduler_info()["workers"])
        # Dask forgets a task whose future is dropped: these are kept while the client is. A
        # warm-up that fails fails its worker's first hand-in too, which says why.
        warming = [client.submit(warm_up, kernels, workers=[w], pure=False) for w in names]
        yield client
        del warming


def grade_on_workers(
    client,
    folder: CourseFolder,
    assignment: str,
    hand_ins: dict[str, dict[str, bytes]],
    kernels: dict,
    record,
) -> None:
    """Grade ``hand_ins`` (student: files) on the ``client``'s workers; ``record(student,
    result)`` each."""
    from distributed import as_completed
    from distributed.comm.core import CommClosedError

    recorded = 0
    solutions = sorted((folder.solutions / assignment).glob("*.ipynb"))
    unrecorded = [s for s in solutions if not record_file(folder.root, s).is_file()]
    waiting = list(hand_ins)
    # Without the referee's record of the solutions, the first hand-in goes alone: its
    # worker records them, once, and the kit of the others carries that record.
    batches = [waiting[:1], waiting[1:]] if unrecorded else [waiting]
    try:
        for batch in batches:
            shared_kit = client.scatter(make_kit(folder, assignment), broadcast=True)
            futures = {
                client.submit(
                    grade_hand_in, shared_kit, student, hand_ins[student], kernels, pure=False
                ): student
                for student in batch
            }
            for future in as_completed(futures):
                try:
                    result = future.result()
                except CancelledError:
                    raise
                except UnfitWorker as error:
                    raise SystemExit(
                        f"refused: {error}. Install bubblewrap there (or stop that worker), then"
                        " run this command again: the hand-ins recorded so far are kept."
                    ) from None
                except Exception as error:  # the task failed on every worker it was given to
                    result = {"success": False, "error": f"{type(error).__name__}: {error}"}
                    result |= {"log": "", "graded": {}, "records": {}, "seconds": 0.0}
                    result |= {"edited": [], "about_the_solution": [], "code": grading_code()}
                refuse_other_code(client, future, result)
                record(futures[future], result)
                recorded += 1
    # A cancelled hand-in, or a scheduler that stopped answering, is not the hand-in's doing:
    # recorded as its outcome, it would blame the learner.
    except (CancelledError, CommClosedError) as error:
        raise SystemExit(
            f"grading stopped after {recorded} of {len(hand_ins)} hand-in(s): the Dask scheduler"
            f" at {client.scheduler.address}, or every worker, went away ({error}). The"
            " hand-ins recorded are kept: start the scheduler and workers again, then run this"
            " command again to grade the rest"
        ) from None


def refuse_other_code(client, future, result: dict) -> None:
    """Exit, recording nothing of it, when ``result`` was graded with other code than ours."""
    # A worker grades with its own checks, references and grader, not the kit's: one at
    # another commit would grade differently, and nothing in the result would show it.
    differences = code_differences(grading_code(), result.get("code"))
    if not differences:
        return
    where = ", ".join(client.who_has(future).get(future.key, ())) or "a worker"
    if result.get("worker"):
        where += f" (on {result['worker']})"
    if len(differences) > 6:
        differences[6:] = [f"and {len(differences) - 6} more"]
    raise SystemExit(
        f"refused: {where} grades with other code than this course's"
        f" ({'; '.join(differences)}), so its result was not recorded. Put every grading"
        " machine at this repository's commit, with python3 course.py setup run there (or stop"
        " that worker), then run this command again: the hand-ins recorded so far are kept."
    )


def register(folder: CourseFolder, assignment: str) -> None:
    """Register ``assignment`` (its notebooks, cells and points) in the course's gradebook."""
    with tempfile.TemporaryDirectory() as scratch:
        registering = nbgrader_api(folder, CourseDirectory={"release_directory": scratch})
        result = registering.generate_assignment(assignment, force=True)
        append_log(folder, f"register {assignment}", check(result, f"registering {assignment}"))


def autograde(
    folder: CourseFolder,
    assignment: str,
    student: str | None = None,
    sandbox: bool = True,
    workers: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    warm: bool = True,
) -> None:
    """Autograde the hand-ins of ``assignment`` (or ``student``'s) that need it; summarise."""
    folder.known(assignment)
    stale = stale_notebooks(folder, [assignment])
    if stale:
        # Grading would use the tests of the notebook as it was, not the edit in its source.
        raise SystemExit(
            f"{assignment}: not graded, its instructor notebooks are not their sources' (the class"
            f" would be graded with the earlier tests); run python3 course.py release {assignment}"
            " first:\n  " + "\n  ".join(stale)
        )
    if workers is not None and workers < 1:  # Dask would wait 30 s for no worker, then fail
        raise SystemExit(f"--workers {workers}: give 1 or more grading processes")
    students = [s for s in folder.students(assignment) if student in (None, s)]
    if not students:
        raise SystemExit(
            f"nothing to grade: no folder submitted/{student or '*'}/{assignment}/; put each"
            f" learner's notebooks in submitted/<student>/{assignment}/"
            f" (python3 course.py collect {assignment} FOLDER)"
        )
    if sandbox and not shutil.which("bwrap"):
        raise SystemExit(
            "bubblewrap (bwrap) is not installed, so submissions cannot be sandboxed: install it"
            " (Debian/Ubuntu: apt-get install bubblewrap), or grade unsandboxed on purpose with"
            f" python3 course.py autograde {assignment} --unsandboxed"
        )
    if not sandbox:
        sys.stdout = Prefixed(sys.stdout, UNSANDBOXED)
    with only_autograde(folder, assignment) as sole_writer:
        kernels = kernel_settings(sandbox, warm)
        grade_class(folder, assignment, students, kernels, workers, scheduler, force, sole_writer)
        outcomes = [o for o in class_outcomes(folder, assignment) if student in (None, o.student)]
        print_summary(folder, assignment, outcomes)
    act_on = [o for o in outcomes if o.outcome in NEED_A_LOOK]
    if act_on:
        print(f"{assignment}: {len(act_on)} hand-in(s) need a look")
        for outcome, meaning in LOOK_FOR.items():
            named = [o.student for o in act_on if o.outcome == outcome]
            if named:
                print(f"  {meaning}: {', '.join(named)}")
        raise SystemExit(f"{assignment}: {len(act_on)} hand-in(s) need a look (see above)")


def grade_class(
    folder: CourseFolder,
    assignment: str,
    students: list[str],
    kernels: dict,
    workers: int | None,
    scheduler: str | None,
    force: bool,
    sole_writer: Callable[[], None],
) -> None:
    """Grade those of ``students``' hand-ins that need it (see :func:`autograde`);
    ``sole_writer()`` exits when this run may no longer write the gradebook."""
    version, release = grading_version(folder, assignment), release_version(folder, assignment)
    compact_runs(folder, assignment)
    before = run_record(folder, assignment)
    print(f"{assignment}: {len(students)} hand-in(s); nbgrader's log goes to {LOG_FILE}")
    to_grade, unchanged = {}, []
    for name in students:
        problem = hand_in_problem(folder, assignment, name)
        if problem:
            # What was received: a learner's file names, which may hold terminal escapes.
            print(f"  {name}: NOT PROCESSED: {printable(problem)}")
            save_run(folder, assignment, {name: {"not_processed": problem, "edited": []}})
            continue
        files = hand_in_files(folder, assignment, name)
        kept = before.get(name, {})
        graded_before = (folder.autograded / name / assignment).is_dir()
        same = kept.get("version") == version and kept.get("hand_in") == digest_of(files)
        if same and graded_before and not kept.get("not_processed") and not force:
            unchanged.append(name)
        else:
            to_grade[name] = files
    if unchanged:
        print(
            f"{assignment}: {len(unchanged)} hand-in(s) already graded and unchanged, kept"
            f" (--force grades them again): {', '.join(unchanged)}"
        )
    said = set()
    started, done = 0.0, 0

    def record(name: str, result: dict) -> None:
        sole_writer()
        with held_signals():
            record_one(name, result)

    def record_one(name: str, result: dict) -> None:
        nonlocal done
        done += 1
        told = bounded(result["log"] + result["error"])
        append_log(folder, f"autograde {assignment} {name}", told)
        for message in result.get("about_the_solution", []):
            if message not in said:
                said.add(message)
                print(f"  {message}")
        for file_name, data in result["records"].items():
            (folder.root / RECORDS).mkdir(exist_ok=True)
            if not (folder.root / RECORDS / file_name).exists() and solution_passes(data):
                (folder.root / RECORDS / file_name).write_bytes(data)
        run = outcome_of(result)
        if not run.get("not_processed"):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")  # SQLAlchemy, about nbgrader's sessions
                try:
                    record_graded(folder, assignment, name, result["graded"])
                except Exception as error:  # one hand-in's notebook must not stop the class
                    told = traceback.format_exc()
                    reason = recording_failed(folder, assignment, name, error)
                    # No version kept: the next autograde grades it again.
                    run["not_processed"] = f"{reason} (see {LOG_FILE})"
                else:
                    told = ""
                    run |= {"version": version, "hand_in": digest_of(to_grade[name])}
                    run[RELEASE] = release
            told += "".join(f"{w.category.__name__}: {w.message}\n" for w in caught)
            append_log(folder, f"record {assignment} {name}", told)
        save_run(folder, assignment, {name: run})
        if run.get("not_processed"):
            line = f"{name}: NOT PROCESSED: {printable(run['not_processed'])}"
        else:
            line = f"{name}: graded in {run['seconds']:.1f} s"
        print(f"{progress(done, len(to_grade), started)} {line}")
        for edit in run["edited"]:
            print(f"  WARNING {name}: {edit}")
        sys.stdout.flush()

    with contextlib.ExitStack() as stack:
        if to_grade:  # the workers start, and warm up, while the assignment is registered
            starting = grading_workers(len(to_grade), workers, scheduler, kernels)
            client = stack.enter_context(starting)
            where = scheduler or f"{len(client.scheduler_info()['workers'])} local worker(s)"
            print(f"{assignment}: grading {len(to_grade)} hand-in(s) on {where}")
            sys.stdout.flush()
        register(folder, assignment)
        if to_grade:
            # The rate counts from here: the workers' start would weigh on every estimate.
            started = time.monotonic()
            grade_on_workers(client, folder, assignment, to_grade, kernels, record)


def print_summary(folder: CourseFolder, assignment: str, outcomes: list[Outcome]) -> None:
    """Print one line per learner: outcome, score, lateness, points left to grade by hand."""
    due = due_date(folder, assignment)
    when = f"due {due:%Y-%m-%d %H:%M} UTC" if due else "no due date"
    print(f"{assignment} ({when}): {len(outcomes)} learner(s)")
    for o in outcomes:
        line = f"  {o.student:<16} {o.outcome:<14}"
        if o.score is not None:
            line += f" {o.score:6.1f} / {o.max_score:g}"
            if o.seconds_late:
                line += f"  late by {late_by(o.seconds_late)} (-{o.penalty:g})"
            if o.pending:
                line += f"  {o.pending:g} point(s) to grade by hand"
        if o.reason:
            line += f"  {printable(o.reason)}"
        print(line)
    pending = [o.student for o in outcomes if o.pending]
    if pending:
        print(
            f"{len(pending)} hand-in(s) wait for hand grading: {', '.join(pending)}"
            " (python3 course.py pending lists the cells)"
        )
    edited = [o.student for o in outcomes if o.edited]
    if edited:
        print(f"locked cells edited (originals put back, see above): {', '.join(edited)}")
