"""Grading a class on workers: the same grades as nbgrader's serial run, resumed, on Dask.

One class of ``a6_theory`` hand-ins (the corpus's correct and wrong submissions, a blank one,
a syntax error) is graded three times, each in a copy of the course:

- ``serial``: ``nbgrader autograde`` itself, one hand-in after another;
- ``local``: ``course.py autograde --workers 2`` (a Dask ``LocalCluster`` of two processes),
  first interrupted with Ctrl-C after two hand-ins, then run again to finish;
- ``cluster``: ``course.py autograde --scheduler tcp://...`` on a real ``dask scheduler`` and
  two ``dask worker`` processes that the test starts, one of them killed mid-batch.

Every gradebook row (scores, flags, comments) must be the same in the three.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from distributed import Client
from grading_support import Assignment, broken_syntax, fill_release
from nbgrader.api import Gradebook
from servers import free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
A6 = Assignment("a6_theory", ["theory"])

pytestmark = pytest.mark.slow


def hand_ins() -> dict[str, str]:
    """Each learner's ``theory.ipynb``: the corpus's submissions, a blank one, a syntax error."""
    (notebook,) = A6.notebooks
    release, solution = A6.release(notebook), A6.solution(notebook)
    found = {
        name.replace("_", "-"): json.dumps(fill_release(release, solution, s.sections))
        for name, s in A6.submissions.items()
    }
    correct = fill_release(release, solution, {})
    found["blank"] = release.read_text(encoding="utf-8")
    found["syntax-error"] = json.dumps(broken_syntax(correct))
    found["solution-style"] = json.dumps(correct)
    return found


def course_copy(base: Path, name: str) -> Path:
    """A copy of the course with ``a6_theory`` and every learner's hand-in in ``submitted/``."""
    course = base / name
    course.mkdir()
    for file in ["course.py", "nbgrader_config.py", "requirements.lock", "pyproject.toml"]:
        shutil.copy(ROOT / file, course)
    for folder in ["solutions", "exercises"]:
        shutil.copytree(
            ROOT / folder / A6.name,
            course / folder / A6.name,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    (course / ".venv").symlink_to(ROOT / ".venv")
    for student, text in hand_ins().items():
        folder = course / "submitted" / student / A6.name
        folder.mkdir(parents=True)
        (folder / "theory.ipynb").write_text(text, encoding="utf-8")
    return course


def environment() -> dict[str, str]:
    """The course's environment first on PATH (nbgrader runs alembic from it)."""
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def autograde(course: Path, *options: str) -> subprocess.Popen:
    """``python -m autograder autograde a6_theory OPTIONS`` in ``course``, output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "autograder", "autograde", A6.name, *options],
        cwd=course,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_until(process: subprocess.Popen, pattern: str, timeout: float = 600) -> str:
    """What ``process`` printed up to the first line matching ``pattern``."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if re.search(pattern, line):
            return "".join(seen)
    raise AssertionError(f"no line matching {pattern!r}:\n{''.join(seen)[-3000:]}")


def finish(process: subprocess.Popen, already: str = "") -> str:
    """The rest of ``process``'s output, once it has ended."""
    rest, _ = process.communicate(timeout=900)
    return already + rest


def gradebook_rows(course: Path) -> dict[str, dict]:
    """Every learner's grades and comments on a6_theory, as the gradebook holds them."""
    rows = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for submission in gradebook.find_assignment(A6.name).submissions:
            row = {"score": submission.score}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    # course.py settles 0-point task cells, which nbgrader leaves flagged
                    # (autograder/hand_grading.py): their flag is not nbgrader's to compare.
                    flag = grade.needs_manual_grade if grade.max_score else None
                    row[grade.name] = (grade.auto_score, grade.manual_score, flag)
                for comment in notebook.comments:
                    row[f"comment {comment.name}"] = comment.auto_comment
            rows[submission.student.id] = row
    return rows


@dataclass
class Graded:
    """A course copy after its grading, and what the grading printed."""

    course: Path
    printed: str


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> Graded:
    """The class graded by ``nbgrader autograde``, one hand-in after another."""
    done = subprocess.run([sys.executable, "course.py", "setup"], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr
    course = course_copy(tmp_path_factory.mktemp("serial"), "course")
    for args in [["generate_assignment", A6.name, "--force"], ["autograde", A6.name, "--force"]]:
        done = subprocess.run(
            [BIN / "nbgrader", *args],
            cwd=course,
            env=environment(),
            capture_output=True,
            text=True,
            timeout=1200,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return Graded(course, done.stdout + done.stderr)


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> Graded:
    """The class graded on two local workers: interrupted after two hand-ins, then resumed."""
    course = course_copy(tmp_path_factory.mktemp("local"), "course")
    first = autograde(course, "--workers", "2")
    printed = read_until(first, r"^\[2/")
    first.send_signal(signal.SIGINT)  # the instructor's Ctrl-C
    printed = finish(first, printed)
    assert first.returncode != 0, printed
    resumed = autograde(course, "--workers", "2")
    return Graded(course, printed + "\n=== resumed ===\n" + finish(resumed))


@contextlib.contextmanager
def dask_cluster(base: Path, *workers: dict[str, str]):
    """A ``dask scheduler`` on 127.0.0.1 and one ``dask worker`` per item of ``workers`` (the
    environment variables it gets on top of the course's), all connected; yields the
    scheduler's address and the worker processes, and stops them all."""
    address = f"tcp://127.0.0.1:{free_port()}"
    started = []

    def start(*command: str, **env: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [BIN / "dask", *command],
            cwd=base,
            env=environment() | env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: a kill takes its children too
        )
        started.append(process)
        return process

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1])
        worker = ["worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"]
        for env in workers:
            start(*worker, **env)
        with Client(address, timeout="60s") as client:
            if workers:
                client.wait_for_workers(len(workers), timeout=120)
        yield address, started
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Graded:
    """The class graded on a Dask scheduler and two workers, one of them killed mid-batch."""
    base = tmp_path_factory.mktemp("cluster")
    course = course_copy(base, "course")
    with dask_cluster(base, {}, {}) as (address, started):
        grading = autograde(course, "--scheduler", address)
        printed = read_until(grading, r"^\[2/")
        os.killpg(started[1].pid, signal.SIGKILL)  # a grading machine lost mid-batch
        printed = finish(grading, printed)
    return Graded(course, printed)


def test_two_local_workers_grade_as_nbgrader_does(serial, local):
    rows = gradebook_rows(serial.course)
    assert set(rows) == set(hand_ins()), serial.printed[-3000:]
    assert gradebook_rows(local.course) == rows, local.printed[-3000:]
    assert rows["solution-style"]["score"] > rows["mutant-count-linear"]["score"] > 0
    assert rows["blank"]["score"] == rows["syntax-error"]["score"] == 0


def test_an_interrupted_run_resumes_with_what_is_missing(local):
    interrupted, resumed = local.printed.split("=== resumed ===")
    graded_first = set(re.findall(r"^\[\d+/7\b[^\]]*\] (\S+): graded in", interrupted, re.M))
    assert len(graded_first) >= 2, interrupted
    kept = re.search(r"(\d+) hand-in\(s\) already graded and unchanged, kept", resumed)
    assert kept and int(kept.group(1)) == len(graded_first), resumed
    graded_then = set(re.findall(r"\] (\S+): graded in", resumed))
    assert graded_then == set(hand_ins()) - graded_first, resumed


def test_a_dask_cluster_grades_as_nbgrader_does_though_a_worker_died(serial, cluster):
    assert "grading 7 hand-in(s) on tcp://127.0.0.1:" in cluster.printed, cluster.printed
    assert len(re.findall(r"\] (\S+): graded in", cluster.printed)) == 7, cluster.printed
    assert gradebook_rows(cluster.course) == gradebook_rows(serial.course), cluster.printed


def test_unchanged_hand_ins_are_kept_and_a_changed_one_graded_again(local):
    hand_in = local.course / "submitted" / "blank" / A6.name / "theory.ipynb"
    correct = local.course / "submitted" / "solution-style" / A6.name / "theory.ipynb"
    before = gradebook_rows(local.course)
    hand_in.write_text(correct.read_text(encoding="utf-8"), encoding="utf-8")
    again = finish(autograde(local.course, "--workers", "1"))
    assert re.findall(r"\] (\S+): graded in", again) == ["blank"], again
    after = gradebook_rows(local.course)
    assert after["blank"] == before["solution-style"]
    forced = finish(autograde(local.course, "--workers", "1", "--force", "--student", "ana"))
    assert "nothing to grade" in forced  # no such learner: said, not ignored
    forced = finish(autograde(local.course, "--workers", "1", "--force", "--student", "blank"))
    assert re.findall(r"\] (\S+): graded in", forced) == ["blank"], forced


def test_the_coordinator_starts_without_torch():
    # autograde's own process only hands out hand-ins and records grades: torch (seconds to
    # import) is the workers' and the kernels' business, and jsonschema's IRI grammar nobody's.
    # It reads the course's nbgrader configuration, whose grading step is named, not imported.
    imports = (
        "import sys, pathlib, autograder.__main__; import nbformat;"
        f" autograder.course_folder.CourseFolder(pathlib.Path({str(ROOT)!r})).config();"
        " print(sorted(m for m in ('torch', 'rfc3987_syntax') if sys.modules.get(m)))"
    )
    done = subprocess.run([sys.executable, "-c", imports], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
