"""scripts/gpu_runs.py: the only writer of book/results/, tried on the CPU with tiny data.

The real runs need a GPU; here the same script trains on the embedded digits (64 images per
split, one step per epoch) with ``--allow-cpu``, which is enough to see what it stores, what it
skips and what it leaves behind when its budget runs out.
"""

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_ref.__main__ import build_parser

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_runs.py"


def gpu_runs(results: Path, *options: str) -> subprocess.CompletedProcess:
    """Run the script with tiny data into ``results``."""
    command = [sys.executable, str(SCRIPT), "--data", "embedded", "--limit", "64"]
    command += ["--commit", "0123abc", "--results", str(results), *options]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """One finished run of chapter 8's plan."""
    results = tmp_path_factory.mktemp("results")
    finished = gpu_runs(results, "--plan", "ch08", "--allow-cpu")
    return results, finished


def test_a_finished_run_is_stored_with_its_manifest(stored):
    results, finished = stored
    assert finished.returncode == 0, finished.stdout + finished.stderr
    run = results / "ch08_gpu" / "resnet20"
    history = json.loads((run / "history.json").read_text())
    manifest = json.loads((run / "manifest.json").read_text())
    assert len(history) == 60 == manifest["recipe"]["epochs"]
    assert manifest["commit"] == "0123abc"
    assert manifest["produced_by"] == "scripts/gpu_runs.py"
    assert manifest["recipe"]["model"] == "resnet20" and manifest["recipe"]["lr"] == 0.1
    assert manifest["final"]["test_error"] == history[-1]["test_error"]
    assert manifest["torch"] and manifest["gpu"] == "none (CPU)"
    assert manifest["command"][:3] == ["-m", "resnet_ref", "train"]
    assert not list(results.rglob("*.partial")), "a finished run leaves no partial folder"


def test_a_stored_run_is_never_trained_or_written_again(stored):
    results, _ = stored
    run = results / "ch08_gpu" / "resnet20"
    before = {path.name: path.read_bytes() for path in run.iterdir()}
    again = gpu_runs(results, "--plan", "ch08", "--allow-cpu")
    assert again.returncode == 0
    assert "ch08_gpu/resnet20: stored already, skipped" in again.stdout
    assert {path.name: path.read_bytes() for path in run.iterdir()} == before


def test_a_run_cut_short_by_the_budget_stores_nothing(tmp_path):
    cut = gpu_runs(tmp_path, "--plan", "ch02", "--allow-cpu", "--budget", "2")
    assert cut.returncode == 1
    assert "nothing stored" in cut.stdout
    assert not list(tmp_path.rglob("manifest.json"))
    assert not list(tmp_path.glob("ch02_gpu/*/history.json"))


def test_without_a_gpu_it_refuses_unless_told(tmp_path):
    refused = gpu_runs(tmp_path, "--plan", "ch08")
    if refused.returncode == 0:
        pytest.skip("this machine has a CUDA GPU")
    assert refused.returncode == 2
    assert "no CUDA GPU" in refused.stderr
    assert not any(tmp_path.iterdir())


def test_an_unknown_plan_names_the_known_ones(tmp_path):
    unknown = gpu_runs(tmp_path, "--plan", "ch99", "--allow-cpu")
    assert unknown.returncode == 2
    assert "unknown plan ch99" in unknown.stderr and "ch02" in unknown.stderr


def test_every_plan_is_a_command_line_the_course_accepts():
    # A plan is only tried on a GPU, where a typo in a recipe would cost a device call.
    plans = runpy.run_path(str(SCRIPT))["PLANS"]
    parser = build_parser()
    for plan, runs in plans.items():
        for run in runs:
            args = parser.parse_args(["train", *run.options(), "--data", "cifar10"])
            recipe = (args.model, args.epochs, args.batch_size, args.lr, args.warmup_epochs)
            assert recipe == (run.model, run.epochs, run.batch_size, run.lr, run.warmup_epochs), (
                plan
            )
