"""What recording one hand-in in the run record costs at a class's size: a line added to the
journal (``autograder.outcomes.save_run``, what autograde does) against the whole record
rewritten, as it was before the journal, side by side in one run.

For each class size, a record of that many learners (one hand-in each, with the fields autograde
writes) is laid down, then ``--hand-ins`` more hand-ins are recorded both ways in turn, in a
scratch course folder. Prints the milliseconds per hand-in of each and their ratio
(rewrite / append). A measurement, not a test: it exits 0 whatever the ratio.

    .venv/bin/python benchmarks/bench_run_record.py [--sizes 100,1000,10000] [--hand-ins 50]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.course_folder import CONFIG_FILE, CourseFolder  # noqa: E402
from autograder.outcomes import compact_runs, run_record, save_run  # noqa: E402


def a_run(student: str) -> dict:
    """What autograde records of one graded hand-in."""
    return {
        "edited": [],
        "hand_in": hashlib.sha256(student.encode()).hexdigest(),
        "seconds": 12.3,
        "version": hashlib.sha256(b"kit").hexdigest(),
    }


def rewrite_whole(folder: CourseFolder, assignment: str, runs: dict) -> None:
    """The record before the journal: read it all, merge, write it all beside and swap it in."""
    path = folder.root / "grading" / f"{assignment}.json"
    record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(record | runs, indent=1, sort_keys=True) + "\n")
    partial.replace(path)


def milliseconds_per_hand_in(record, folder: CourseFolder, assignment: str, hand_ins: int):
    """Record ``hand_ins`` new hand-ins with ``record``; the mean milliseconds of one."""
    started = time.perf_counter()
    for index in range(hand_ins):
        name = f"late{index:05d}"
        record(folder, assignment, {name: a_run(name)})
    return (time.perf_counter() - started) / hand_ins * 1000


def main() -> None:
    """Time both ways at each class size and print a row each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="class sizes, comma-separated")
    parser.add_argument("--hand-ins", type=int, default=50, help="hand-ins timed per size")
    args = parser.parse_args()
    print(f"{'learners':>9}  {'append (ms)':>11}  {'rewrite (ms)':>12}  {'rewrite / append':>16}")
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            (root / CONFIG_FILE).write_text("c = get_config()  # noqa: F821\n")
            folder = CourseFolder(root)
            (root / "grading").mkdir()
            class_record = {f"s{i:05d}": a_run(f"s{i:05d}") for i in range(size)}
            for name, run in class_record.items():
                save_run(folder, "journal", {name: run})
            compact_runs(folder, "journal")
            rewrite_whole(folder, "whole", class_record)
            append = milliseconds_per_hand_in(save_run, folder, "journal", args.hand_ins)
            rewrite = milliseconds_per_hand_in(rewrite_whole, folder, "whole", args.hand_ins)
            assert len(run_record(folder, "journal")) == size + args.hand_ins
        print(f"{size:>9,}  {append:>11.3f}  {rewrite:>12.3f}  {rewrite / append:>16.0f}")


if __name__ == "__main__":
    main()
