"""Tests for resnet_ref.training: the loop, its schedules, checkpoints and silence."""

import json
import math
import warnings

import pytest
import torch
from torch import nn

from resnet_ref.data import load_data
from resnet_ref.models import cifar_resnet
from resnet_ref.training import (
    CheckpointError,
    TrainConfig,
    build_scheduler,
    evaluate,
    load_checkpoint,
    load_history,
    pick_device,
    save_checkpoint,
    train,
)

HISTORY_KEYS = {"epoch", "train_loss", "train_error", "test_loss", "test_error", "lr", "seconds"}


@pytest.fixture(scope="module")
def digits():
    """The whole embedded data set: 1,437 training and 360 test images."""
    return load_data("embedded")


@pytest.fixture(scope="module")
def few_digits():
    """128 images per split: four batches of 32, enough to exercise every code path quickly."""
    return load_data("embedded", limit=128)


def resnet8(data, seed=0):
    """A fresh ResNet-8 (the smallest CIFAR ResNet) for ``data``, the same for the same seed."""
    torch.manual_seed(seed)
    return cifar_resnet(8, num_classes=data.num_classes, in_channels=data.channels)


def quick(**settings):
    """A short CPU run without progress bars."""
    return TrainConfig(
        **{"epochs": 2, "batch_size": 32, "device": "cpu", "progress": False, **settings}
    )


def losses(history):
    """A history without its timings, which differ from run to run."""
    return [{key: value for key, value in entry.items() if key != "seconds"} for entry in history]


class Interrupted(Exception):
    """Stands in for a crash or Ctrl-C in the middle of training."""


def stop_after(epoch):
    """An ``on_epoch`` callback that interrupts training once ``epoch`` is done."""

    def callback(entry):
        if entry["epoch"] == epoch:
            raise Interrupted

    return callback


def test_loss_falls_within_a_few_dozen_steps():
    data = load_data("embedded", limit=384)
    model = resnet8(data)
    before, _ = evaluate(model, data, "train")
    history = train(model, data, quick(epochs=3))  # 3 x 12 = 36 steps
    after, error = evaluate(model, data, "train")
    assert after < 0.75 * before
    assert error < 0.6  # guessing would be 0.9
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_history_entries_and_json_file(few_digits, tmp_path):
    path = tmp_path / "out" / "history.json"
    history = train(resnet8(few_digits), few_digits, quick(epochs=3, history_path=path))
    assert [entry["epoch"] for entry in history] == [1, 2, 3]
    for entry in history:
        assert set(entry) == HISTORY_KEYS
        assert 0 <= entry["train_error"] <= 1 and 0 <= entry["test_error"] <= 1
        assert entry["train_loss"] > 0 and entry["test_loss"] > 0 and entry["seconds"] > 0
    # The recorded rate is that of each epoch's last step (4 steps per epoch, 12 in all).
    expected_lrs = [0.1 * (1 + math.cos(math.pi * step / 12)) / 2 for step in (3, 7, 11)]
    assert [entry["lr"] for entry in history] == pytest.approx(expected_lrs)
    assert load_history(path) == history
    assert json.loads(path.read_text()) == history


def test_same_seed_same_run_on_the_cpu(few_digits):
    first, second, other = resnet8(few_digits), resnet8(few_digits), resnet8(few_digits)
    history = train(first, few_digits, quick())
    assert losses(train(second, few_digits, quick())) == losses(history)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    # The seed drives shuffling and augmentation, so another seed gives another run.
    assert losses(train(other, few_digits, quick(seed=1))) != losses(history)


class RecordingData:
    """Wraps a data set and records the order of the training labels in every epoch."""

    def __init__(self, data):
        self.data = data
        self.orders = []

    def __getattr__(self, name):
        return getattr(self.data, name)

    def loader(self, split, batch_size, **options):
        batches = list(self.data.loader(split, batch_size, **options))
        if split == "train" and options.get("shuffle"):
            self.orders.append(torch.cat([labels for _, labels in batches]))
        return batches


