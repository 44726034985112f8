"""The gradebook on a real PostgreSQL server, for every instructor command.

nbgrader's SQLite gradebook suits one machine; a course whose teaching assistants grade at
once, or whose grading runs on several machines, points nbgrader's ``db_url`` at a database
server instead. This test starts one from Debian's ``postgresql`` package (``initdb`` in a
temporary folder, a free local port, stopped afterwards), points a copy of the course at it and
runs the week's commands: collect, autograde on two worker processes, hand grading, pending,
grades, feedback, report, then Formgrader on a real Jupyter server. Everything must land in and
come from the server: no ``gradebook.db`` appears in the course.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy
from grading_support import Assignment, course_copy, fill_release
from grading_support import course_py as run_course_py
from nbgrader.api import Gradebook
from servers import jupyter_server

ROOT = Path(__file__).resolve().parents[1]
A6 = Assignment("a6_theory", ["theory"])
CELL_LIMIT = 30

pytestmark = pytest.mark.slow


def hand_ins() -> dict[str, str]:
    """Three learners' ``theory.ipynb``: correct, blank and with one wrong function."""
    (notebook,) = A6.notebooks
    release, solution = A6.release(notebook), A6.solution(notebook)
    wrong = fill_release(release, solution, A6.submissions["mutant_count_linear"].sections)
    return {
        "ana": json.dumps(fill_release(release, solution, {})),
        "ben": release.read_text(encoding="utf-8"),
        "cam": json.dumps(wrong),
    }


@pytest.fixture(scope="module")
def course(tmp_path_factory, gradebook_server):
    """A course copy whose gradebook is the server, after the week's commands; what each printed."""
    # The copy shares this checkout's environment, which must be set up already.
    done = subprocess.run([sys.executable, "course.py", "setup"], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr
    base = tmp_path_factory.mktemp("postgres")
    config = f'c.Execute.timeout = {CELL_LIMIT}\nc.CourseDirectory.db_url = "{gradebook_server}"\n'
    course = course_copy(base / "course", A6.name, config)
    for student, text in hand_ins().items():
        (base / "inbox" / student).mkdir(parents=True)
        (base / "inbox" / student / "theory.ipynb").write_text(text, encoding="utf-8")

    def course_py(*args: str) -> str:
        done = run_course_py(course, *args, timeout=1200)
        # autograde exits 1 when a hand-in needs a look; none of these does.
        assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    printed = {}
    printed["collect"] = course_py("collect", A6.name, str(base / "inbox"))
    printed["autograde"] = course_py("autograde", A6.name, "--workers", "2")
    with Gradebook(gradebook_server) as gradebook:  # ana's written answers, as Formgrader would
        notebook = gradebook.find_submission_notebook("theory", A6.name, "ana")
        for grade in notebook.grades:
            if grade.needs_manual_grade and grade.max_score:
                grade.manual_score = grade.max_score
                grade.needs_manual_grade = False
        gradebook.db.commit()
    for step in ["pending", "grades"]:
        printed[step] = course_py(step)
    for step in ["feedback", "report"]:
        printed[step] = course_py(step, A6.name)
    return course, printed


def test_the_commands_use_the_server_and_no_file(course, gradebook_server):
    folder, printed = course
    assert not (folder / "gradebook.db").exists()
    with Gradebook(gradebook_server) as gradebook:
        scores = {s.student_id: s.score for s in gradebook.assignment_submissions(A6.name)}
        ana = gradebook.find_submission(A6.name, "ana")
        auto_points = sum(n.max_code_score for n in ana.notebooks)
        assert scores["ben"] == 0
        assert 0 < scores["cam"] < auto_points
        assert scores["ana"] == ana.max_score  # every auto point, and the hand-graded ones
    # ana's answers were graded by hand and ben's are blank (nbgrader scores those zero): cam's
    # alone wait.
    waiting = [line.split()[1] for line in printed["pending"].splitlines() if line[:3] == "a6_"]
    assert waiting == ["cam"], printed["pending"]
    with (folder / "grades_wide.csv").open(newline="", encoding="utf-8") as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file)}
    (column,) = [name for name in rows["ana"] if name.startswith(A6.name)]
    assert float(rows["ana"][column]) == scores["ana"]
    assert rows["cam"][column] == ""  # waits for hand grading; the notes say so
    assert f"{scores['cam']:g} so far" in rows["cam"]["notes"]
    for student in ["ana", "ben", "cam"]:
        assert (folder / "feedback" / student / A6.name / "theory.html").is_file()
    assert (folder / "reports" / A6.name / "index.html").is_file()


