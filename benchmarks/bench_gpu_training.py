"""Images per second of ``resnet_ref.training.train`` against a plainly written loop, on a GPU.

For each model (resnet20, resnet56, resnet110 by default) both contenders train the same network
from the same initial weights on the same CIFAR-10 images at batch 128, with the same SGD
settings, augmentation and number of steps, and both evaluate on the test split after every
epoch (``train`` always does). They differ in what ``train`` does on a GPU and the plain loop
does not: bfloat16 autocast, channels-last memory format, cuDNN's algorithm search and the fused
SGD step. The two are interleaved round by round (A B, B A, ...) and the medians compared; the
ratio ``train / plain`` is the figure (>= 1.0 is the target).

A last pass profiles one epoch of ``train`` with ``torch.profiler`` and prints the fraction of
the wall time during which a GPU kernel was running: near 1 means the GPU is the limit, far
below 1 means the time goes into launching kernels from Python.

It is a measurement, not a test, and always exits 0 once it gets to the end. Usage::

    python benchmarks/bench_gpu_training.py --data path/to/cifar10-folder
    python benchmarks/bench_gpu_training.py --data cifar10 --models resnet20 --rounds 2
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


def main(argv: list[str] | None = None) -> int:
    """Time every model, print the table, and return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="cifar10 or an ImageFolder copy of it")
    parser.add_argument("--models", default="resnet20,resnet56,resnet110")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--images", type=int, default=12_800, help="training images per epoch")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per contender")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)

    device = pick_device(args.device)
    data = load_data(args.data, limit=args.images)
    name = torch.cuda.get_device_name() if device.type == "cuda" else device.type
    print(
        f"{name}, torch {torch.__version__}; {len(data.train_labels):,} training images per "
        f"epoch, {len(data.test_labels):,} test images, batch {args.batch_size}"
    )
    print(
        f"{'model':<10} {'train() img/s':>14} {'plain img/s':>12} {'ratio':>6}  {'kernel time':>11}"
    )
    for model_name in args.models.split(","):
        ours, plain = [], []
        # Round 0 warms both up (cuDNN's search, the allocator's pools) and is not counted.
        for round_number in range(args.rounds + 1):
            pair = [("ours", train_images_per_second), ("plain", plain_images_per_second)]
            if round_number % 2:
                pair.reverse()
            for label, measure in pair:
                rate = measure(model_name, data, args.batch_size, device)
                if round_number > 0:
                    (ours if label == "ours" else plain).append(rate)
        ratio = statistics.median(ours) / statistics.median(plain)
        try:
            busy = kernel_fraction(model_name, data, args.batch_size, device)
        except Exception as error:  # the profiler is a bonus; its failure must not end the run
            print(f"  (no kernel time for {model_name}: {type(error).__name__}: {error})")
            busy = float("nan")
        mark = "" if ratio >= TARGET else "  MISS"
        print(
            f"{model_name:<10} {statistics.median(ours):>14,.0f} "
            f"{statistics.median(plain):>12,.0f} {ratio:>6.2f}  {busy:>11.0%}{mark}",
            flush=True,
        )
    return 0


def fresh_model(name: str, data: ImageData) -> torch.nn.Module:
    """The same initial weights for every contender and round."""
    torch.manual_seed(0)
    return resnet_ref.create(name, num_classes=data.num_classes, in_channels=data.channels)


def train_images_per_second(
    name: str, data: ImageData, batch_size: int, device: torch.device
) -> float:
    """One epoch of ``train``, evaluation included, in training images per second."""
    model = fresh_model(name, data)
    config = TrainConfig(epochs=1, batch_size=batch_size, device=str(device), progress=False)
    synchronize(device)
    started = time.perf_counter()
    train(model, data, config)
    synchronize(device)
    return len(data.train_labels) / (time.perf_counter() - started)


def plain_images_per_second(
    name: str, data: ImageData, batch_size: int, device: torch.device
) -> float:
    """One epoch of a loop as a tutorial writes it, evaluation included, in images per second."""
    model = fresh_model(name, data).to(device)
    # train() switches cuDNN's algorithm search on for the whole process; the plain loop runs
    # without it, as a loop that does not ask for it would.
    torch.backends.cudnn.benchmark = False
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    synchronize(device)
    started = time.perf_counter()
    model.train()
    for images, labels in data.loader("train", batch_size, device=device):
        loss = F.cross_entropy(model(data.prepare(images, train=True)), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    evaluate(model, data, "test", device=device)
    synchronize(device)
    return len(data.train_labels) / (time.perf_counter() - started)


def kernel_fraction(name: str, data: ImageData, batch_size: int, device: torch.device) -> float:
    """The share of one ``train`` epoch's wall time during which some GPU kernel ran."""
    if device.type != "cuda":
        return float("nan")
    from torch.profiler import ProfilerActivity, profile

    model = fresh_model(name, data)
    config = TrainConfig(epochs=1, batch_size=batch_size, device=str(device), progress=False)
    train(model, data, config)  # warm-up, outside the profile
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
