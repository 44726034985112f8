"""Run the book's chapters as plain Python scripts, one after the other, and time each.

This is how the chapters run where Jupyter is not installed, such as the GPU machine that
executes the book's ``gpu`` preset. Two steps, so that only the first needs jupytext:

    .venv/bin/python scripts/run_chapters.py scripts --out chapters/        # with jupytext
    python scripts/run_chapters.py run --scripts chapters/ --log-dir logs/ \
        --preset gpu --data path/to/cifar10-folder --budget 540           # PyTorch only

``scripts`` writes every chapter of the table of contents as a script (jupytext's percent
format: the code cells in order, the text as comments). ``run`` executes each one in its own
process, from ``book/`` as the book's build does, with the preset chosen by
``RESNET_COURSE_PRESET`` (and the data by ``RESNET_COURSE_DATA``). Where IPython, MyST-NB or
ipywidgets are missing, the small stand-ins in ``scripts/stand_ins/`` take their place.

``run`` writes into ``--log-dir``: ``chapters.log`` (every chapter's output, one after the
other), ``summary.json`` (per chapter: its title, seconds, exit status, the last lines of output
and, with the stand-ins, every value the chapter glued) and ``manifest.json`` (what ran them:
the device, torch and Python versions, the preset, the data, the course's commit, the times).
It prints a table as it goes, and exits 1 if a chapter failed or did not run for lack of time.
A GPU call's ``summary.json`` and ``manifest.json``, copied unchanged into
``book/results/book_gpu/``, are what the preface's table of GPU times shows.

A rehearsal on a CPU, before device time is spent: ``tiny-data`` writes a folder shaped like
the CIFAR-10 copy (ten classes of 32x32 RGB JPEG files under ``train/`` and ``test/``, random
pixels, a few per class), and ``run --preset gpu --data <that folder> --stand-ins-first`` then
takes every code path of the ``gpu`` preset without Jupyter in a few minutes. Its numbers mean
nothing; that every chapter ends with status ``ok`` is what it checks.

    .venv/bin/python scripts/run_chapters.py tiny-data /tmp/tiny-cifar
    .venv/bin/python scripts/run_chapters.py run --scripts chapters/ --log-dir /tmp/rehearsal \
        --preset gpu --data /tmp/tiny-cifar --stand-ins-first
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
STAND_INS = Path(__file__).resolve().parent / "stand_ins"
# The class folders of the CIFAR-10 copy, in its label order (../shared/data/cifar10_pack.py).
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip

# Run in each chapter's process: the stand-ins go at the end of the path (or the front, with
# --stand-ins-first), the chapter runs as __main__, and the glued values are written out.
BOOTSTRAP = """\
import atexit, json, runpy, sys
stand_ins, script, glue_file, first = sys.argv[1:5]
sys.path.insert(0, stand_ins) if first == "1" else sys.path.append(stand_ins)
def save_glue():
    glued = getattr(sys.modules.get("myst_nb"), "GLUED", None)
    if glued is not None:
        with open(glue_file, "w") as file:
            json.dump(glued, file, default=str, indent=1)
atexit.register(save_glue)
sys.argv = [script]
runpy.run_path(script, run_name="__main__")
"""


def main(argv: list[str] | None = None) -> int:
    """Run the ``scripts`` or ``run`` command."""
    args = parse_args(argv)
    return args.command(args)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line: ``scripts`` and ``run``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True)
    writing = commands.add_parser("scripts", help="write the chapters as scripts (jupytext)")
    writing.add_argument("--out", type=Path, required=True)
    writing.set_defaults(command=write_scripts)

    running = commands.add_parser("run", help="run the scripts and time each")
    running.add_argument("--scripts", type=Path, required=True)
    running.add_argument("--log-dir", type=Path, required=True)
    running.add_argument("--preset", choices=("cpu", "gpu"), help="RESNET_COURSE_PRESET")
    running.add_argument("--data", help="RESNET_COURSE_DATA: the preset's data replaced")
    running.add_argument("--only", help="comma-separated chapter names, such as ch02,ch08")
    running.add_argument("--budget", type=float, default=float("inf"), help="seconds in all")
    running.add_argument("--commit", help="the course's commit, for the manifest")
    running.add_argument("--data-note", help="what --data is, for the manifest")
    running.add_argument(
        "--stand-ins-first",
        action="store_true",
        help="use the stand-ins even where IPython, MyST-NB or ipywidgets are installed, "
        "as on the GPU machine",
    )
    running.set_defaults(command=run_scripts)

    tiny = commands.add_parser(
        "tiny-data", help="write a CIFAR-10-shaped folder of random images, for a rehearsal"
    )
    tiny.add_argument("out", type=Path, help="the folder to write (train/ and test/ inside)")
    tiny.add_argument("--per-class", type=int, default=8, help="training images per class")
    tiny.set_defaults(command=write_tiny_data)
    return parser.parse_args(argv)


def chapters() -> list[Path]:
    """The chapters' sources, in the order of the table of contents."""
    sys.path.insert(0, str(BOOK / "_ext"))
    import course_toc  # which pages are chapters: book/_ext/course_toc.py decides

    return [ROOT / f"{name}.md" for name in course_toc.chapters(ROOT)]


def write_scripts(args: argparse.Namespace) -> int:
    """Write every chapter as ``<out>/<chapter>.py``."""
    import jupytext

    args.out.mkdir(parents=True, exist_ok=True)
    for source in chapters():
        notebook = jupytext.read(source)
        target = args.out / f"{source.stem}.py"
        target.write_text(jupytext.writes(notebook, fmt="py:percent"), encoding="utf-8")
        print(f"{source.relative_to(ROOT)} -> {target}")
    return 0


