"""How long ``nbgrader autograde`` takes per notebook, for each assignment, against a floor.

The floor is the same command on a notebook that only imports torch and resnet_ref: starting
nbgrader, a kernel and PyTorch, which no assignment can avoid. Each assignment's instructor
notebooks are graded as one student's submission (their solutions score full marks, so every
test runs), and the floor and the assignments take turns, round after round, so that a busy
machine slows them alike. Each is graded twice a round, in the bubblewrap sandbox (as
``course.py autograde`` grades) and unsandboxed (``--ContainedExecute.sandbox=False``). The
script prints the median seconds per notebook, the ratio of the unsandboxed run to the
unsandboxed floor (target: at most 1.5) and the sandbox's cost, sandboxed over unsandboxed
(target: at most 1.15); the exit status is 1 if one misses its target.

    .venv/bin/python benchmarks/bench_autograde.py              # every assignment, 3 rounds
    .venv/bin/python benchmarks/bench_autograde.py a2_blocks --rounds 5

With ``--class N`` it times a whole class instead: N hand-ins of one assignment (default
a6_theory; the solution, so every test runs), graded by serial ``nbgrader autograde`` with a
cold kernel per notebook (nbgrader's way), by ``course.py autograde --workers W --cold``
(default 2 Dask worker processes, every kernel started cold in its sandbox) and by
``course.py autograde --workers W`` (kernels forked from a warm template), taking turns round
after round. It prints seconds per notebook and each one's ratio to serial; the exit status
is 1 if the warm run misses the goal (6 x fewer seconds than serial):

    .venv/bin/python benchmarks/bench_autograde.py --class 150 --rounds 1 a6_theory

The README ("Grading a large class") has the figures.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
TARGET = 1.5
SANDBOX_TARGET = 1.15
CLASS_GOAL = 6  # seconds per notebook, serial over --workers with warm starts
FLOOR = "floor"
STUDENT = "bench"

FLOOR_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "imports",
            "metadata": {},
            "outputs": [],
            "source": "import torch\n\nimport resnet_ref",
        }
    ],
    "metadata": {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        }
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def environment() -> dict:
    """The venv's bin first on PATH (nbgrader runs alembic from it); this checkout importable."""
    env = dict(os.environ, VIRTUAL_ENV=str(ROOT / ".venv"), PYTHONPATH=str(ROOT))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def nbgrader(args: list[str], course: Path) -> float:
    """Run ``nbgrader ARGS`` in ``course``; return its wall-clock seconds."""
    start = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "nbgrader"), *args, "--log-level=ERROR"],
        cwd=course,
        env=environment(),
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"nbgrader {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return seconds


def prepare(course: Path, assignments: list[str]) -> dict[str, int]:
    """Make a course with the floor and ``assignments``; return each one's notebook count."""
    shutil.copy(ROOT / "nbgrader_config.py", course)
    floor = course / "solutions" / FLOOR
    floor.mkdir(parents=True)
    (floor / f"{FLOOR}.ipynb").write_text(json.dumps(FLOOR_NOTEBOOK), encoding="utf-8")
    for name in assignments:
        shutil.copytree(ROOT / "solutions" / name, course / "solutions" / name)
    counts = {}
    for name in [FLOOR, *assignments]:
        nbgrader(["generate_assignment", name, "--force"], course)
        submitted = course / "submitted" / STUDENT / name
        submitted.mkdir(parents=True)
        for notebook in sorted((course / "solutions" / name).glob("*.ipynb")):
            shutil.copy(notebook, submitted / notebook.name)
        counts[name] = len(list(submitted.glob("*.ipynb")))
    return counts


