"""The instructor's commands, run in the course's environment from the course folder.

``python3 course.py release|collect|autograde|feedback|grades ...`` sets the environment up and
runs ``.venv/bin/python -m autograder`` with the same arguments; each command drives nbgrader
through its Python API (:mod:`autograder.course_folder`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .autograde import autograde
from .collect import collect, read_submission_times
from .course_folder import CourseFolder
from .deadlines import due_date, extend_due_date, set_due_date
from .exports import export_grades
from .feedback_pages import write_feedback
from .pending import print_pending
from .release import release
from .report import write_report
from .roster import import_roster

COMMANDS = {
    "release": "generate exercises/ from solutions/ with nbgrader, check it, then write the"
    " learner bundle to _build/learner/",
    "due": "set ASSIGNMENT's due date (e.g. '2027-01-15 17:00 UTC') in the gradebook, or one"
    " learner's (--student NAME)",
    "roster": "import the class list (CSV: id, first_name, last_name, email, lms_user_id)",
    "collect": "copy FOLDER/<student>/ into submitted/<student>/ASSIGNMENT/ and say what"
    " cannot be graded",
    "autograde": "autograde submitted/*/ASSIGNMENT/ on grading workers and summarise",
    "feedback": "write feedback pages for ASSIGNMENT (no hidden tests or mark schemes), a"
    " NOT_GRADED page for a hand-in that could not be graded, and one zip per learner",
    "pending": "list what waits for hand grading, per assignment and learner",
    "report": "write reports/ASSIGNMENT/index.html: outcomes, scores, pass rates, mistakes,"
    " what needs a look",
    "grades": "export the grades: grades_wide.csv for an LMS, grades.csv one row per learner"
    " and assignment",
}


def parser() -> argparse.ArgumentParser:
    """The instructor commands' arguments."""
    parsing = argparse.ArgumentParser(prog="course.py", description="instructor commands")
    commands = parsing.add_subparsers(dest="command", required=True, metavar="COMMAND")
    releasing = commands.add_parser("release", help=COMMANDS["release"])
    releasing.add_argument("assignment", nargs="?", help="one assignment (default: all)")
    releasing.add_argument(
        "--check", action="store_true", help="only check that exercises/ is up to date"
    )
    due = commands.add_parser("due", help=COMMANDS["due"])
    due.add_argument("assignment")
    due.add_argument("when", help="a date and time with its zone: '2027-01-15 17:00 UTC'")
    due.add_argument("--student", help="this learner's due date (an extension), not the class's")
    commands.add_parser("roster", help=COMMANDS["roster"]).add_argument("file")
    collecting = commands.add_parser("collect", help=COMMANDS["collect"])
    collecting.add_argument("assignment")
    collecting.add_argument("folder")
    collecting.add_argument(
        "--submitted-at",
        metavar="FILE.csv",
        help="the LMS's submission times (columns id, submitted_at), written as each hand-in's"
        " timestamp.txt in place of any the learner uploaded",
    )
    grading = commands.add_parser("autograde", help=COMMANDS["autograde"])
    grading.add_argument("assignment")
    grading.add_argument("--student", help="grade only this student")
    grading.add_argument(
        "--workers",
        type=int,
        help="grading processes on this machine (default: one per core)",
    )
    grading.add_argument(
        "--scheduler",
        help="grade on the workers of this Dask scheduler instead (tcp://host:8786)",
    )
    grading.add_argument(
        "--force",
        action="store_true",
        help="grade again hand-ins already graded and unchanged",
    )
    grading.add_argument(
        "--cold",
        action="store_true",
        help="start every kernel cold, in a sandbox of its own, instead of forking it from a"
        " template that has imported torch (slower; for comparison)",
    )
    grading.add_argument(
        "--unsandboxed",
        action="store_true",
        help="run submissions without the bubblewrap sandbox, with your rights (not advised)",
    )
    feeding = commands.add_parser("feedback", help=COMMANDS["feedback"])
    feeding.add_argument("assignment")
    feeding.add_argument("--student", help="write only this learner's feedback")
    pending = commands.add_parser("pending", help=COMMANDS["pending"])
    pending.add_argument("assignment", nargs="?", help="one assignment (default: all)")
    commands.add_parser("report", help=COMMANDS["report"]).add_argument("assignment")
    commands.add_parser("grades", help=COMMANDS["grades"])
    return parsing


def main(argv: list[str] | None = None) -> None:
    """Run one instructor command on the course in the current folder."""
    args = parser().parse_args(argv)
    folder = CourseFolder(Path.cwd())
    if args.command == "release":
        release(folder, args.assignment, args.check)
    elif args.command == "due":
        if args.student:
            extend_due_date(folder, args.assignment, args.student, args.when)
        else:
            set_due_date(folder, args.assignment, args.when)
    elif args.command == "roster":
        import_roster(folder, args.file)
    elif args.command == "collect":
        assignment = folder.known(args.assignment)
        times = read_submission_times(Path(args.submitted_at)) if args.submitted_at else None
        timed = due_date(folder, assignment) is not None
        collect(folder, assignment, args.folder, timed=timed, times=times)
    elif args.command == "autograde":
        autograde(
            folder,
            args.assignment,
            args.student,
            sandbox=not args.unsandboxed,
            workers=args.workers,
            scheduler=args.scheduler,
            force=args.force,
            warm=not args.cold,
        )
    elif args.command == "feedback":
        write_feedback(folder, args.assignment, args.student)
    elif args.command == "report":
        write_report(folder, folder.known(args.assignment))
    elif args.command == "pending":
        print_pending(folder, args.assignment)
    else:
        export_grades(folder, folder.root / "grades_wide.csv", folder.root / "grades.csv")


if __name__ == "__main__":
    main()
