"""The class's records, without grading: the roster file, collecting an inbox, the late policy.

Quick checks of the parts of the instructor's week that need no kernel; the whole week, graded,
is ``tests/test_instructor_week.py``.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from grading_support import course_copy, course_py

from autograder.collect import collect, read_submission_times
from autograder.course_folder import CONFIG_FILE, CourseFolder
from autograder.deadlines import DAY, LatePolicy, late_by, parse_due_date
from autograder.outcomes import compact_runs, run_record, save_run
from autograder.roster import read_roster

ASSIGNMENT = "a9_demo"
ROOT = Path(__file__).resolve().parents[1]
A6 = "a6_theory"  # a real assignment, for the tests that run course.py on a copy of the course


@pytest.fixture
def folder(tmp_path) -> CourseFolder:
    """A course folder whose one assignment has one notebook, ``demo.ipynb``."""
    (tmp_path / CONFIG_FILE).write_text("c = get_config()  # noqa: F821\n")
    released = tmp_path / "exercises" / ASSIGNMENT
    released.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), released / "demo.ipynb")
    return CourseFolder(tmp_path)


def notebook_text() -> str:
    return nbformat.writes(nbformat.v4.new_notebook())


def inbox_of(tmp_path, hand_ins: dict[str, dict[str, str]]):
    inbox = tmp_path / "inbox"
    for student, files in hand_ins.items():
        (inbox / student).mkdir(parents=True)
        for name, text in files.items():
            (inbox / student / name).write_text(text)
    return inbox


def test_collect_warns_by_learner_and_file(folder, tmp_path, capsys):
    inbox = inbox_of(
        tmp_path,
        {
            "ok": {"demo.ipynb": notebook_text(), "timestamp.txt": "2027-01-01 10:00:00 UTC"},
            "broken": {"demo.ipynb": "{not json"},
            "two_copies": {"demo (1).ipynb": notebook_text(), "demo (2).ipynb": notebook_text()},
            "renamed": {"Demo-final.ipynb": notebook_text()},
            "empty": {},
        },
    )
    warnings = collect(folder, ASSIGNMENT, inbox)
    assert "broken: demo.ipynb is not a readable notebook (" in "\n".join(warnings)
    assert "renamed: Demo-final.ipynb renamed to demo.ipynb, the notebook it replaces" in warnings
    # Two candidates for one notebook: nothing is guessed, both are named.
    assert "two_copies: demo (1).ipynb is not a notebook of a9_demo (demo.ipynb)" in warnings
    assert "two_copies: demo (2).ipynb is not a notebook of a9_demo (demo.ipynb)" in warnings
    assert "empty: no notebook: it cannot be graded (expected demo.ipynb)" in warnings
    assert not [w for w in warnings if w.startswith("ok:")]
    assert not [w for w in warnings if "timestamp" in w]  # no due date: the time is no matter
    submitted = folder.submitted
    assert (submitted / "renamed" / ASSIGNMENT / "demo.ipynb").is_file()
    assert (submitted / "ok" / ASSIGNMENT / "timestamp.txt").read_text().startswith("2027")
    assert "collected empty: nothing" in capsys.readouterr().out


def test_collect_follows_no_link_and_goes_on_after_a_hand_in_it_cannot_copy(folder, tmp_path):
    # What unzip makes of a hostile zip: links to the instructor's files, a dangling link, a
    # folder that is a link; and a hand-in whose copy fails (its place in submitted/ is taken
    # by a file). The classmates after them are collected all the same.
    secret = tmp_path / "solutions" / "demo.ipynb"
    secret.parent.mkdir()
    secret.write_text(notebook_text())
    inbox = inbox_of(
        tmp_path,
        {
            "a_linker": {},
            "b_blocked": {"demo.ipynb": notebook_text()},
            "c_classmate": {"demo.ipynb": notebook_text()},
        },
    )
    linker = inbox / "a_linker"
    (linker / "demo.ipynb").symlink_to(secret)
    (linker / "notes.txt").symlink_to(tmp_path / "nowhere")
    (linker / "extra").mkdir()
    (linker / "extra" / "config.py").symlink_to(secret)
    (inbox / "a_folder_link").symlink_to(secret.parent, target_is_directory=True)
    (folder.submitted / "b_blocked").mkdir(parents=True)
    (folder.submitted / "b_blocked" / ASSIGNMENT).write_text("in the way")
    warnings = collect(folder, ASSIGNMENT, inbox)

    submitted = folder.submitted
    copied = [p for p in (submitted / "a_linker" / ASSIGNMENT).rglob("*") if not p.is_dir()]
    assert copied == []
    assert "a_linker: demo.ipynb is a link or a special file: not collected" in warnings
    assert "a_linker: extra/config.py is a link or a special file: not collected" in warnings
    assert "a_linker: no notebook: it cannot be graded (expected demo.ipynb)" in warnings
    assert "a_folder_link: is a link, not a folder: not collected" in warnings
    assert not (submitted / "a_folder_link").exists()
    assert [w for w in warnings if w.startswith("b_blocked: could not be collected (")]
    assert (submitted / "c_classmate" / ASSIGNMENT / "demo.ipynb").is_file()
    assert not [w for w in warnings if w.startswith("c_classmate")]


def test_collect_again_replaces_the_hand_in_and_asks_for_times_when_due(folder, tmp_path):
    first = inbox_of(tmp_path / "first", {"ana": {"old.ipynb": notebook_text()}})
    collect(folder, ASSIGNMENT, first)
    second = inbox_of(tmp_path / "second", {"ana": {"demo.ipynb": notebook_text()}})
    warnings = collect(folder, ASSIGNMENT, second, timed=True)
    files = sorted(p.name for p in (folder.submitted / "ana" / ASSIGNMENT).iterdir())
    assert files == ["demo.ipynb"]
    assert warnings == [
        "ana: no timestamp.txt: the submission time is unknown, so it counts as on time"
    ]


def test_the_lms_times_replace_every_timestamp_a_learner_uploaded(folder, tmp_path):
    inbox = inbox_of(
        tmp_path,
        {
            "ana": {"demo.ipynb": notebook_text(), "timestamp.txt": "2027-01-01 10:00:00 UTC"},
            "ben": {"demo.ipynb": notebook_text(), "timestamp.txt": "soon"},
            "cy": {"demo.ipynb": notebook_text(), "timestamp.txt": "2020-01-01 00:00:00 UTC"},
        },
    )
    (inbox / "dee" / "timestamp.txt").mkdir(parents=True)  # a folder: not a time either
    (inbox / "dee" / "demo.ipynb").write_text(notebook_text())
    times = tmp_path / "times.csv"
    times.write_text(
        "\ufeffid,submitted_at\nana,2027-01-01 10:00 UTC\nben,2027-01-02T11:00:00+01:00\n"
        "dee,2027-01-03 10:00 UTC\n"
    )
    warnings = collect(folder, ASSIGNMENT, inbox, timed=True, times=read_submission_times(times))
    assert warnings == [
        "ben: timestamp.txt is not a time, the LMS 2027-01-02 10:00:00 UTC: the LMS's time is kept",
        "cy: the LMS's times have none for it: it counts as on time",
        "dee: timestamp.txt is not a time, the LMS 2027-01-03 10:00:00 UTC: the LMS's time is kept",
    ]
    assert (
        (folder.submitted / "dee" / ASSIGNMENT / "timestamp.txt")
        .read_text()
        .startswith("2027-01-03 10:00:00")
    )
    submitted = folder.submitted
    stamp = submitted / "ben" / ASSIGNMENT / "timestamp.txt"
    assert stamp.read_text() == "2027-01-02 10:00:00.000000 UTC"
    assert not (submitted / "cy" / ASSIGNMENT / "timestamp.txt").exists()  # never the learner's
    # Without the LMS's times, a timestamp.txt nbgrader cannot read is named at once.
    warnings = collect(folder, ASSIGNMENT, inbox)
    assert warnings == [
        "ben: timestamp.txt is not a time: nbgrader will not grade the hand-in",
        "dee: timestamp.txt is not a time: nbgrader will not grade the hand-in",
    ]


def test_lms_times_are_read_with_clear_errors(tmp_path):
    times = tmp_path / "times.csv"
    for text, error in [
        ("id,time\nana,2027-01-01 10:00 UTC\n", "it needs id and submitted_at"),
        ("id,submitted_at\nana,2027-01-01 10:00\n", "line 2: cannot read ana's .* with its zone"),
        ("id,submitted_at\nana,2027-01-01 10:00Z\nana,2027-01-02 10:00Z\n", "line 3: ana has"),
    ]:
        times.write_text(text)
        with pytest.raises(SystemExit, match=error):
            read_submission_times(times)


def test_a_roster_is_read_with_clear_errors(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("\ufeffid,first_name,email\nana,Ana,ana@uni.test\nben,,\n")
    assert read_roster(roster) == [
        {"id": "ana", "first_name": "Ana", "email": "ana@uni.test"},
        {"id": "ben", "first_name": "", "email": ""},
    ]
    roster.write_text("student,name\nana,Ana\n")
    with pytest.raises(SystemExit, match="needs 'id'.*unknown: student, name"):
        read_roster(roster)
    roster.write_text("id\nana\nana\n")
    with pytest.raises(SystemExit, match="ids listed twice: ana"):
        read_roster(roster)
    # Excel's "Unicode text" is UTF-16 with tabs; its older "CSV" is Windows-1252.
    roster.write_text("id\tfirst_name\r\nana\tJos\u00e9\r\n", encoding="utf-16")
    assert read_roster(roster) == [{"id": "ana", "first_name": "Jos\u00e9"}]
    roster.write_text("id,first_name\nana,Jos\u00e9\n", encoding="cp1252")
    with pytest.raises(SystemExit, match="is not UTF-8 text .*save it as 'CSV UTF-8'"):
        read_roster(roster)
    roster.write_text("id,lms_user_id\nana,17\nben,17\ncy,\ndee,\n")
    with pytest.raises(SystemExit, match="lms_user_ids listed twice: 17$"):
        read_roster(roster)
    with pytest.raises(SystemExit, match="no roster file"):
        read_roster(tmp_path / "missing.csv")


def test_the_late_policy_takes_a_share_per_started_day():
    policy = LatePolicy(percent_per_day=10)
    assert policy.late_submission_penalty("ana", 20.0, 1) == pytest.approx(2.0)
    assert policy.late_submission_penalty("ana", 20.0, DAY) == pytest.approx(2.0)
    assert policy.late_submission_penalty("ana", 20.0, DAY + 1) == pytest.approx(4.0)
    assert policy.late_submission_penalty("ana", 20.0, 30 * DAY) == 20.0  # never below zero
    assert late_by(DAY + 16 * 3600) == "1 d 16 h"
    assert late_by(90) == "2 min"
    assert parse_due_date("2027-01-15T18:00:00+01:00").hour == 17
    with pytest.raises(SystemExit, match="cannot read the due date"):
        parse_due_date("next Friday-ish")
    # 17:00 in Berlin is not 17:00 UTC: a due date without its zone is refused, not guessed.
    with pytest.raises(SystemExit, match="write it with its zone"):
        parse_due_date("2027-01-15 17:00")


def test_the_grading_record_is_a_journal_of_plain_json(folder):
    save_run(folder, ASSIGNMENT, {"ana": {"seconds": 3.5, "edited": []}})
    save_run(folder, ASSIGNMENT, {"ben": {"not_processed": "no notebook", "edited": []}})
    save_run(folder, ASSIGNMENT, {"ana": {"seconds": 2.0, "edited": []}})
    assert run_record(folder, ASSIGNMENT)["ana"]["seconds"] == 2.0  # the last line wins
    path = folder.root / "grading" / f"{ASSIGNMENT}.jsonl"
    lines = path.read_text().splitlines()
    assert [json.loads(line) for line in lines][0] == {"ana": {"seconds": 3.5, "edited": []}}

    # A line cut short (a power cut while collect or autograde appended it) is passed over,
    # and the next one still lands on a line of its own.
    with open(path, "a") as journal:
        journal.write('{"cy": {"seconds": 1.')
    save_run(folder, ASSIGNMENT, {"dee": {"seconds": 4.0, "edited": []}})
    assert set(run_record(folder, ASSIGNMENT)) == {"ana", "ben", "dee"}

    # autograde compacts it first: one line per learner, the record unchanged; a record kept
    # whole in grading/<assignment>.json (before the journal) is folded in and removed.
    legacy = folder.root / "grading" / f"{ASSIGNMENT}.json"
    legacy.write_text(json.dumps({"eve": {"seconds": 5.0, "edited": []}, "ana": {"old": 1}}))
    before = run_record(folder, ASSIGNMENT)
    assert before["ana"]["seconds"] == 2.0 and before["eve"]["seconds"] == 5.0
    compact_runs(folder, ASSIGNMENT)
    assert run_record(folder, ASSIGNMENT) == before
    assert len(path.read_text().splitlines()) == len(before) == 4
    assert not legacy.exists()


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A copy of the course with a6_theory; nothing graded."""
    # The copy's setup must find the shared .venv up to date: set up here first.
    done = subprocess.run([sys.executable, "course.py", "setup"], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr
    return course_copy(tmp_path_factory.mktemp("records") / "course", A6, "")


def test_names_from_the_lms_open_as_text_in_a_spreadsheet(course, tmp_path):
    # Display names are the learners' own: each would be a formula in Excel or LibreOffice.
    roster = tmp_path / "class.csv"
    roster.write_text(
        "id,first_name,last_name,email,lms_user_id\n"
        'ana,"=HYPERLINK(""http://evil.test"",""grades"")",@SUM(A1),+1@uni.test,-5\n'
        "ben,Ben,-Ben-,ben@uni.test,42\n",
        encoding="utf-8",
    )
    for args in [["roster", str(roster)], ["due", A6, "2027-01-15 17:00 UTC"], ["grades"]]:
        done = course_py(course, *args)
        assert done.returncode == 0, done.stdout + done.stderr
    for table in ["grades_wide.csv", "grades.csv"]:
        with open(course / table, newline="", encoding="utf-8") as file:
            rows = {row["student_id"]: row for row in csv.DictReader(file)}
        assert rows["ana"]["first_name"] == '\'=HYPERLINK("http://evil.test","grades")'
        assert rows["ana"]["last_name"] == "'@SUM(A1)"
        assert rows["ana"]["email"] == "'+1@uni.test"
        assert rows["ana"]["lms_user_id"] == "-5"  # a number is no formula: kept exact
        assert rows["ben"]["first_name"] == "Ben"
        assert rows["ben"]["last_name"] == "'-Ben-"
        assert rows["ben"]["lms_user_id"] == "42"


def test_odd_folder_names_are_refused_or_made_one_learner_by_the_real_collect(course, tmp_path):
    nfd, nfc = "Jose\u0301", "Jos\u00e9"  # a Mac's zip writes é as e and an accent
    inbox = inbox_of(
        tmp_path,
        {
            name: {"theory.ipynb": notebook_text()}
            for name in ["[abc]", "=cmd", "-rf", ".hidden", nfd, "Ana", "ana", "x y", "y" * 252]
        },
    )
    (inbox / "__MACOSX" / "ana").mkdir(parents=True)
    (inbox / "__MACOSX" / "ana" / "._theory.ipynb").write_bytes(b"\x00\x05")
    done = course_py(course, "collect", A6, str(inbox))
    assert done.returncode == 0, done.stderr
    for name, why in [
        ("[abc]", "has one of [ ] * ?, which nbgrader reads as a file name pattern"),
        ("=cmd", "starts with = + - or @, which a spreadsheet opens as a formula"),
        ("-rf", "starts with = + - or @"),
        (".hidden", "starts with '.', a hidden folder"),
        ("y" * 252, "is longer than 251 bytes, too long for the name of its feedback zip"),
    ]:
        assert f"WARNING {name!r}: the folder name {why}" in done.stdout
    assert "left out __MACOSX: macOS's metadata of the zip, not a learner" in done.stdout
    assert "WARNING Ana, ana: names that differ only in case" in done.stdout
    students = sorted(p.name for p in (course / "submitted").iterdir())
    assert students == sorted(["Ana", "ana", nfc, "x y"])
    # The roster names the same learner in the LMS's form, separated by ';' as many
    # spreadsheets save it: one learner, with the name.
    roster = tmp_path / "class.csv"
    roster.write_text(f"id;first_name\n{nfc};Jos\u00e9\n", encoding="utf-8")
    assert course_py(course, "roster", str(roster)).returncode == 0
    # A name with an unquoted comma would shift every later column: refused, with its line.
    roster.write_text("id,first_name,last_name,email\nana,Ana,Smith, Jr.,ana@uni.test\n")
    done = course_py(course, "roster", str(roster))
    assert done.returncode != 0
    assert "class.csv, line 2: more values than columns" in done.stderr
    roster.write_text(f"id\n{nfd}\n")
    assert read_roster(roster) == [{"id": nfc}]
    roster.write_text(f"id\n{nfd}\n[abc]\n")
    done = course_py(course, "roster", str(roster))
    assert "class.csv, line 3: the id '[abc]' has one of [ ] * ?" in done.stderr
    roster.write_text("id\nana/../../etc\n")
    done = course_py(course, "roster", str(roster))
    assert "class.csv, line 2: the id 'ana/../../etc' has a / or \\" in done.stderr


def test_a_zipped_folder_hands_in_its_notebook_without_jupyters_checkpoints(course, tmp_path):
    # A learner who zips their whole folder sends JupyterLab's .ipynb_checkpoints along; it is
    # no part of the hand-in (nbgrader's exchange leaves it out), and grading choked on it.
    inbox = inbox_of(tmp_path, {"lou": {"theory.ipynb": notebook_text()}})
    (inbox / "lou" / ".ipynb_checkpoints").mkdir()
    (inbox / "lou" / ".ipynb_checkpoints" / "theory-checkpoint.ipynb").write_text(notebook_text())
    done = course_py(course, "collect", A6, str(inbox))
    assert done.returncode == 0, done.stderr
    assert (
        "collected lou: theory.ipynb (.ipynb_checkpoints left out, as nbgrader leaves them out)"
        in done.stdout
    )
    hand_in = course / "submitted" / "lou" / A6
    assert sorted(p.name for p in hand_in.rglob("*")) == ["theory.ipynb"]


def test_a_folder_whose_name_is_a_roster_id_in_another_case_is_reported(course, tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("id,first_name\nKim.Lee,Kim\n")
    assert course_py(course, "roster", str(roster)).returncode == 0
    inbox = inbox_of(tmp_path, {"kim.lee": {"theory.ipynb": notebook_text()}})
    done = course_py(course, "collect", A6, str(inbox))
    assert done.returncode == 0, done.stderr
    assert (
        "WARNING kim.lee: not on the roster, but Kim.Lee is: the same learner? If so, rename the"
        " folder; otherwise it is graded as a learner of its own"
    ) in done.stdout


def test_a_file_name_cannot_rewrite_the_instructors_console(course, tmp_path):
    # Cursor up and erase line: printed raw, it would wipe the warning printed just before.
    erase = "\x1b[1A\x1b[2K"
    inbox = inbox_of(tmp_path, {"mo": {"theory.ipynb": notebook_text(), f"{erase}x.txt": ""}})
    done = course_py(course, "collect", A6, str(inbox))
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout
    assert "WARNING mo: \\x1b[1A\\x1b[2Kx.txt is not a notebook" in done.stdout
    # Nor can it when autograde's summary says what a hand-in without a notebook held.
    inbox = inbox_of(tmp_path / "again", {"mo": {f"{erase}x.txt": ""}})
    assert course_py(course, "collect", A6, str(inbox)).returncode == 0
    done = course_py(course, "autograde", A6, "--student", "mo")
    assert "no notebook named theory.ipynb; received: \\x1b[1A\\x1b[2Kx.txt" in done.stdout
    assert not [line for line in done.stdout.splitlines() if "mo" in line and "\x1b" in line]


def test_only_a_copy_of_the_notebook_is_renamed_into_it(course, tmp_path):
    # Another assignment's notebook shares a cell or two (the set-up): renamed, it was graded
    # as this one's, nbgrader failed on it, and the learner was told the grader was at fault.
    blocks = ROOT / "exercises" / "a2_blocks" / "blocks.ipynb"
    theory = ROOT / "exercises" / A6 / "theory.ipynb"
    inbox = tmp_path / "inbox"
    for student, source, name in [
        ("ned", blocks, "blocks.ipynb"),
        ("ola", blocks, "theory.ipynb"),
        ("pia", theory, "theory (1).ipynb"),
    ]:
        (inbox / student).mkdir(parents=True)
        shutil.copy(source, inbox / student / name)
    done = course_py(course, "collect", A6, str(inbox))
    assert done.returncode == 0, done.stderr
    assert "WARNING ned: blocks.ipynb is not a notebook of a6_theory (theory.ipynb)" in done.stdout
    assert (
        "WARNING ola: theory.ipynb lacks most of the cells of a6_theory's theory.ipynb"
        in done.stdout
    )
    assert "WARNING pia: theory (1).ipynb renamed to theory.ipynb" in done.stdout
    submitted = course / "submitted"
    assert [p.name for p in (submitted / "ned" / A6).iterdir()] == ["blocks.ipynb"]
    assert [p.name for p in (submitted / "pia" / A6).iterdir()] == ["theory.ipynb"]
