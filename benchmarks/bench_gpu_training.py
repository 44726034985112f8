"""Images per second of ``resnet_ref.training.train`` against a plainly written loop, on a GPU.

For each model (resnet20, resnet56, resnet110 by default) the contenders train the same network
from the same initial weights on the same CIFAR-10 images at batch 128, with the same SGD
settings and augmentation, and all evaluate on the test split after every epoch (``train``
always does):

- ``plain``: a loop as a tutorial writes it: float32, the default memory format, no cuDNN
  algorithm search, PyTorch's default SGD step;
- ``eager``: ``resnet_ref.training.train`` with ``compile=None``, which on a GPU adds bfloat16
  autocast, the channels-last memory format, cuDNN's algorithm search and the fused SGD step;
- ``compiled``: the same with ``compile="default"`` (torch.compile without CUDA graphs);
- ``train()``: ``train`` with its defaults, which on a GPU means ``compile="reduce-overhead"``:
  torch.compile, its steps replayed as CUDA graphs.

Each contender runs one epoch to warm up (cuDNN's search, compilation: its time is printed as
``warm-up s``) and then ``--epochs`` timed epochs; the median epoch gives images per second, and
the ratio to ``plain`` is the figure (>= 1.0 is the target for ``train()``). The GPU is not
shared during a measurement, so the contenders run one after the other rather than interleaved.

For ``eager`` and ``train()`` one more epoch runs under ``torch.profiler``, which gives the
fraction of the wall time during which a GPU kernel was running: near 1 means the GPU is the
limit, far below 1 means the time goes into launching kernels from Python.

It is a measurement, not a test, and always exits 0 once it gets to the end. Usage::

    python benchmarks/bench_gpu_training.py --data path/to/cifar10-folder
    python benchmarks/bench_gpu_training.py --data cifar10 --models resnet20 --epochs 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# Run from a checkout: import the resnet_ref next to this file, whatever is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import resnet_ref  # noqa: E402
from resnet_ref.data import ImageData, load_data  # noqa: E402
from resnet_ref.training import TrainConfig, evaluate, pick_device, train  # noqa: E402

TARGET = 1.0

# The ``compile`` setting of train() for each contender that uses train().
TRAIN_CONTENDERS = {"eager": None, "compiled": "default", "train()": "auto"}


def main(argv: list[str] | None = None) -> int:
    """Time every model and contender, print one line each, and return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="cifar10 or an ImageFolder copy of it")
    parser.add_argument("--models", default="resnet20,resnet56,resnet110")
    parser.add_argument("--contenders", default="plain,eager,compiled,train()")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--images", type=int, default=12_800, help="training images per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per contender")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)

    device = pick_device(args.device)
    data = load_data(args.data, limit=args.images)
    name = torch.cuda.get_device_name() if device.type == "cuda" else device.type
    print(
        f"{name}, torch {torch.__version__}; {len(data.train_labels):,} training images per "
        f"epoch, {len(data.test_labels):,} test images, batch {args.batch_size}, "
        f"median of {args.epochs} epochs after one to warm up"
    )
    print(
        f"{'model':<10} {'contender':<9} {'img/s':>8} {'vs plain':>8} {'warm-up s':>9}  kernel time"
    )
    for model_name in args.models.split(","):
        plain_rate = None
        for contender in args.contenders.split(","):
            seconds = epoch_seconds(contender, model_name, data, args, device)
            rate = len(data.train_labels) / statistics.median(seconds[1:])
            warm_up = seconds[0] - statistics.median(seconds[1:])
            if contender == "plain":
                plain_rate = rate
            ratio = f"{rate / plain_rate:8.2f}" if plain_rate else f"{'':8}"
            busy = ""
            if contender in ("eager", "train()"):
                mode = TRAIN_CONTENDERS[contender]
                busy = f"{kernel_fraction(model_name, data, args.batch_size, device, mode):.0%}"
            if contender == "train()" and plain_rate and rate < TARGET * plain_rate:
                busy += "  MISS"
            print(
                f"{model_name:<10} {contender:<9} {rate:>8,.0f} {ratio} {warm_up:>9.1f}  {busy}",
                flush=True,
            )
    return 0