def test_every_epoch_has_its_own_order_and_the_seed_fixes_them(few_digits):
    first, second = RecordingData(few_digits), RecordingData(few_digits)
    train(resnet8(few_digits), first, quick(epochs=3))
    train(resnet8(few_digits), second, quick(epochs=3))
    assert len(first.orders) == 3
    assert not torch.equal(first.orders[0], first.orders[1])
    assert not torch.equal(first.orders[1], first.orders[2])
    for a, b in zip(first.orders, second.orders, strict=True):
        assert torch.equal(a, b)


def test_resume_gives_the_same_run_as_going_straight_through(few_digits, tmp_path):
    straight = resnet8(few_digits)
    expected = train(straight, few_digits, quick(epochs=4))

    checkpoint = tmp_path / "checkpoint.pt"
    with pytest.raises(Interrupted):
        train(
            resnet8(few_digits), few_digits, quick(epochs=4, checkpoint=checkpoint), stop_after(2)
        )
    assert load_checkpoint(checkpoint)["epoch"] == 2

    # A differently initialised model: everything must come from the checkpoint.
    resumed = resnet8(few_digits, seed=123)
    history = train(resumed, few_digits, quick(epochs=4, checkpoint=checkpoint, resume=True))
    assert [entry["epoch"] for entry in history] == [1, 2, 3, 4]
    for got, want in zip(losses(history), losses(expected), strict=True):
        assert got == pytest.approx(want, rel=1e-6, abs=1e-9)
    for a, b in zip(resumed.state_dict().values(), straight.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert load_checkpoint(checkpoint)["epoch"] == 4


def test_resume_refuses_a_checkpoint_from_other_settings(few_digits, tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    train(resnet8(few_digits), few_digits, quick(checkpoint=checkpoint))
    with pytest.raises(CheckpointError, match="epochs=2"):
        train(resnet8(few_digits), few_digits, quick(epochs=4, checkpoint=checkpoint, resume=True))
    with pytest.raises(CheckpointError, match="different model"):
        resnet14 = cifar_resnet(14, num_classes=10, in_channels=1)
        train(resnet14, few_digits, quick(checkpoint=checkpoint, resume=True))
    with pytest.raises(CheckpointError, match="batches per epoch"):
        train(
            resnet8(few_digits),
            load_data("embedded", limit=64),
            quick(checkpoint=checkpoint, resume=True),
        )


def damage(path, kind):
    """Replace the checkpoint at ``path`` with a damaged or foreign file of the given kind."""
    if kind == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(b"not a checkpoint at all\n" * 100)
    elif kind == "foreign":
        torch.save({"weight": torch.ones(3)}, path)  # a bare state_dict, say


@pytest.mark.parametrize("kind", ["truncated", "empty", "garbage", "foreign"])
def test_bad_checkpoint_stops_resume_before_training_and_stays_untouched(
    few_digits, tmp_path, kind
):
    checkpoint = tmp_path / "checkpoint.pt"
    train(resnet8(few_digits), few_digits, quick(epochs=1, checkpoint=checkpoint))
    damage(checkpoint, kind)
    before = checkpoint.read_bytes()
    model = resnet8(few_digits)
    weights = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    history_path = tmp_path / "history.json"
    epochs_run = []

    config = quick(checkpoint=checkpoint, resume=True, history_path=history_path)
    with pytest.raises(CheckpointError, match=str(checkpoint)):
        train(model, few_digits, config, on_epoch=epochs_run.append)

    assert epochs_run == []
    assert checkpoint.read_bytes() == before
    assert not history_path.exists()
    assert sorted(tmp_path.iterdir()) == [checkpoint]  # no temporary files either
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, weights[name])


def test_missing_checkpoint_is_a_checkpoint_error(few_digits, tmp_path):
    missing = tmp_path / "nowhere.pt"
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        load_checkpoint(missing)
    with pytest.raises(CheckpointError, match=str(missing)):
        train(resnet8(few_digits), few_digits, quick(checkpoint=missing, resume=True))


def test_a_crash_while_saving_keeps_the_previous_checkpoint(few_digits, tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    model = resnet8(few_digits)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    config = quick(checkpoint=path)
    scheduler = build_scheduler(optimizer, config, steps_per_epoch=4)
    save_checkpoint(path, model, optimizer, scheduler, 1, [], config)
    before = path.read_bytes()

    def crash_half_way(obj, file):
        file.write(before[:1000])
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash_half_way)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, optimizer, scheduler, 2, [], config)
    assert path.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == [path]


