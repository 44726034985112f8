"""Tests for the command line, ``python -m resnet_ref``, run as a user would run it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_ref.training import load_checkpoint, load_history

ROOT = Path(__file__).resolve().parents[1]


def run(*arguments, cwd):
    """Run ``python -m resnet_ref`` with this interpreter, from ``cwd``, and return the result."""
    # PYTHONPATH makes the checkout's package the one imported, whatever is installed.
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "resnet_ref", *arguments],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_train_writes_history_and_checkpoint(tmp_path):
    result = run(
        "train", "--model", "resnet20", "--data", "embedded", "--epochs", "1", "--no-progress",
        "--out", "tmp", "--device", "cpu",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # --no-progress: not even a warning
    assert "epoch   1" in result.stdout
    assert "final test error" in result.stdout
    history = load_history(tmp_path / "tmp" / "history.json")
    assert [entry["epoch"] for entry in history] == [1]
    assert load_checkpoint(tmp_path / "tmp" / "checkpoint.pt")["epoch"] == 1


def test_help_lists_the_commands(tmp_path):
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "train" in result.stdout and "list" in result.stdout
    result = run("train", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "--resume" in result.stdout and "--warmup-epochs" in result.stdout


def test_list_prints_the_model_names(tmp_path):
    result = run("list", cwd=tmp_path)
    assert result.returncode == 0
    names = result.stdout.split("\n")
    assert "resnet20" in names and "plain20" in names


def assert_one_line_error(result):
    """Exit code 2 and a single line on stderr, without a traceback."""
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("python -m resnet_ref:")


def test_unknown_model_lists_the_known_ones(tmp_path):
    result = run("train", "--model", "resnet21", "--no-progress", cwd=tmp_path)
    assert_one_line_error(result)
    assert (
        "resnet21" in result.stderr and "resnet20" in result.stderr and "plain20" in result.stderr
    )
    assert not (tmp_path / "runs").exists()


def test_missing_data_set_is_one_line(tmp_path):
    result = run("train", "--model", "resnet20", "--data", str(tmp_path / "no-such"), cwd=tmp_path)
    assert_one_line_error(result)
    assert "no-such" in result.stderr


def test_corrupt_checkpoint_is_one_line_and_left_alone(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"\x80\x02 half a pickle")
    result = run(
        "train", "--model", "resnet20", "--epochs", "1", "--out", "run", "--resume", cwd=tmp_path
    )
    assert_one_line_error(result)
    assert "checkpoint.pt" in result.stderr
    assert (out / "checkpoint.pt").read_bytes() == b"\x80\x02 half a pickle"
    assert not (out / "history.json").exists()