def epoch_seconds(
    contender: str, name: str, data: ImageData, args: argparse.Namespace, device: torch.device
) -> list[float]:
    """Wall seconds of each epoch, evaluation included, the warm-up epoch first."""
    epochs = args.epochs + 1
    if contender == "plain":
        return plain_epoch_seconds(name, data, args.batch_size, epochs, device)
    if contender not in TRAIN_CONTENDERS:
        raise SystemExit(
            f"unknown contender {contender!r}; known: plain, {', '.join(TRAIN_CONTENDERS)}"
        )
    config = TrainConfig(
        epochs=epochs,
        batch_size=args.batch_size,
        device=str(device),
        compile=TRAIN_CONTENDERS[contender],
        progress=False,
    )
    history = train(fresh_model(name, data), data, config)
    return [entry["seconds"] for entry in history]


def fresh_model(name: str, data: ImageData) -> torch.nn.Module:
    """The same initial weights for every contender and round."""
    torch.manual_seed(0)
    return resnet_ref.create(name, num_classes=data.num_classes, in_channels=data.channels)


def plain_epoch_seconds(
    name: str, data: ImageData, batch_size: int, epochs: int, device: torch.device
) -> list[float]:
    """Epochs of a loop as a tutorial writes it, evaluation included, in wall seconds each."""
    model = fresh_model(name, data).to(device)
    # train() switches cuDNN's algorithm search on for the whole process; the plain loop runs
    # without it, as a loop that does not ask for it would.
    torch.backends.cudnn.benchmark = False
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    seconds = []
    for epoch in range(epochs):
        synchronize(device)
        started = time.perf_counter()
        model.train()
        for images, labels in data.loader("train", batch_size, seed=epoch, device=device):
            loss = F.cross_entropy(model(data.prepare(images, train=True)), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        evaluate(model, data, "test", device=device)
        synchronize(device)
        seconds.append(time.perf_counter() - started)
    return seconds


def kernel_fraction(
    name: str, data: ImageData, batch_size: int, device: torch.device, compile_mode: str | None
) -> float:
    """The share of one ``train`` epoch's wall time during which some GPU kernel ran."""
    if device.type != "cuda":
        return float("nan")
    try:
        return _kernel_fraction(name, data, batch_size, device, compile_mode)
    except Exception as error:  # the profiler is a bonus; its failure must not end the run
        print(f"  (no kernel time for {name}: {type(error).__name__}: {error})")
        return float("nan")


def _kernel_fraction(
    name: str, data: ImageData, batch_size: int, device: torch.device, compile_mode: str | None
) -> float:
    """:func:`kernel_fraction`, which may raise."""
    from torch.profiler import ProfilerActivity, profile

    model = fresh_model(name, data)
    config = TrainConfig(
        epochs=1, batch_size=batch_size, device=str(device), compile=compile_mode, progress=False
    )
    train(model, data, config)  # warm-up and compilation, outside the profile
    with profile(activities=[ProfilerActivity.CUDA]) as profiler:
        synchronize(device)
        started = time.perf_counter()
        train(model, data, config)
        synchronize(device)
        wall = time.perf_counter() - started
    intervals = sorted(
        (event.time_range.start, event.time_range.end)
        for event in profiler.events()
        if event.device_type == torch.autograd.DeviceType.CUDA
    )
    busy, reach = 0.0, float("-inf")
    for start, end in intervals:  # the union of the intervals, in microseconds
        if end > reach:
            busy += end - max(start, reach)
            reach = end
    return busy / 1e6 / wall


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so that wall-clock times cover it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


if __name__ == "__main__":
    sys.exit(main())