def time_class(assignment: str, size: int, workers: int, rounds: int) -> int:
    """Grade a class of ``size`` hand-ins serially, on ``workers`` with cold kernels and with
    warm ones; print seconds per notebook and each one's ratio to serial."""
    contenders = {
        "serial nbgrader autograde (cold kernels)": "serial",
        f"course.py autograde --workers {workers} --cold": "cold",
        f"course.py autograde --workers {workers} (warm starts)": "warm",
    }
    times: dict[str, list[float]] = {label: [] for label in contenders}
    with tempfile.TemporaryDirectory() as scratch:
        course = Path(scratch)
        for name in ["course.py", "nbgrader_config.py", "requirements.lock", "pyproject.toml"]:
            shutil.copy(ROOT / name, course)
        shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
        (course / ".venv").symlink_to(ROOT / ".venv")
        nbgrader(["generate_assignment", assignment, "--force"], course)
        notebooks = sorted((course / "solutions" / assignment).glob("*.ipynb"))
        for number in range(size):
            submitted = course / "submitted" / f"learner{number:04d}" / assignment
            submitted.mkdir(parents=True)
            for notebook in notebooks:
                shutil.copy(notebook, submitted / notebook.name)
        per_class = size * len(notebooks)

        def grade(kind: str) -> float:
            if kind == "serial":  # nbgrader as it comes: one cold kernel after another
                cold = "--SandboxedKernelManager.warm_start=False"
                return nbgrader(["autograde", assignment, "--force", cold], course)
            command = [str(BIN / "python"), "-m", "autograder", "autograde", assignment]
            command += ["--force", "--workers", str(workers)]
            command += ["--cold"] if kind == "cold" else []
            start = time.perf_counter()
            done = subprocess.run(command, cwd=course, env=environment(), capture_output=True)
            if done.returncode != 0:
                sys.exit(f"course.py autograde failed:\n{done.stdout[-3000:]}{done.stderr}")
            return time.perf_counter() - start

        labels = list(contenders)
        for round_number in range(rounds):
            shift = round_number % len(labels)
            for label in labels[shift:] + labels[:shift]:
                times[label].append(grade(contenders[label]) / per_class)
                print(f"round {round_number + 1}: {label:<48}{times[label][-1]:6.2f} s/notebook")
    median = {label: statistics.median(values) for label, values in times.items()}
    serial = median[labels[0]]
    print()
    print(
        f"{assignment}: a class of {size} ({per_class} notebooks), seconds per notebook,"
        f" median of {rounds} round(s), {os.cpu_count()} cores; goal: {CLASS_GOAL} x fewer"
        " than serial"
    )
    for label in labels:
        print(f"{label:<52}{median[label]:>8.2f}{serial / median[label]:>7.2f} x fewer seconds")
    return 0 if serial / median[labels[-1]] >= CLASS_GOAL else 1


def main(argv: list[str] | None = None) -> int:
    """Time every assignment against the floor and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", help="default: every folder in solutions/")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each (default 3)")
    parser.add_argument("--class", dest="size", type=int, help="time a class of this size")
    parser.add_argument("--workers", type=int, default=2, help="with --class (default 2)")
    args = parser.parse_args(argv)
    if args.size:
        (assignment,) = args.assignments or ["a6_theory"]
        return time_class(assignment, args.size, args.workers, args.rounds)
    assignments = args.assignments or sorted(
        p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and any(p.glob("*.ipynb"))
    )
    with tempfile.TemporaryDirectory() as scratch:
        course = Path(scratch)
        counts = prepare(course, assignments)
        order = [FLOOR, *assignments]

        def grade(name: str, sandbox: bool) -> float:
            command = ["autograde", name, "--force", "--student", STUDENT]
            command += [] if sandbox else ["--ContainedExecute.sandbox=False"]
            return nbgrader(command, course) / counts[name]

        runs = [(name, sandbox) for name in order for sandbox in (False, True)]
        grade(FLOOR, True)  # warm-up: fills the disk cache for torch before anything is timed
        times: dict[tuple, list[float]] = {run: [] for run in runs}
        for round_number in range(args.rounds):
            shift = round_number % len(runs)
            for name, sandbox in runs[shift:] + runs[:shift]:
                times[name, sandbox].append(grade(name, sandbox))
                where = "sandboxed" if sandbox else "unsandboxed"
                seconds = times[name, sandbox][-1]
                print(f"round {round_number + 1}: {name:<16} {where:<12} {seconds:6.2f} s/notebook")

    median = {run: statistics.median(values) for run, values in times.items()}
    floor = median[FLOOR, False]
    print()
    print(
        f"nbgrader autograde, seconds per notebook (median of {args.rounds} interleaved runs);"
        f" targets: unsandboxed at most {TARGET} x the floor, sandbox cost at most"
        f" {SANDBOX_TARGET} x"
    )
    print(
        f"{'assignment':<36}{'notebooks':>10}{'unsandboxed':>12}{'/ floor':>8}"
        f"{'sandboxed':>11}{'cost':>7}"
    )
    missed = []
    for name in order:
        plain, boxed = median[name, False], median[name, True]
        ratio, cost = plain / floor, boxed / plain
        verdicts = []
        if name != FLOOR and ratio > TARGET:
            verdicts.append("ABOVE TARGET")
        if cost > SANDBOX_TARGET:
            verdicts.append("SANDBOX ABOVE TARGET")
        label = "floor (imports torch and resnet_ref)" if name == FLOOR else name
        print(
            f"{label:<36}{counts[name]:>10}{plain:>12.2f}{ratio:>8.2f}{boxed:>11.2f}{cost:>7.2f}"
            f"  {', '.join(verdicts) or 'ok'}"
        )
        if verdicts:
            missed.append(name)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
