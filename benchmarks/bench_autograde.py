"""How long ``nbgrader autograde`` takes per notebook, for each assignment, against a floor.

The floor is the same command on a notebook that only imports torch and resnet_ref: starting
nbgrader, a kernel and PyTorch, which no assignment can avoid. Each assignment's instructor
notebooks are graded as one student's submission (their solutions score full marks, so every
test runs), and the floor and the assignments take turns, round after round, so that a busy
machine slows them alike. The script prints the median seconds per notebook and the ratio to
the floor; the target is at most 1.5 for every assignment, and the exit status is 1 if one
misses it.

    .venv/bin/python benchmarks/bench_autograde.py              # every assignment, 3 rounds
    .venv/bin/python benchmarks/bench_autograde.py a2_blocks --rounds 5
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


def main(argv: list[str] | None = None) -> int:
    """Time every assignment against the floor and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", help="default: every folder in solutions/")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each (default 3)")
    args = parser.parse_args(argv)
    assignments = args.assignments or sorted(
        p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and any(p.glob("*.ipynb"))
    )
    with tempfile.TemporaryDirectory() as scratch:
        course = Path(scratch)
        counts = prepare(course, assignments)
        order = [FLOOR, *assignments]

        def grade(name: str) -> float:
            command = ["autograde", name, "--force", "--student", STUDENT]
            return nbgrader(command, course) / counts[name]

        grade(FLOOR)  # warm-up: fills the disk cache for torch before anything is timed
        times: dict[str, list[float]] = {name: [] for name in order}
        for round_number in range(args.rounds):
            shift = round_number % len(order)
            for name in order[shift:] + order[:shift]:
                times[name].append(grade(name))
                print(f"round {round_number + 1}: {name:<16} {times[name][-1]:6.2f} s/notebook")

    floor = statistics.median(times[FLOOR])
    print()
    print(
        f"nbgrader autograde, seconds per notebook (median of {args.rounds} interleaved runs);"
        f" target: at most {TARGET} x the floor"
    )
    print(f"{'assignment':<36}{'notebooks':>10}{'median s':>10}{'ratio':>8}")
    print(f"{'floor (imports torch and resnet_ref)':<36}{1:>10}{floor:>10.2f}{1:>8.2f}")
    missed = []
    for name in assignments:
        median = statistics.median(times[name])
        ratio = median / floor
        verdict = "ok" if ratio <= TARGET else "ABOVE TARGET"
        print(f"{name:<36}{counts[name]:>10}{median:>10.2f}{ratio:>8.2f}  {verdict}")
        if ratio > TARGET:
            missed.append(name)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
