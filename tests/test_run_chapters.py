"""scripts/run_chapters.py: the chapters as plain scripts, as the GPU machine runs them.

The GPU machine has no Jupyter, so there the chapters run through the stand-ins of
scripts/stand_ins/. Here the real packages are installed, and ``--stand-ins-first`` makes the
chapter use the stand-ins anyway, so that what runs is what would run there.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys

import pytest
import torch
from conftest import ROOT

import resnet_ref
from resnet_ref.presets import PRESETS

SCRIPT = ROOT / "scripts" / "run_chapters.py"
CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip


def run_chapters(*arguments: str) -> subprocess.CompletedProcess:
    """The runner with ``arguments``."""
    command = [sys.executable, str(SCRIPT), *arguments]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=900)


@pytest.fixture(scope="module")
def scripts(tmp_path_factory):
    """Every chapter written as a script."""
    out = tmp_path_factory.mktemp("chapters")
    written = run_chapters("scripts", "--out", str(out))
    assert written.returncode == 0, written.stderr
    return out


def test_every_chapter_of_the_toc_becomes_a_script(scripts):
    names = sorted(path.stem for path in scripts.glob("*.py"))
    sources = sorted(path.stem for path in (ROOT / "book").glob("ch[0-9][0-9]_*.md"))
    assert names == sources


def test_a_chapter_runs_on_the_stand_ins_and_its_glued_values_come_back(scripts, tmp_path):
    ran = run_chapters(
        "run", "--scripts", str(scripts), "--log-dir", str(tmp_path), "--preset", "cpu",
        "--only", "ch01", "--stand-ins-first",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert list(summary) == ["ch01_cnns"]
    entry = summary["ch01_cnns"]
    assert entry["status"] == "ok" and entry["seconds"] > 0
    # A value the chapter computes and glues, against the same computation here.
    resnet34 = sum(p.numel() for p in resnet_ref.create("resnet34").parameters())
    assert resnet34 in entry["glued"].values()
    assert "===== ch01_cnns =====" in (tmp_path / "chapters.log").read_text()


def test_a_chapter_that_fails_or_runs_out_of_time_fails_the_run(scripts, tmp_path):
    broken = tmp_path / "scripts"
    broken.mkdir()
    (broken / "ch98_broken.py").write_text("raise RuntimeError('a broken chapter')\n")
    (broken / "ch99_slow.py").write_text("import time\ntime.sleep(60)\n")
    ran = run_chapters(
        "run", "--scripts", str(broken), "--log-dir", str(tmp_path / "logs"), "--budget", "5"
    )
    assert ran.returncode == 1
    summary = json.loads((tmp_path / "logs" / "summary.json").read_text())
    assert summary["ch98_broken"]["status"] == "failed"
    assert "a broken chapter" in summary["ch98_broken"]["last_lines"][-1]
    assert summary["ch99_slow"]["status"].startswith(("stopped", "not run"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="what a machine without a GPU does")
def test_a_chapter_under_the_gpu_preset_on_a_cpu_stops_at_once_and_says_why(scripts, tmp_path):
    """RESNET_COURSE_PRESET=gpu on a CPU without chosen data: the chapter fails in its first
    cell with the reason, instead of training on CIFAR-10 for hours."""
    environment = {key: value for key, value in os.environ.items() if key != "RESNET_COURSE_DATA"}
    ran = subprocess.run(
        [sys.executable, str(SCRIPT), "run", "--scripts", str(scripts), "--log-dir",
         str(tmp_path), "--preset", "gpu", "--only", "ch00", "--stand-ins-first"],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env=environment,
    )  # fmt: skip
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert ran.returncode == 1 and summary["ch00_preface"]["status"] == "failed"
    assert "this machine has no GPU" in "".join(summary["ch00_preface"]["last_lines"])


def test_the_preface_shows_the_times_of_a_stored_run_of_the_book(scripts, tmp_path):
    """A run's summary and manifest, copied into ``results/book_gpu/``, become the preface's table.

    The copy goes into a scratch book folder: the repository's ``book/results/`` holds only
    what a GPU produced.
    """
    ran = run_chapters(
        "run", "--scripts", str(scripts), "--log-dir", str(tmp_path / "logs"), "--preset", "cpu",
        "--only", "ch00,ch03", "--stand-ins-first", "--commit", "abc1234",
        "--data-note", "the embedded digits",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    manifest = json.loads((tmp_path / "logs" / "manifest.json").read_text())
    assert manifest["commit"] == "abc1234" and manifest["preset"] == "cpu"
    assert manifest["data"] == "the embedded digits"
    assert manifest["torch"] == torch.__version__ and manifest["wall_seconds"] > 0
    summary = json.loads((tmp_path / "logs" / "summary.json").read_text())
    headings = {
        name: next(line[2:] for line in (ROOT / "book" / f"{name}.md").open() if line[:2] == "# ")
        for name in summary
    }
    assert {name: entry["title"] for name, entry in summary.items()} == {
        name: heading.strip() for name, heading in headings.items()
    }
    # The time of a GPU epoch that the preface states comes from the stored runs' histories; it
    # was once a typed "seconds rather than minutes" that no run had measured.
    results = ROOT / "book" / "results"
    for run in ("ch08_gpu/resnet20", "ch02_gpu/resnet56"):
        history = json.loads((results / run / "history.json").read_text())
        median = statistics.median(entry["seconds"] for entry in history)
        assert f"{median:.1f} s" in summary["ch00_preface"]["glued"]["ch0_gpu_epoch"], run
    # This repository's own preface, with nothing stored, says so.
    if not (ROOT / "book" / "results" / "book_gpu" / "manifest.json").is_file():
        assert "No timed run of the whole book" in "".join(summary["ch00_preface"]["last_lines"])

    stored = tmp_path / "book" / "results" / "book_gpu"
    stored.mkdir(parents=True)
    for name in ("summary.json", "manifest.json"):
        shutil.copy(tmp_path / "logs" / name, stored / name)
    sys.path.insert(0, str(SCRIPT.parent))
    import run_chapters as runner

    preface = subprocess.run(
        [sys.executable, "-c", runner.BOOTSTRAP, str(runner.STAND_INS),
         str(scripts / "ch00_preface.py"), str(tmp_path / "glue.json"), "1"],
        cwd=tmp_path / "book", capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg",
             "RESNET_COURSE_PRESET": "cpu"},
    )  # fmt: skip
    assert preface.returncode == 0, preface.stdout + preface.stderr
    for entry in summary.values():
        assert f"| {entry['title']} | {entry['seconds']:.0f} | ok |" in preface.stdout
    assert f"{manifest['wall_seconds']:.0f} s for the chapters above" in preface.stdout
    assert "commit abc1234" in preface.stdout


def test_tiny_data_is_shaped_like_the_cifar10_copy(tmp_path):
    made = run_chapters("tiny-data", str(tmp_path / "tiny"), "--per-class", "3")
    assert made.returncode == 0, made.stdout + made.stderr
    data = resnet_ref.load_data(tmp_path / "tiny")
    assert data.classes == CIFAR10_CLASSES
    assert (data.channels, data.image_size) == (3, 32)
    assert (len(data.train_labels), len(data.test_labels)) == (30, 10)
    refused = run_chapters("tiny-data", str(tmp_path / "none"), "--per-class", "0")
    assert refused.returncode == 2 and "at least 1" in refused.stderr


@pytest.mark.slow
def test_the_gpu_presets_own_code_runs_on_tiny_data(scripts, tmp_path):
    """Chapters 2 and 9 take their own branch under the gpu preset, which no CPU build runs.

    A rehearsal of the GPU machine's call: random CIFAR-shaped images, the stand-ins.
    """
    made = run_chapters("tiny-data", str(tmp_path / "tiny"), "--per-class", "2")
    assert made.returncode == 0, made.stdout + made.stderr
    ran = run_chapters(
        "run", "--scripts", str(scripts), "--log-dir", str(tmp_path / "logs"),
        "--preset", "gpu", "--data", str(tmp_path / "tiny"), "--only", "ch02,ch09",
        "--stand-ins-first",
    )  # fmt: skip
    summary = json.loads((tmp_path / "logs" / "summary.json").read_text())
    assert ran.returncode == 0, json.dumps(summary, indent=1)
    gpu = PRESETS["gpu"]
    assert summary["ch02_degradation"]["glued"]["ch2_epochs"] == gpu.short_epochs
    assert summary["ch09_why"]["glued"]["ch9_recipe_epochs"] == gpu.short_epochs
    assert gpu.description in (tmp_path / "logs" / "chapters.log").read_text()
