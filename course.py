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
    python3 course.py due ASSIGNMENT WHEN         # the assignment's due date, in the gradebook
    python3 course.py roster FILE.csv             # the class list, into the gradebook
    python3 course.py collect ASSIGNMENT FOLDER   # FOLDER/<student>/ -> submitted/, with warnings
    python3 course.py autograde ASSIGNMENT        # grade submitted/*/ASSIGNMENT/
    python3 course.py pending [ASSIGNMENT]        # what waits for hand grading, per learner
    python3 course.py report ASSIGNMENT           # reports/ASSIGNMENT/index.html, with figures
    python3 course.py feedback ASSIGNMENT         # feedback/<student>/ASSIGNMENT/*.html, zips
    python3 course.py grades                      # grades_wide.csv (for an LMS) and grades.csv

They set up, then run ``.venv/bin/python -m autograder COMMAND ...`` (``autograder/__main__.py``),
which drives nbgrader through its Python API; ``python3 course.py COMMAND --help`` shows their
options. This file itself uses the standard library only, so a bare Python can run it.
"""

import argparse
import glob
import hashlib
import os
import subprocess
import sys
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


def run(cmd, check=True, cwd=ROOT):
    """Print and run a command (from the repository root by default); return its exit code."""
    print("+", " ".join(str(c) for c in cmd), flush=True)
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


# Debian packages the tests need, each with a file it installs: a browser for the book,
# bubblewrap for the grading sandbox, a PostgreSQL server for the gradebook on a server.
SYSTEM_PACKAGES = {
    "chromium": str(CHROMIUM),
    "bubblewrap": "/usr/bin/bwrap",
    "postgresql": "/usr/lib/postgresql/*/bin/postgres",
}


def system_packages():
    """Install the Debian packages the tests need if they are missing (apt needs root)."""
    missing = [name for name, pattern in SYSTEM_PACKAGES.items() if not glob.glob(pattern)]
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

# The instructor commands live in the course's environment, in autograder/__main__.py, which
# says what each does (python3 course.py COMMAND --help); here they are only handed over.
INSTRUCTOR_COMMANDS = (
    "release",
    "due",
    "roster",
    "collect",
    "autograde",
    "pending",
    "report",
    "feedback",
    "grades",
)


def instructor(command, args):
    """Set up, then run an instructor command in the course's environment; exit with its code."""
    setup()
    code = subprocess.call(
        [str(BIN / "python"), "-m", "autograder", command, *args], cwd=ROOT, env=venv_env()
    )
    sys.exit(code)


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
    for name in INSTRUCTOR_COMMANDS:
        commands.add_parser(
            name, help=f"instructor command: python3 course.py {name} --help", add_help=False
        )
    args, extra = parser.parse_known_args(argv)
    if args.command == "test":
        test(extra)
    elif args.command in INSTRUCTOR_COMMANDS:
        instructor(args.command, extra)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    elif args.command == "setup":
        setup()
    elif args.command == "notebooks":
        notebooks()
    else:
        book()


if __name__ == "__main__":
    main()
