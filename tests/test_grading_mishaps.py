"""An instructor's mishaps while grading a class on Dask workers, with the real command.

Each test grades a small class of ``a6_theory`` hand-ins in a copy of the course, with real
``dask scheduler`` and ``dask worker`` processes on 127.0.0.1 where it needs a cluster, and
checks that the mishap is refused or survived with a message saying what to do, and that
nothing wrong is recorded:

- two ``autograde`` commands at once in one course (two terminals), or a ``collect`` during one;
- a grading worker whose repository is at another commit (its checks differ), or without
  bubblewrap;
- a scheduler address where nothing answers, a scheduler with no worker, a scheduler lost
  mid-run (then the next run resumes);
- Ctrl-C pressed again and again in a terminal where autograde runs as a script's background
  job (which ignores it): the grading processes and kernels must not see it;
- an instructor's solution that fails a check: said at every run, its record never kept;
- ``kill`` (SIGTERM) or Ctrl-C while a hand-in is being recorded: it is recorded whole first;
- a question reworded and released again after the class got the assignment: no learner's edit.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry
from servers import free_port
from test_parallel_grading import (
    A6,
    BIN,
    ROOT,
    autograde,
    course_copy,
    dask_cluster,
    environment,
    finish,
    read_until,
)

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
        try:
            submissions = gradebook.find_assignment(A6.name).submissions
        except MissingEntry:  # not even registered: the run stopped before it
            return {}
        return {s.student.id: s.score for s in submissions}


def test_a_second_autograde_or_a_collect_is_refused_while_one_runs(tmp_path):
    course = small_class(tmp_path)
    first = autograde(course, "--workers", "1")
    printed = read_until(first, r"grading 3 hand-in\(s\)")
    second = finish(autograde(course, "--workers", "1", "--force"))
    # A collect then would replace a hand-in whose earlier files are being graded, and the
    # grades of those would pass for the new one's.
    inbox = tmp_path / "inbox" / "blank"
    inbox.mkdir(parents=True)
    shutil.copy(course / "submitted" / "solution-style" / A6.name / "theory.ipynb", inbox)
    collecting = subprocess.run(
        [sys.executable, "-m", "autograder", "collect", A6.name, str(inbox.parent)],
        cwd=course,
        env=environment(),
        capture_output=True,
        text=True,
    )
    printed = finish(first, printed)
    assert collecting.returncode != 0, collecting.stdout
    assert f"autograde {A6.name} (process {first.pid} on " in collecting.stderr
    assert "collected" not in collecting.stdout, collecting.stdout
    assert first.returncode == 0, printed
    assert f"autograde {A6.name} (process {first.pid} on " in second, second
    assert "is running in this course" in second and "graded in" not in second, second
    assert scores(course) == {"blank": 0, "mutant-count-linear": 2, "solution-style": 4}
    # The lock ends with the run that held it: the next run goes ahead (and keeps the grades).
    again = finish(autograde(course, "--workers", "1"))
    assert "3 hand-in(s) already graded and unchanged, kept" in again, again


def other_commit(base: Path) -> Path:
    """A copy of ``autograder`` and ``resnet_ref`` whose ``check_value`` passes any value, as a
    grading machine's checkout at another commit might; returns the folder to import it from."""
    other = base / "other-commit"
    for package in ["autograder", "resnet_ref"]:
        shutil.copytree(ROOT / package, other / package, ignore=shutil.ignore_patterns("*.pyc"))
    checks = other / "resnet_ref" / "grading" / "checks.py"
    strict = "    if got != expected:\n        return _fail("
    assert strict in checks.read_text(encoding="utf-8")
    checks.write_text(
        checks.read_text(encoding="utf-8").replace(strict, strict.replace(":", " and False:", 1)),
        encoding="utf-8",
    )
    return other


