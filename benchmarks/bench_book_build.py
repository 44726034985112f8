"""How long the book takes to build: cold, and again with the execution cache.

1. **Cold**: a fresh ``--path-output`` (so a fresh jupyter-cache), every chapter executed, the
   strict build of ``python3 course.py book`` (``-W -n --keep-going --all``). Budget: 600 s on
   the 2-core CI machine without a GPU.
2. **Cached**: the same command again into the same output folder. ``--all`` rereads every page,
   and every notebook's outputs come from the cache. Budget: 60 s.

It also prints how long each notebook took to execute in the cold build (from the jupyter-cache
records), against the per-chapter allowance of book/CONTRIBUTING.md. The repository's
``_build/`` is never touched. The script exits 0 when it gets to the end, also when a build fails
or a budget is missed (it is a measurement, not a test; the tests check the build itself); such
rows are marked ``MISS``.

Usage::

    .venv/bin/python benchmarks/bench_book_build.py
    .venv/bin/python benchmarks/bench_book_build.py --keep /tmp/book-bench   # keep the output
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLD_BUDGET = 600.0
CACHED_BUDGET = 60.0
# Seconds of execution allowed per chapter (book/CONTRIBUTING.md): 20 unless listed.
CHAPTER_ALLOWANCE = {"ch02": 90, "ch06": 40, "ch07": 25, "ch08": 90, "ch09": 90}
DEFAULT_ALLOWANCE = 20


def jupyter_book():
    """The jupyter-book executable beside the running Python (the course's .venv)."""
    beside = Path(sys.executable).parent / "jupyter-book"
    return str(beside) if beside.exists() else "jupyter-book"


def build(path_output):
    """Run the strict build into path_output; return (seconds, exit code, log)."""
    command = [
        jupyter_book(),
        "build",
        str(ROOT),
        "--path-output",
        str(path_output),
        "-W",
        "-n",
        "--keep-going",
        "--all",
    ]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - start, result.returncode, result.stdout + result.stderr


def execution_seconds(path_output):
    """Seconds each notebook took to execute, from the build's jupyter-cache."""
    from jupyter_cache import get_cache

    cache = get_cache(str(Path(path_output) / "_build" / ".jupyter_cache"))
    return {
        Path(record.uri).stem: record.data.get("execution_seconds", float("nan"))
        for record in cache.list_cache_records()
    }


def verdict(seconds, budget):
    """'ok' or 'MISS', with the ratio to the budget."""
    return f"{seconds / budget:5.2f} of budget  {'ok' if seconds <= budget else 'MISS'}"


def main(argv=None):
    """Build cold, then cached, and print both times against the budget."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, help="build here (emptied first) and keep it")
    args = parser.parse_args(argv)
    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
        args.keep.mkdir(parents=True)
        path_output = args.keep
    else:
        path_output = Path(tempfile.mkdtemp(prefix="book-bench-"))

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"building into {path_output}")
    misses = []
    cold, cold_code, cold_log = build(path_output)
    print(f"cold build   {cold:7.1f} s  (budget {COLD_BUDGET:.0f} s)  {verdict(cold, COLD_BUDGET)}")
    if cold_code != 0:
        print(f"  the cold build FAILED (exit {cold_code}); its last lines:")
        print("\n".join("    " + line for line in cold_log.splitlines()[-15:]))
        misses.append("cold build failed")
    cached, cached_code, _ = build(path_output)
    print(
        f"cached build {cached:7.1f} s  (budget {CACHED_BUDGET:.0f} s)  "
        f"{verdict(cached, CACHED_BUDGET)}"
    )
    if cached_code != 0:
        misses.append("cached build failed")
    misses += [
        name
        for name, s, b in [("cold", cold, COLD_BUDGET), ("cached", cached, CACHED_BUDGET)]
        if s > b
    ]

    print("\nexecution per notebook in the cold build (allowance from book/CONTRIBUTING.md):")
    times = execution_seconds(path_output)
    for name in sorted(times):
        allowance = CHAPTER_ALLOWANCE.get(name[:4], DEFAULT_ALLOWANCE)
        mark = "ok" if times[name] <= allowance else "MISS"
        if mark == "MISS":
            misses.append(f"{name} executes in {times[name]:.0f} s")
        print(f"  {name:28s} {times[name]:6.1f} s  (allowance {allowance:3d} s)  {mark}")
    print(f"  {'total':28s} {sum(times.values()):6.1f} s")

    if not args.keep:
        shutil.rmtree(path_output, ignore_errors=True)
    print("\nMISS: " + "; ".join(misses) if misses else "\nall within budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