def write_tiny_data(args: argparse.Namespace) -> int:
    """Write ``args.out/{train,test}/<class>/<n>.jpg``: random 32x32 images, CIFAR-10's classes.

    The test split gets half as many images per class (at least one), as CIFAR-10's is smaller.
    """
    import numpy as np
    from PIL import Image

    if args.per_class < 1:
        print("--per-class must be at least 1", file=sys.stderr)
        return 2
    generator = np.random.default_rng(0)
    counts = {"train": args.per_class, "test": max(1, args.per_class // 2)}
    for split, count in counts.items():
        for name in CIFAR10_CLASSES:
            folder = args.out / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                pixels = generator.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{index:04d}.jpg")
    total = len(CIFAR10_CLASSES) * sum(counts.values())
    print(f"{total} random 32x32 images in {len(CIFAR10_CLASSES)} classes under {args.out}")
    return 0


def run_scripts(args: argparse.Namespace) -> int:
    """Run the scripts one after the other within the budget; write the log and summary."""
    scripts = sorted(args.scripts.glob("ch*.py"))
    if args.only:
        wanted = args.only.split(",")
        scripts = [s for s in scripts if any(s.stem.startswith(name) for name in wanted)]
    if not scripts:
        print(f"no chapter scripts in {args.scripts}", file=sys.stderr)
        return 2
    args.log_dir.mkdir(parents=True, exist_ok=True)
    environment = chapter_environment(args)
    started = time.time()
    deadline = time.monotonic() + args.budget
    summary, failed = {}, False
    with open(args.log_dir / "chapters.log", "w", encoding="utf-8") as log:
        for script in scripts:
            left = deadline - time.monotonic()
            if left <= 0:
                summary[script.stem] = {
                    "title": chapter_title(script),
                    "status": "not run: budget spent",
                }
                failed = True
                continue
            summary[script.stem] = run_one(script, args, environment, log, left)
            result = summary[script.stem]
            failed |= result["status"] != "ok"
            print(f"{script.stem:<24} {result['seconds']:>7.1f} s  {result['status']}", flush=True)
    (args.log_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    manifest = run_manifest(args, environment, started, time.time())
    (args.log_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    total = sum(entry.get("seconds", 0) for entry in summary.values())
    print(f"{'all chapters':<24} {total:>7.1f} s")
    return 1 if failed else 0


def chapter_environment(args: argparse.Namespace) -> dict[str, str]:
    """The environment of a chapter's process: the preset, the data, no display needed."""
    environment = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    # The chapters import resnet_ref from the checkout, as the book's build does.
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), environment.get("PYTHONPATH")])
    )
    if args.preset:
        environment["RESNET_COURSE_PRESET"] = args.preset
    if args.data:
        environment["RESNET_COURSE_DATA"] = args.data
    return environment


def run_manifest(args, environment: dict[str, str], started: float, finished: float) -> dict:
    """What ran the chapters, and when, as ``scripts/gpu_runs.py`` records a training run."""
    import torch  # only here: the rest of the runner needs no PyTorch

    cuda = torch.cuda.is_available()
    preset = environment.get("RESNET_COURSE_PRESET", "gpu" if cuda else "cpu")
    return {
        "produced_by": "scripts/run_chapters.py run",
        "preset": preset,
        "data": args.data_note or args.data or f"the {preset} preset's own",
        "device": torch.cuda.get_device_name() if cuda else f"CPU ({os.cpu_count()} cores)",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "commit": args.commit,
        "budget_seconds": None if args.budget == float("inf") else args.budget,
        "started_utc": utc(started),
        "finished_utc": utc(finished),
        "wall_seconds": round(finished - started, 1),
    }


def utc(seconds: float) -> str:
    """A time stamp in UTC, to the second."""
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.isoformat(timespec="seconds")


def chapter_title(script: Path) -> str:
    """The chapter's title: its first Markdown heading, which jupytext writes as ``# # ...``."""
    for line in script.read_text(encoding="utf-8").splitlines():
        if line.startswith("# # "):
            return line.removeprefix("# # ").strip()
    return script.stem


def run_one(script: Path, args, environment: dict[str, str], log, seconds_left: float) -> dict:
    """Run one chapter script from ``book/``; return its summary entry."""
    glue_file = args.log_dir / f".{script.stem}.glue.json"
    command = [sys.executable, "-c", BOOTSTRAP, str(STAND_INS), str(script.resolve())]
    command += [str(glue_file), "1" if args.stand_ins_first else "0"]
    log.write(f"===== {script.stem} =====\n")
    log.flush()
    started = time.monotonic()
    try:
        finished = subprocess.run(
            command,
            cwd=BOOK,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=None if seconds_left == float("inf") else seconds_left,
        )
        output, status = finished.stdout, "ok" if finished.returncode == 0 else "failed"
    except subprocess.TimeoutExpired as stopped:
        output = stopped.stdout or ""
        output = output.decode(errors="replace") if isinstance(output, bytes) else output
        status = "stopped: budget spent"
    log.write(output)
    log.flush()
    entry = {
        "title": chapter_title(script),
        "status": status,
        "seconds": round(time.monotonic() - started, 1),
        "last_lines": output.splitlines()[-12:],
    }
    if glue_file.is_file():
        entry["glued"] = json.loads(glue_file.read_text())
        glue_file.unlink()
    return entry


if __name__ == "__main__":
    sys.exit(main())