def test_a_worker_without_bubblewrap_is_refused_and_no_learner_blamed(tmp_path):
    course = small_class(tmp_path)
    with dask_cluster(tmp_path, {"PATH": str(BIN)}) as (address, _):  # no /usr/bin/bwrap
        refused = autograde(course, "--scheduler", address)
        printed = finish(refused)
    assert refused.returncode != 0, printed
    assert f"refused: {address.rsplit(':', 1)[0]}:" in printed, printed
    assert "cannot sandbox a kernel: bubblewrap (bwrap) is not installed" in printed, printed
    assert "NOT PROCESSED" not in printed and scores(course) == {}, printed


def test_a_worker_at_another_commit_is_refused_before_a_grade_is_recorded(tmp_path):
    course = small_class(tmp_path)
    elsewhere = {"PYTHONPATH": str(other_commit(tmp_path))}
    with dask_cluster(tmp_path, elsewhere) as (address, _):
        refused = autograde(course, "--scheduler", address)
        printed = finish(refused)
    assert refused.returncode != 0, printed
    assert f"refused: {address.rsplit(':', 1)[0]}:" in printed, printed
    assert "resnet_ref/grading/checks.py differs" in printed, printed
    assert "graded in" not in printed and scores(course) == {}, printed


def autograde_quickly(course: Path, *options: str) -> subprocess.Popen:
    """:func:`autograde`, with Dask's connect timeout (30 s) cut to 3 s."""
    return subprocess.Popen(
        [sys.executable, "-m", "autograder", "autograde", A6.name, *options],
        cwd=course,
        env=environment() | {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_no_scheduler_or_no_worker_is_said_and_nothing_recorded(tmp_path):
    course = small_class(tmp_path)
    printed = finish(autograde(course, "--workers", "0"))
    assert "--workers 0: give 1 or more grading processes" in printed, printed
    nobody = f"tcp://127.0.0.1:{free_port()}"
    printed = finish(autograde_quickly(course, "--scheduler", nobody))
    assert f"cannot reach the Dask scheduler at {nobody}" in printed, printed
    with dask_cluster(tmp_path) as (address, _):
        printed = finish(autograde_quickly(course, "--scheduler", address))
    assert f"the Dask scheduler at {address} has no grading worker" in printed, printed
    assert "Traceback" not in printed and scores(course) == {}, printed


def test_a_scheduler_lost_mid_run_blames_no_hand_in_and_the_next_run_resumes(tmp_path):
    course = small_class(tmp_path)
    with dask_cluster(tmp_path, {}) as (address, started):
        grading = autograde_quickly(course, "--scheduler", address)
        printed = read_until(grading, r"^\[1/3")
        os.killpg(started[0].pid, signal.SIGKILL)  # the scheduler's machine lost
        printed = finish(grading, printed)
    assert grading.returncode != 0, printed
    assert "grading stopped after 1 of 3 hand-in(s): the Dask scheduler" in printed, printed
    assert "NOT PROCESSED" not in printed and "Traceback" not in printed, printed
    first = scores(course)
    assert len(first) == 1, printed
    with dask_cluster(tmp_path, {}) as (address, _):
        resumed = finish(autograde_quickly(course, "--scheduler", address))
    assert "1 hand-in(s) already graded and unchanged, kept" in resumed, resumed
    assert len(re.findall(r"\] (\S+): graded in", resumed)) == 2, resumed
    assert scores(course) == {"blank": 0, "mutant-count-linear": 2, "solution-style": 4}


def test_ctrl_c_in_the_terminal_of_a_background_autograde_changes_no_grade(tmp_path):
    course = small_class(tmp_path)
    # A script's background job ignores SIGINT; the terminal still sends it to the whole group.
    ignoring = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv("
    ignoring += "sys.executable, [sys.executable, '-m', 'autograder', *sys.argv[1:]])"
    grading = subprocess.Popen(
        [sys.executable, "-c", ignoring, "autograde", A6.name, "--workers", "2"],
        cwd=course,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the terminal's foreground group, as the killpg below sees it
    )
    printed = read_until(grading, r"grading 3 hand-in\(s\)")

    def press_ctrl_c():
        while grading.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(grading.pid, signal.SIGINT)
            time.sleep(0.2)

    pressing = threading.Thread(target=press_ctrl_c)
    pressing.start()
    printed = finish(grading, printed)
    pressing.join()
    assert grading.returncode == 0, printed
    assert scores(course) == {"blank": 0, "mutant-count-linear": 2, "solution-style": 4}, printed


def test_a_check_the_solution_fails_is_said_at_every_run_and_not_kept(tmp_path):
    course = small_class(tmp_path)
    solution = course / "solutions" / A6.name / "theory.ipynb"
    text = solution.read_text(encoding="utf-8")
    assert "return 2**n\\n" in text
    solution.write_text(text.replace("return 2**n\\n", "return 2**n + 1\\n"), encoding="utf-8")
    # Its source says the same, as after a release: autograde refuses a notebook that is not.
    source = solution.with_name("theory.pct.py")
    source.write_text(source.read_text().replace("return 2**n\n", "return 2**n + 1\n"))
    for run in ["first", "second"]:
        printed = finish(autograde(course, "--workers", "1", "--force", "--student", "blank"))
        assert "the solution fails a check in test_count_paths" in printed, (run, printed)
    kept = [p.read_text() for p in (course / ".referee").glob("*.json")]
    assert not any('"passed": false' in record for record in kept), kept


def test_a_stop_while_a_hand_in_is_recorded_waits_for_the_hand_in(tmp_path):
    # autograde records each hand-in within held_signals. Stopped halfway instead, a kill that
    # came while grading/<assignment>.json was being rewritten left it empty, and every later
    # command failed to read it (seen by timing a SIGTERM against a class's large run record:
    # too narrow a moment to hit on a busy machine, so the hold itself is tested here).
    recording = (
        "import os, signal, sys, time\n"
        "from autograder.autograde import held_signals\n"
        "with held_signals():\n"
        "    os.kill(os.getpid(), getattr(signal, sys.argv[1]))\n"
        "    time.sleep(0.2)\n"
        "    print('recorded whole', flush=True)\n"
        "print('went on after the stop', flush=True)\n"
    )
    for stop, ends in [("SIGTERM", -signal.SIGTERM), ("SIGINT", -signal.SIGINT)]:
        done = subprocess.run(
            [sys.executable, "-c", recording, stop], capture_output=True, text=True, cwd=ROOT
        )
        assert done.stdout == "recorded whole\n", (stop, done.stdout, done.stderr)
        assert done.returncode == ends, (stop, done.returncode, done.stderr)
        assert stop != "SIGINT" or "KeyboardInterrupt" in done.stderr, done.stderr


def test_a_task_cell_changed_after_the_release_is_no_learners_edit(tmp_path):
    # The instructor rewords a question after the class got the assignment, and releases it
    # again. Every hand-in holds the text as it was released then: no learner edited it, and
    # the summary must not say so of the whole class; a learner who did edit it is still named.
    course = small_class(tmp_path)
    source = course / "solutions" / A6.name / "theory.pct.py"
    text = source.read_text(encoding="utf-8")
    asked = "# ## Part 5: open questions (6 points)\n"
    assert text.count(asked) == 1
    source.write_text(text.replace(asked, asked.replace("open", "open, short")), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "release", A6.name],
        cwd=course,
        env=environment(),
        capture_output=True,
        text=True,
    )
    assert f"updated exercises/{A6.name}/theory.ipynb" in done.stdout, done.stdout + done.stderr
    edited = course / "submitted" / "blank" / A6.name / "theory.ipynb"
    notebook = edited.read_text(encoding="utf-8")
    assert notebook.count("## Part 5: open questions") == 1
    edited.write_text(notebook.replace("Part 5: open", "Part 5: my open"), encoding="utf-8")
    printed = finish(autograde(course, "--workers", "1"))
    warned = re.findall(r"WARNING (\S+): edited locked cell (\S+)", printed)
    assert warned == [("blank", "task_socratic")], printed
