"""The one entry point of the Residual Networks course.

Run it with a bare Python 3.11 (standard library only)::

    python3 course.py setup   # create .venv and install the pinned environment
    python3 course.py book    # set up, then build the book strictly into _build/html
    python3 course.py test    # set up, then run ruff and the whole pytest suite

``book`` first runs ``python3 course.py notebooks``, which regenerates the chapters' notebooks
(``book/notebooks/*.ipynb``, for Colab and download) from their ``.md`` sources.

Extra arguments after ``test`` go to pytest, e.g. ``python3 course.py test -x -k models``.

Instructor commands (nbgrader, configured by ``nbgrader_config.py``)::

    python3 course.py release [ASSIGNMENT]        # solutions/ -> exercises/, then check them
    python3 course.py collect ASSIGNMENT FOLDER   # FOLDER/<student>/*.ipynb -> submitted/
    python3 course.py autograde ASSIGNMENT        # grade submitted/*/ASSIGNMENT/
    python3 course.py feedback ASSIGNMENT         # feedback/<student>/ASSIGNMENT/*.html
    python3 course.py grades                      # export every grade to grades.csv
"""

import argparse
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / "course-setup.sha256"
LOCK_INPUTS = [ROOT / "requirements.lock", ROOT / "pyproject.toml"]
CHROMIUM = Path("/usr/bin/chromium")
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
SUBMITTED = ROOT / "submitted"
NBGRADER = BIN / "nbgrader"
TEXT_NOTEBOOK = ".pct.py"  # jupytext percent format: the reviewable source of a notebook


def venv_env():
    """Return the environment for subprocesses: the venv's bin first on PATH."""
    env = dict(os.environ, VIRTUAL_ENV=str(VENV))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONHOME", None)
    return env


class Prefixed:
    """A text stream that starts every line written to it with ``prefix``."""

    def __init__(self, stream, prefix):
        self.stream, self.prefix, self.at_line_start = stream, prefix, True

    def write(self, text):
        """Write ``text``, with the prefix at the start of each line."""
        for piece in text.splitlines(keepends=True):
            if self.at_line_start:
                self.stream.write(self.prefix)
            self.stream.write(piece)
            self.at_line_start = piece.endswith("\n")
        return len(text)

    def flush(self):
        """Flush the underlying stream."""
        self.stream.flush()