def test_silent_without_progress(few_digits, tmp_path, capfd):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would reach stderr in a notebook
        train(resnet8(few_digits), few_digits, quick(epochs=1, checkpoint=tmp_path / "c.pt"))
    assert capfd.readouterr() == ("", "")

    train(resnet8(few_digits), few_digits, quick(epochs=1, progress=True))
    assert "training" in capfd.readouterr().err


def test_the_progress_bar_names_the_run(few_digits, capfd):
    """Several runs in one notebook cell (assignment 4 trains six) need bars that say which."""
    train(resnet8(few_digits), few_digits, quick(epochs=1, progress=True, label="plain-56"))
    bar = capfd.readouterr().err
    assert "plain-56:" in bar and "training" not in bar


def lrs_of(config, steps_per_epoch):
    """The learning rate of every optimizer step of a run with ``config``."""
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=config.lr)
    scheduler = build_scheduler(optimizer, config, steps_per_epoch)
    rates = []
    for _ in range(config.epochs * steps_per_epoch):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_cosine_schedule_with_warmup_follows_the_formula():
    config = TrainConfig(epochs=3, lr=0.2, warmup_epochs=0.5)
    total, warmup = 30, 5  # 10 steps per epoch
    expected = [0.2 * (t + 1) / warmup for t in range(warmup)] + [
        0.2 * (1 + math.cos(math.pi * (t - warmup) / (total - warmup))) / 2
        for t in range(warmup, total)
    ]
    assert lrs_of(config, steps_per_epoch=10) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("warmup_epochs", [0, 1])
def test_step_schedule_follows_the_formula(warmup_epochs):
    config = TrainConfig(epochs=4, schedule="step", warmup_epochs=warmup_epochs)
    total, warmup = 20, 5 * warmup_epochs  # milestones at steps 10 and 15
    expected = [
        0.1 * (t + 1) / warmup if t < warmup else 0.1 * 0.1 ** ((t >= 10) + (t >= 15))
        for t in range(total)
    ]
    assert lrs_of(config, steps_per_epoch=5) == pytest.approx(expected, rel=1e-9)


def test_schedule_settings_that_cannot_work_are_refused():
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="warm-up"):
        build_scheduler(optimizer, TrainConfig(epochs=2, warmup_epochs=2), steps_per_epoch=5)
    with pytest.raises(ValueError, match="milestones"):
        config = TrainConfig(epochs=4, schedule="step", warmup_epochs=3)
        build_scheduler(optimizer, config, steps_per_epoch=5)
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(epochs=1, schedule="linear")


def test_evaluate_a_model_that_always_says_zero(digits):
    model = nn.Sequential(nn.Flatten(), nn.Linear(256, 10))
    nn.init.zeros_(model[1].weight)
    with torch.no_grad():
        model[1].bias.copy_(torch.tensor([2.0] + [0.0] * 9))
    model.train()
    loss, error = evaluate(model, digits, "test")
    zeros = (digits.test_labels == 0).float().mean().item()
    expected_loss = nn.functional.cross_entropy(
        torch.tensor([[2.0] + [0.0] * 9]).expand(len(digits.test_labels), 10), digits.test_labels
    ).item()
    assert error == pytest.approx(1 - zeros)
    assert loss == pytest.approx(expected_loss)
    assert model.training  # evaluate() put it back in training mode


def test_pick_device():
    expected = "cuda" if torch.cuda.is_available() else None
    if expected is None and torch.backends.mps.is_available():
        expected = "mps"
    assert pick_device().type == (expected or "cpu")
    assert pick_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")
    with pytest.raises(ValueError, match="device"):
        pick_device("abacus")