def test_formgrader_reads_the_server(course, gradebook_server):
    folder, _ = course
    address = f"/formgrader/api/submissions/{A6.name}"
    with jupyter_server("server", folder, ready=address) as site:
        with urllib.request.urlopen(site + address, timeout=60) as answer:
            submissions = json.load(answer)
    with Gradebook(gradebook_server) as gradebook:
        expected = {s.student_id: s.score for s in gradebook.assignment_submissions(A6.name)}
    assert {s["student"]: s["score"] for s in submissions} == expected


# Holds the autograde locks of the course folder it runs in, as a running autograde does.
HOLD_LOCKS = (
    "import sys, time\n"
    "from autograder.course_folder import CourseFolder\n"
    "from autograder.one_writer import only_autograde\n"
    "with only_autograde(CourseFolder('.'), sys.argv[1]):\n"
    "    print('holding', flush=True)\n"
    "    time.sleep(600)\n"
)


def test_one_autograde_per_gradebook_across_course_folders(course, gradebook_server, tmp_path):
    # A teaching assistant's machine: another course folder on the same server gradebook, which
    # no lock file in either folder guards. Two autogrades would both write its grades.
    folder, _ = course
    config = f'c.CourseDirectory.db_url = "{gradebook_server}"\n'
    other = course_copy(tmp_path / "assistant", A6.name, config)
    shutil.copytree(folder / "submitted", other / "submitted")
    python = str(ROOT / ".venv" / "bin" / "python")

    def hold_locks(where: Path) -> subprocess.Popen:
        holder = subprocess.Popen(
            [python, "-c", HOLD_LOCKS, A6.name], cwd=where, stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout.readline() == "holding\n"
        return holder

    holder = hold_locks(folder)
    try:
        done = run_course_py(other, "autograde", A6.name, timeout=600)
    finally:
        holder.kill()  # as a machine lost or a kill -9 would end it: no clean-up of its own
        holder.wait()
    told = done.stdout + done.stderr
    assert done.returncode != 0, told
    assert f"autograde {A6.name} (process {holder.pid} on " in told, told
    assert "is running on this course's gradebook" in told, told
    assert not (other / "autograded").exists()
    # The server let go of the killed holder's lock with its connection.
    hold_locks(other).kill()


def test_an_autograde_that_loses_its_gradebook_lock_stops(course, gradebook_server, tmp_path):
    # The server restarted, or the network dropped the lock's connection: the lock went with it,
    # and a teaching assistant's autograde could now write the gradebook beside this one.
    folder, _ = course
    config = f'c.CourseDirectory.db_url = "{gradebook_server}"\n'
    other = course_copy(tmp_path / "assistant", A6.name, config)
    shutil.copytree(folder / "submitted", other / "submitted")
    command = [sys.executable, "course.py", "autograde", A6.name]
    running = subprocess.Popen(
        command, cwd=other, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    # Each query in a transaction of its own: within one, pg_stat_activity stays as first read.
    engine = sqlalchemy.create_engine(
        gradebook_server, poolclass=sqlalchemy.NullPool, isolation_level="AUTOCOMMIT"
    )
    holder = f"autograde {A6.name} (process %"  # course.py runs it in a process of its own
    try:
        with engine.connect() as connection:
            ended = []
            for _ in range(600):  # until the autograde holds its lock: it starts in seconds
                ended = connection.scalars(
                    sqlalchemy.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE application_name LIKE :holder"
                    ),
                    {"holder": holder},
                ).all()
                if ended or running.poll() is not None:
                    break
                time.sleep(0.1)
        told, _ = running.communicate(timeout=600)
    finally:
        running.kill()
        engine.dispose()
    assert ended == [True], told
    assert running.returncode != 0, told
    assert "stopped: this autograde lost its lock on the gradebook" in told, told
    assert "run this command again to grade the rest" in told, told
    assert not re.search(r"\bgraded in\b", told), told  # no hand-in was recorded without it
    again = run_course_py(other, "autograde", A6.name, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(re.findall(r"\bgraded in\b", again.stdout)) == len(hand_ins()), again.stdout