def run(cmd, check=True, cwd=ROOT):
    """Print and run a command (from the repository root by default); return its exit code.

    When ``sys.stdout`` is :class:`Prefixed`, the command's output goes through it too.
    """
    print("+", " ".join(str(c) for c in cmd), flush=True)
    if isinstance(sys.stdout, Prefixed):
        process = subprocess.Popen(
            [str(c) for c in cmd],
            cwd=cwd,
            env=venv_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for line in process.stdout:
            print(line, end="", flush=True)
        code = process.wait()
    else:
        code = subprocess.call([str(c) for c in cmd], cwd=cwd, env=venv_env())
    if check and code != 0:
        sys.exit(f"command failed with exit code {code}: {cmd[0]}")
    return code


def inputs_hash():
    """Hash the files that define the environment, so setup reruns only when they change."""
    digest = hashlib.sha256()
    for path in LOCK_INPUTS:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def setup():
    """Create .venv if missing and install the locked environment when its inputs changed."""
    if not (BIN / "python").exists():
        print(f"creating virtual environment in {VENV}")
        run([sys.executable, "-m", "venv", VENV])
    wanted = inputs_hash()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        print("already set up (requirements.lock and pyproject.toml unchanged)")
        return
    print("installing the pinned environment from requirements.lock")
    pip = [BIN / "python", "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "-r", "requirements.lock"])
    # setuptools is pinned in the lock, so the editable install needs no download.
    run([*pip, "install", "--no-deps", "--no-build-isolation", "-e", "."])
    STAMP.write_text(wanted + "\n")
    print("set up: .venv is ready")


def notebooks():
    """Regenerate book/notebooks/*.ipynb (for Colab and download) from the chapters' .md."""
    setup()
    run([BIN / "python", ROOT / "scripts" / "sync_notebooks.py"])


def book():
    """Build the whole book into _build/html; any warning or cell error fails the build."""
    notebooks()
    # --all rereads every page, so warnings of unchanged pages are not hidden by Sphinx's
    # incremental build; executed notebooks still come from the jupyter-cache.
    run([BIN / "jupyter-book", "build", ".", "-W", "-n", "--keep-going", "--all"])
    print(f"book built: {ROOT / '_build' / 'html' / 'index.html'}")


# Debian packages the tests need: a browser for the book, bubblewrap for the grading sandbox.
SYSTEM_PACKAGES = {"chromium": CHROMIUM, "bubblewrap": Path("/usr/bin/bwrap")}


def system_packages():
    """Install the Debian packages the tests need if they are missing (apt needs root)."""
    missing = [name for name, path in SYSTEM_PACKAGES.items() if not path.exists()]
    if not missing:
        return
    print(f"installing Debian packages {', '.join(missing)} (the tests need them)")
    os.environ["DEBIAN_FRONTEND"] = "noninteractive"
    run(["apt-get", "update"])
    run(["apt-get", "install", "-y", "--no-install-recommends", *missing])


def test(pytest_args):
    """Run ruff (lint and format check) and pytest; exit non-zero if any of them fails."""
    setup()
    system_packages()
    failed = []
    for name, cmd in [
        ("ruff check", [BIN / "ruff", "check", "."]),
        ("ruff format", [BIN / "ruff", "format", "--check", "."]),
        ("pytest", [BIN / "python", "-m", "pytest", *pytest_args]),
    ]:
        code = run(cmd, check=False)
        if code != 0:  # pytest's 5 ("no tests collected") counts as a failure too
            failed.append(f"{name} (exit {code})")
    if failed:
        sys.exit("FAILED: " + ", ".join(failed))
    print("all checks passed")


# --- instructor workflow (nbgrader) ------------------------------------------------------


def assignment_names():
    """The assignments: the folders of solutions/ that hold notebooks or their text sources."""
    if not SOLUTIONS.is_dir():
        return []
    return sorted(
        folder.name
        for folder in SOLUTIONS.iterdir()
        if folder.is_dir()
        and (any(folder.glob("*.ipynb")) or any(folder.glob("*" + TEXT_NOTEBOOK)))
    )


def notebook_json(source):
    """The notebook of a jupytext percent file, as nbformat's JSON text: no outputs, stable ids.

    Cell ids are the nbgrader grade ids where there are some, ``cell-<index>`` elsewhere, so that
    converting the same text twice gives the same file.
    """
    converted = subprocess.run(
        [BIN / "jupytext", "--to", "ipynb", "--output", "-", source],
        capture_output=True,
        text=True,
        check=True,
        env=venv_env(),
    ).stdout
    notebook = json.loads(converted)
    for index, cell in enumerate(notebook["cells"]):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        cell["id"] = grade_id or f"cell-{index}"
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    notebook["metadata"].pop("jupytext", None)
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def build_notebooks(check_only=False):
    """Write solutions/*/X.ipynb from X.pct.py; with ``check_only``, list the stale ones instead."""
    problems = []
    for source in sorted(SOLUTIONS.glob("*/*" + TEXT_NOTEBOOK)):
        target = source.with_name(source.name[: -len(TEXT_NOTEBOOK)] + ".ipynb")
        wanted = notebook_json(source)
        if target.exists() and target.read_text(encoding="utf-8") == wanted:
            continue
        relative = target.relative_to(ROOT)
        if check_only:
            problems.append(f"{relative} differs from {source.name}: run python3 course.py release")
        else:
            target.write_text(wanted, encoding="utf-8")
            print(f"wrote {relative} from {source.name}")
    return problems


def notebook_fingerprint(path):
    """What a learner's notebook consists of, without volatile fields (ids, outputs, counts)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))

    def text(source):
        return "".join(source) if isinstance(source, list) else source

    cells = [
        (
            cell["cell_type"],
            text(cell["source"]),
            json.dumps(cell.get("metadata", {}), sort_keys=True),
        )
        for cell in notebook["cells"]
    ]
    return cells, notebook["metadata"].get("kernelspec")


def compare_folders(generated, committed, label):
    """List how the files under ``committed`` differ from freshly generated ones."""
    problems = []
    want = {p.relative_to(generated) for p in generated.rglob("*") if p.is_file()}
    have = {p.relative_to(committed) for p in committed.rglob("*") if p.is_file()}
    for missing in sorted(want - have):
        problems.append(f"{label}/{missing} is missing")
    for extra in sorted(have - want):
        problems.append(f"{label}/{extra} is not generated from solutions/")
    for common in sorted(want & have):
        new, old = generated / common, committed / common
        same = (
            notebook_fingerprint(new) == notebook_fingerprint(old)
            if common.suffix == ".ipynb"
            else new.read_bytes() == old.read_bytes()
        )
        if not same:
            problems.append(f"{label}/{common} is out of date with solutions/")
    return problems


def release_problems(assignments=None):
    """Check that the notebooks and exercises/ are what solutions/ generates; list differences.

    The release is regenerated in a temporary copy of the course, so the check changes nothing.
    """
    assignments = assignments or assignment_names()
    problems = build_notebooks(check_only=True)
    with tempfile.TemporaryDirectory() as scratch:
        course = Path(scratch)
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(
            SOLUTIONS, course / "solutions", ignore=shutil.ignore_patterns("__pycache__")
        )
        for assignment in assignments:
            done = subprocess.run(
                [NBGRADER, "generate_assignment", assignment, "--force", "--log-level=ERROR"],
                cwd=course,
                env=venv_env(),
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                problems.append(f"nbgrader generate_assignment {assignment} failed: {done.stderr}")
                continue
            problems += compare_folders(
                course / "exercises" / assignment,
                EXERCISES / assignment,
                f"exercises/{assignment}",
            )
    if EXERCISES.exists():
        for folder in sorted(p for p in EXERCISES.iterdir() if p.is_dir()):
            if folder.name not in assignment_names():
                problems.append(f"exercises/{folder.name} has no source in solutions/")
    return problems


LEARNER_BUILD = ROOT / "_build" / "learner"  # the learner bundle and its zip (release)


def release(assignment=None, check_only=False):
    """Generate exercises/ from solutions/ (all assignments, or one), then check the result.

    A release of all assignments then writes the learner bundle, what learners get instead of
    this repository, to ``_build/learner/resnet-course-learner/`` and its ``.zip``
    (``autograder/learner_bundle.py``).
    """
    setup()
    assignments = [assignment] if assignment else assignment_names()
    unknown = set(assignments) - set(assignment_names())
    if unknown:
        sys.exit(f"unknown assignment {', '.join(sorted(unknown))}; known: {assignment_names()}")
    if not check_only:
        build_notebooks()
        for name in assignments:
            run([NBGRADER, "generate_assignment", name, "--force"])
    problems = release_problems(assignments)
    if problems:
        sys.exit("release check failed:\n  " + "\n  ".join(problems))
    print(f"release check passed: exercises/ matches solutions/ for {', '.join(assignments)}")
    if check_only:
        return
    if assignment:
        # The bundle holds every assignment, so it is only written once all of them are checked.
        print("learner bundle not written: run python3 course.py release (all assignments)")
        return
    # What learners get instead of this repository: exercises/, resnet_ref, pinned setup.
    run([BIN / "python", "-m", "autograder.learner_bundle", LEARNER_BUILD])


def collect(assignment, folder):
    """Copy FOLDER/<student>/*.ipynb into submitted/<student>/<assignment>/ for autograde."""
    folder = Path(folder).resolve()
    students = sorted(p for p in folder.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
    if not students:
        sys.exit(f"no submissions in {folder}: expected {folder}/<student>/<notebook>.ipynb")
    for student in students:
        target = SUBMITTED / student.name / assignment
        target.mkdir(parents=True, exist_ok=True)
        for notebook in sorted(student.glob("*.ipynb")):
            shutil.copy2(notebook, target / notebook.name)
        print(f"collected {student.name}: {', '.join(p.name for p in student.glob('*.ipynb'))}")


def autograde(assignment, student=None, sandbox=True):
    """Autograde every submission in submitted/*/ASSIGNMENT/ (or one student's), then summarise.

    The assignment is first registered in the gradebook from solutions/ (its release goes to a
    scratch folder, exercises/ stays untouched), so the gradebook always holds the current
    tests. nbgrader adds unknown students to the gradebook. Every submission runs in a
    bubblewrap sandbox (``autograder/``); a submission that does not run, or whose kernel dies,
    hangs or floods its output, is graded zero for what it breaks and the others are graded all
    the same. Without bwrap this refuses to run, unless ``sandbox`` is False on purpose: then
    every line it prints says so.
    """
    setup()
    if assignment not in assignment_names():
        sys.exit(f"unknown assignment {assignment!r}; known: {', '.join(assignment_names())}")
    pattern = f"{student or '*'}/{assignment}"
    if not any(p.is_dir() for p in SUBMITTED.glob(pattern)):
        sys.exit(
            f"nothing to grade: no folder submitted/{pattern}/; put each learner's notebooks in"
            f" submitted/<student>/{assignment}/ (python3 course.py collect {assignment} FOLDER)"
        )
    if sandbox and not shutil.which("bwrap"):
        sys.exit(
            "bubblewrap (bwrap) is not installed, so submissions cannot be sandboxed: install it"
            " (Debian/Ubuntu: apt-get install bubblewrap), or grade unsandboxed on purpose with"
            f" python3 course.py autograde {assignment} --unsandboxed"
        )
    if not sandbox:
        sys.stdout = Prefixed(sys.stdout, "UNSANDBOXED (submissions run with your rights): ")
    with tempfile.TemporaryDirectory() as scratch:
        run(
            [NBGRADER, "generate_assignment", assignment, "--force", "--log-level=WARN"]
            + [f"--CourseDirectory.release_directory={scratch}"]
        )
    command = [NBGRADER, "autograde", assignment, "--force"]
    command += ["--student", student] if student else []
    command += [] if sandbox else ["--ContainedExecute.sandbox=False"]
    code = run(command, check=False)
    print_scores(assignment)
    contained = print_flagged(
        assignment, ("GradingStopped", "CellTimedOut"), "contained by the grader"
    )
    refused = print_flagged(assignment, ("GradingRefused",), "refused by the referee")
    problems = []
    if code != 0:
        problems.append(f"nbgrader could not process some submissions (exit {code}); see above")
    if contained:
        problems.append(f"submissions stopped by the grader: {', '.join(contained)}")
    if refused:
        problems.append(f"test cells refused by the referee: {', '.join(refused)}")
    if problems:
        sys.exit("; ".join(problems))


def print_flagged(assignment, errors, what):
    """Print, and return, the learners with a graded cell that holds one of the ``errors``.

    The grader writes these errors into a cell: ``GradingStopped`` or ``CellTimedOut`` where it
    had to stop or interrupt the kernel, ``GradingRefused`` where a test cell's checks did not
    reach the referee as the solution's did (``autograder/execute.py``); the graded notebooks
    are read back for them.
    """
    found = {}
    for path in sorted(ROOT.glob(f"autograded/*/{assignment}/*.ipynb")):
        student = path.parent.parent.name
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        for cell in cells:
            for output in cell.get("outputs", []):
                if output.get("ename") in errors:
                    found.setdefault(student, f"{path.name}: {output['evalue']}")
                    break
            if student in found:
                break
    if found:
        print(f"{assignment}: {len(found)} submission(s) {what}")
        for student, reason in found.items():
            print(f"  {student:<24} {reason}")
    return list(found)


def export_grades(destination):
    """Write every grade in the gradebook to the CSV file ``destination``."""
    run([NBGRADER, "export", f"--to={destination}", "--log-level=WARN"])


def print_scores(assignment):
    """Print each student's total for ``assignment`` from the gradebook."""
    with tempfile.TemporaryDirectory() as scratch:
        table = Path(scratch) / "grades.csv"
        export_grades(table)
        with table.open(newline="") as handle:
            rows = [row for row in csv.DictReader(handle) if row["assignment"] == assignment]
    print(f"{assignment}: {len(rows)} submission(s)")
    for row in rows:
        print(
            f"  {row['student_id']:<24} {float(row['score']):6.1f} / {float(row['max_score']):.1f}"
        )


def feedback(assignment):
    """Write feedback HTML (no hidden test code) to feedback/<student>/<assignment>/."""
    setup()
    run([NBGRADER, "generate_feedback", assignment, "--force"])
    print(f"feedback written under {ROOT / 'feedback'}/<student>/{assignment}/")


def grades():
    """Export every student's score on every assignment to grades.csv."""
    setup()
    export_grades(ROOT / "grades.csv")
    print(f"grades written to {ROOT / 'grades.csv'}")


def main(argv=None):
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="course.py", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("setup", help="create .venv and install the pinned environment")
    commands.add_parser("book", help="set up, then build the book strictly into _build/html")
    commands.add_parser(
        "notebooks", help="regenerate book/notebooks/*.ipynb from the chapters' .md files"
    )
    commands.add_parser(
        "test", help="set up, then run ruff and pytest (further arguments go to pytest)"
    )
    releasing = commands.add_parser(
        "release",
        help="generate exercises/ from solutions/ with nbgrader, check it, then write the"
        " learner bundle to _build/learner/",
    )
    releasing.add_argument("assignment", nargs="?", help="one assignment (default: all)")
    releasing.add_argument(
        "--check", action="store_true", help="only check that exercises/ is up to date"
    )
    collecting = commands.add_parser(
        "collect", help="copy FOLDER/<student>/*.ipynb into submitted/<student>/ASSIGNMENT/"
    )
    collecting.add_argument("assignment")
    collecting.add_argument("folder")
    grading = commands.add_parser("autograde", help="autograde submitted/*/ASSIGNMENT/")
    grading.add_argument("assignment")
    grading.add_argument("--student", help="grade only this student")
    grading.add_argument(
        "--unsandboxed",
        action="store_true",
        help="run submissions without the bubblewrap sandbox, with your rights (not advised)",
    )
    commands.add_parser(
        "feedback", help="write feedback HTML for ASSIGNMENT (hidden tests left out)"
    ).add_argument("assignment")
    commands.add_parser("grades", help="export all grades to grades.csv")
    args, extra = parser.parse_known_args(argv)
    if args.command == "test":
        test(extra)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    elif args.command == "setup":
        setup()
    elif args.command == "notebooks":
        notebooks()
    elif args.command == "release":
        release(args.assignment, args.check)
    elif args.command == "collect":
        collect(args.assignment, args.folder)
    elif args.command == "autograde":
        autograde(args.assignment, args.student, sandbox=not args.unsandboxed)
    elif args.command == "feedback":
        feedback(args.assignment)
    elif args.command == "grades":
        grades()
    else:
        book()


if __name__ == "__main__":
    main()
