"""Throughput of resnet_ref against plain references, measured side by side in one run.

Each row times two contenders on the same inputs and prints the ratio
``ours / reference`` of their median throughputs (images per second, higher is better):

1. ``resnet18`` / ``resnet50``: forward, loss, backward and zeroing the gradients (no optimizer
   step) in training mode, batch 8 at 224x224, ``resnet_ref.create(name)`` against
   ``torchvision.models.<name>()``. Target: ratio >= 0.97.
2. ``resnet50-process``: the same resnet50 step, but each contender alone in a fresh child
   process (this script re-invoked with a hidden option), so that the whole process is measured:
   the child reports the wall time of its timed steps and its peak resident memory (see
   :func:`peak_rss_mib`). Each round runs every contender twice: once as a user runs it, for the
   time, and once with C's allocator told to return freed memory at once, for the memory (see
   :data:`RETURN_FREED_MEMORY`). The contenders alternate and the medians are compared. Target:
   throughput ratio >= 1.00 and peak memory <= torchvision's (to within
   :data:`MEMORY_RESOLUTION_MIB`).
3. ``resnet20``: the same step, batch 128 at 32x32, ``resnet_ref.create("resnet20")`` against
   :class:`BareResNet20` below, the CIFAR ResNet-20 written out plainly. Target >= 0.97.
4. ``train loop``: :func:`resnet_ref.training.train` against a bare hand-written loop with the
   same SGD settings, batch size, augmentation and number of steps, on the embedded data set with
   ResNet-20. ``train`` evaluates on the test split after every epoch and cannot skip it, so the
   bare loop evaluates too, and both timings include it. Target >= 0.95.

Measurement discipline, for a small shared machine with noisy timings: a fixed number of
threads (``--threads``, default 1), warm-up runs before timing, and the two contenders interleaved
round by round (A B, then B A, ...) so that drift hits both alike; medians over rounds are
compared. Each timing is also taken in process CPU time, whose ratio ("cpu ratio") does not count
time spent waiting for a core that another process holds. The script always exits 0 when it gets
to the end: it is a measurement, not a test. Rows under their target are marked ``MISS`` and
listed at the end.

Usage::

    .venv/bin/python benchmarks/bench_throughput.py            # default run, a few minutes
    .venv/bin/python benchmarks/bench_throughput.py --quick    # smoke run, about a minute
    .venv/bin/python benchmarks/bench_throughput.py --json results.json --threads 2
    .venv/bin/python benchmarks/bench_throughput.py --only resnet50-process   # one row
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Run from a checkout: import the resnet_ref next to this file, whatever is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402
from torch import nn  # noqa: E402

import resnet_ref  # noqa: E402
from resnet_ref.training import pick_device  # noqa: E402

RESNET20_PARAMETERS = 269_722  # He et al. (2015), option-A shortcuts


# --- the bare reference: ResNet-20 for CIFAR, written out plainly ----------------------------


class BareBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus an option-A shortcut, then ReLU. No checks."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.stride = stride
        self.extra = out_channels - in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """relu(F(x) + shortcut(x)), the shortcut subsampling and zero-padding channels."""
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        if self.stride != 1 or self.extra:
            x = F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, 0, self.extra))
        out += x
        return F.relu(out, inplace=True)


class BareResNet20(nn.Module):
    """3x3 stem of 16 channels, three stages of 3 basic blocks (16, 32, 64), pool, linear."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        blocks, channels = [], 16
        for width, stride in ((16, 1), (32, 2), (64, 2)):
            for position in range(3):
                blocks.append(BareBlock(channels, width, stride if position == 0 else 1))
                channels = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images [N, C, H, W] to class scores [N, num_classes]."""
        x = F.relu(self.bn(self.conv(x)), inplace=True)
        x = self.blocks(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def check_same_network(ours: nn.Module, bare: nn.Module) -> None:
    """Assert the two ResNet-20s have 269,722 parameters and compute the same function."""
    counts = count_parameters(ours), count_parameters(bare)
    if counts != (RESNET20_PARAMETERS, RESNET20_PARAMETERS):
        raise AssertionError(
            f"ResNet-20 parameter counts: resnet_ref {counts[0]:,}, bare {counts[1]:,}, "
            f"expected {RESNET20_PARAMETERS:,} for both"
        )
    # Same tensors in the same order: copy ours into a bare copy and compare outputs.
    ours_state, bare_state = ours.state_dict(), bare.state_dict()
    shapes = [tuple(t.shape) for t in ours_state.values()]
    if shapes != [tuple(t.shape) for t in bare_state.values()]:
        raise AssertionError("resnet_ref's ResNet-20 and the bare one hold different tensors")
    twin = BareResNet20(ours.in_channels, ours.fc.out_features)
    twin.load_state_dict(dict(zip(bare_state, ours_state.values(), strict=True)))
    x = torch.randn(2, ours.in_channels, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        same = torch.allclose(ours.eval()(x), twin.eval()(x), atol=1e-5)
    ours.train()
    if not same:
        raise AssertionError("resnet_ref's ResNet-20 and the bare one compute different outputs")


# --- timing ----------------------------------------------------------------------------------


@dataclass
class Row:
    """One comparison: per-round throughputs of both contenders, and what they add up to."""

    name: str
    ours_label: str
    reference_label: str
    target: float
    detail: str
    ours: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)
    # The same work per second of process CPU time (all threads): steadier than wall time when
    # other processes share the cores, since time spent descheduled is not counted.
    ours_cpu: list[float] = field(default_factory=list)
    reference_cpu: list[float] = field(default_factory=list)
    # Peak resident memory (MiB) of each contender's process, per round: whole-process rows only.
    # First with freed memory returned at once (what the verdict uses), then as glibc keeps it.
    ours_peak_mib: list[float] = field(default_factory=list)
    reference_peak_mib: list[float] = field(default_factory=list)
    ours_default_peak_mib: list[float] = field(default_factory=list)
    reference_default_peak_mib: list[float] = field(default_factory=list)

    @property
    def ours_median(self) -> float:
        """Median images/s of resnet_ref's contender."""
        return statistics.median(self.ours)

    @property
    def reference_median(self) -> float:
        """Median images/s of the reference."""
        return statistics.median(self.reference)

    @property
    def ratio(self) -> float:
        """ours / reference, of the medians."""
        return self.ours_median / self.reference_median

    @property
    def cpu_ratio(self) -> float:
        """ours / reference, of the median images per CPU-second."""
        return statistics.median(self.ours_cpu) / statistics.median(self.reference_cpu)

    @property
    def paired_ratios(self) -> list[float]:
        """ours / reference within each round: their spread shows how noisy the row is."""
        return [a / b for a, b in zip(self.ours, self.reference, strict=True)]

    @property
    def measures_memory(self) -> bool:
        """Whether the row also compares peak memory (the whole-process rows)."""
        return bool(self.ours_peak_mib)

    @property
    def memory_passed(self) -> bool:
        """Whether ours peaks at no more memory than the reference (median over rounds), to
        within :data:`MEMORY_RESOLUTION_MIB`."""
        if not self.measures_memory:
            return True
        ours, reference = (
            statistics.median(self.ours_peak_mib),
            statistics.median(self.reference_peak_mib),
        )
        return ours <= reference + MEMORY_RESOLUTION_MIB

    @property
    def passed(self) -> bool:
        """Whether the ratio reaches the target (and, if measured, memory is no higher)."""
        return self.ratio >= self.target and self.memory_passed

    def as_dict(self) -> dict:
        """Everything about the row, for --json."""
        return {
            **asdict(self),
            "ours_median": self.ours_median,
            "reference_median": self.reference_median,
            "ratio": self.ratio,
            "cpu_ratio": self.cpu_ratio,
            "paired_ratios": self.paired_ratios,
            "median_paired_ratio": statistics.median(self.paired_ratios),
            **(
                {
                    "ours_peak_mib_median": statistics.median(self.ours_peak_mib),
                    "reference_peak_mib_median": statistics.median(self.reference_peak_mib),
                    "ours_default_peak_mib_median": statistics.median(self.ours_default_peak_mib),
                    "reference_default_peak_mib_median": statistics.median(
                        self.reference_default_peak_mib
                    ),
                    "memory_passed": self.memory_passed,
                }
                if self.measures_memory
                else {}
            ),
            "passed": self.passed,
        }


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that the clock measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def interleave(
    row: Row,
    ours: Callable[[], int],
    reference: Callable[[], int],
    rounds: int,
    warmup: int,
    device: torch.device,
    log: Callable[[str], None],
    setup: Callable[[str], None] | None = None,
) -> Row:
    """Time ``ours`` and ``reference`` alternately, ``rounds`` times each, after warm-up.

    Each callable does one timed unit of work and returns how many images it processed.
    Odd rounds run the reference first, so neither always follows the other. ``setup``, if
    given, is called with ``"ours"`` or ``"reference"`` before each call, outside the clock.
    """

    def timed(which: str) -> tuple[float, float]:
        if setup is not None:
            setup(which)
        synchronize(device)
        start, start_cpu = time.perf_counter(), time.process_time()
        images = (ours if which == "ours" else reference)()
        synchronize(device)
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        return images / wall, images / cpu

    for _ in range(warmup):
        timed("ours")
        timed("reference")
    for index in range(rounds):
        order = ("ours", "reference") if index % 2 == 0 else ("reference", "ours")
        for which in order:
            per_second, per_cpu_second = timed(which)
            getattr(row, which).append(per_second)
            getattr(row, f"{which}_cpu").append(per_cpu_second)
        log(
            f"  {row.name} round {index + 1}/{rounds}: ours {row.ours[-1]:8.1f} img/s "
            f"({row.ours_cpu[-1]:8.1f} per CPU-s), reference {row.reference[-1]:8.1f} img/s "
            f"({row.reference_cpu[-1]:8.1f} per CPU-s)"
        )
    return row


def step_function(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, steps: int
) -> Callable[[], int]:
    """``steps`` training-mode steps: forward, cross-entropy, backward, zero the gradients."""
    model.train()

    def run() -> int:
        for _ in range(steps):
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            model.zero_grad(set_to_none=True)
        return steps * len(images)

    return run


def model_row(
    name: str,
    ours: nn.Module,
    reference: nn.Module,
    reference_label: str,
    batch: int,
    size: int,
    steps: int,
    settings: dict,
    device: torch.device,
    log: Callable[[str], None],
) -> Row:
    """Compare forward+backward throughput of two models on the same random batch."""
    generator = torch.Generator().manual_seed(0)
    classes = ours.fc.out_features
    images = torch.randn(batch, ours.in_channels, size, size, generator=generator).to(device)
    labels = torch.randint(0, classes, (batch,), generator=generator).to(device)
    ours.to(device)
    reference.to(device)
    row = Row(
        name=name,
        ours_label=f'resnet_ref.create("{name}")',
        reference_label=reference_label,
        target=0.97,
        detail=f"fwd+bwd, batch {batch}, {size}x{size}, {steps} steps per round",
    )
    return interleave(
        row,
        step_function(ours, images, labels, steps),
        step_function(reference, images, labels, steps),
        settings["rounds"],
        settings["warmup"],
        device,
        log,
    )


# --- whole processes: resnet50 alone in a child process, time and peak memory ----------------

PROCESS_CONTENDERS = {
    "ours": ('resnet_ref.create("resnet50")', lambda: resnet_ref.create("resnet50")),
    "reference": ("torchvision.models.resnet50()", lambda: torchvision.models.resnet50()),
}


# How the memory is measured. By default glibc's malloc keeps freed blocks for reuse and raises
# the size above which it hands memory back to the system as a program frees large blocks, so a
# process's peak resident memory also counts how its heap happened to fragment. For the same
# torchvision resnet50 step that varied from 1,754 to 1,882 MiB between identical runs here,
# more than any difference between the two models. Fixing that size (glibc's documented
# MALLOC_MMAP_THRESHOLD_ variable) gives every tensor above 128 KiB its own mapping, returned
# when the tensor is freed, so the peak is what the process really holds at once: 1,511 MiB for
# both models, repeatable to about 0.3 MiB. The time is measured without it, as users run.
RETURN_FREED_MEMORY = {"MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}
# Two runs of one model differ by up to this much with RETURN_FREED_MEMORY: a smaller
# difference between the contenders is no difference.
MEMORY_RESOLUTION_MIB = 1.0


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB.

    On Linux this is ``VmHWM`` from ``/proc/self/status``: the high-water mark of the address
    space that the process got when it started its program. ``getrusage(RUSAGE_SELF).ru_maxrss``
    would not do in a child process: Linux carries the parent's peak over into it when it starts
    (the maximum is kept per process across ``exec``), so every child would report at least the
    benchmark's own peak. Elsewhere, ``ru_maxrss`` it is (KiB on Linux, bytes on macOS).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # "VmHWM:   1909244 kB"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def process_child(contender: str, steps: int, device: torch.device) -> dict:
    """In the child process: one warm-up step, then ``steps`` timed steps; return the figures.

    Batch 8 at 3x224x224, training mode, forward, cross-entropy, backward, as in the
    in-process rows.
    """
    torch.manual_seed(0)
    model = PROCESS_CONTENDERS[contender][1]().to(device)
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(8, 3, 224, 224, generator=generator).to(device)
    labels = torch.randint(0, 1000, (8,), generator=generator).to(device)
    step_function(model, images, labels, 1)()  # warm-up
    run = step_function(model, images, labels, steps)
    synchronize(device)
    start, start_cpu = time.perf_counter(), time.process_time()
    images_done = run()
    synchronize(device)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return {
        "contender": contender,
        "images": images_done,
        "wall": wall,
        "cpu": cpu,
        "peak_mib": peak_rss_mib(),
        "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def run_child(
    contender: str,
    steps: int,
    threads: int,
    device: torch.device,
    environment: dict[str, str] | None = None,
) -> dict:
    """Run :func:`process_child` in a fresh Python process and return what it reports.

    ``environment`` adds variables to the child's environment (see :data:`RETURN_FREED_MEMORY`).
    """
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--process-child",
        contender,
        "--process-steps",
        str(steps),
        "--threads",
        str(threads),
        "--device",
        str(device),
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(environment or {})},
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"the {contender} child process failed (exit {done.returncode}):\n{done.stderr}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def process_row(
    steps: int, rounds: int, threads: int, device: torch.device, log: Callable[[str], None]
) -> Row:
    """resnet_ref's resnet50 against torchvision's, each round in two fresh processes.

    Rounds alternate which contender starts (ours first, then torchvision first, ...). Each
    contender runs twice per round: ``steps`` timed steps with the allocator as users have it,
    then one step with :data:`RETURN_FREED_MEMORY` for its peak memory. The child processes'
    start-up and warm-up are not timed, but count towards their peak memory.
    """
    row = Row(
        name="resnet50-process",
        ours_label=PROCESS_CONTENDERS["ours"][0],
        reference_label=PROCESS_CONTENDERS["reference"][0],
        target=1.0,
        detail=(
            f"fwd+bwd, batch 8, 224x224, one process per contender and round: 1 warm-up step, "
            f"{steps} timed steps; peak resident memory of the whole process, freed memory "
            "returned at once"
        ),
    )
    for index in range(rounds):
        order = ("ours", "reference") if index % 2 == 0 else ("reference", "ours")
        for which in order:
            report = run_child(which, steps, threads, device)
            getattr(row, which).append(report["images"] / report["wall"])
            getattr(row, f"{which}_cpu").append(report["images"] / report["cpu"])
            getattr(row, f"{which}_default_peak_mib").append(report["peak_mib"])
            report = run_child(which, 1, threads, device, RETURN_FREED_MEMORY)
            getattr(row, f"{which}_peak_mib").append(report["peak_mib"])
        log(
            f"  {row.name} round {index + 1}/{rounds}: ours {row.ours[-1]:6.2f} img/s, "
            f"peak {row.ours_peak_mib[-1]:,.1f} MiB ({row.ours_default_peak_mib[-1]:,.0f} as "
            f"glibc keeps it); reference {row.reference[-1]:6.2f} img/s, peak "
            f"{row.reference_peak_mib[-1]:,.1f} MiB ({row.reference_default_peak_mib[-1]:,.0f})"
        )
    return row


# --- the training loop against a bare loop ---------------------------------------------------


def training_row(
    epochs: int, rounds: int, warmup: int, device: torch.device, log: Callable[[str], None]
) -> Row:
    """Compare resnet_ref.training.train with a bare loop, both with evaluation each epoch."""
    from resnet_ref.data import load_data
    from resnet_ref.training import TrainConfig, train

    data = load_data("embedded")
    batch_size = 128
    # amp and channels_last only act on CUDA; off, so that both loops do the same arithmetic.
    config = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        progress=False,
        device=str(device),
        amp=False,
        channels_last=False,
    )
    torch.manual_seed(0)
    model_ours = resnet_ref.create(
        "resnet20", in_channels=data.channels, num_classes=data.num_classes
    )
    model_bare = resnet_ref.create(
        "resnet20", in_channels=data.channels, num_classes=data.num_classes
    )
    initial = {key: value.clone() for key, value in model_ours.state_dict().items()}
    n_train = len(data.train_labels)

    def ours() -> int:
        train(model_ours, data, config)
        return epochs * n_train

    def bare() -> int:
        model = model_bare.to(device)
        opt = torch.optim.SGD(
            model.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
            nesterov=config.nesterov,
        )
        for epoch in range(epochs):
            model.train()
            loader = data.loader("train", batch_size, shuffle=True, seed=epoch, device=device)
            for images, labels in loader:
                x = data.prepare(images, train=True)
                loss = F.cross_entropy(model(x), labels)
                opt.zero_grad()
                loss.backward()
                opt.step()
            # train() evaluates after every epoch, so the bare loop does the same work.
            model.eval()
            loss_sum, wrong = 0.0, 0
            with torch.no_grad():
                for images, labels in data.loader("test", 512, shuffle=False, device=device):
                    logits = model(data.prepare(images, train=False))
                    loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
                    wrong += (logits.argmax(1) != labels).sum().item()
        return epochs * n_train

    steps = len(data.loader("train", batch_size))
    row = Row(
        name="train loop",
        ours_label="resnet_ref.training.train",
        reference_label="bare SGD loop",
        target=0.95,
        detail=(
            f"embedded data ({n_train} train / {len(data.test_labels)} test, "
            f"{data.channels}x{data.image_size}x{data.image_size}), resnet20, batch {batch_size}, "
            f"{epochs} epoch(s) = {epochs * steps} steps per round, evaluation each epoch in both"
        ),
    )

    def setup(which: str) -> None:
        # Every round starts from the same weights and random state, so neither contender
        # trains further than the other (or into numbers that are slower to compute).
        (model_ours if which == "ours" else model_bare).load_state_dict(initial)
        torch.manual_seed(0)

    return interleave(row, ours, bare, rounds, warmup, device, log, setup)


# --- the report ------------------------------------------------------------------------------


def format_table(rows: list[Row]) -> str:
    """The side-by-side table: medians, their ratio, per-round ratios, cpu ratio, PASS or MISS."""
    width = max([len("comparison"), *(len(row.name) for row in rows)])
    header = (
        f"{'comparison':<{width}} {'ours img/s':>11} {'ref img/s':>11} {'ratio':>7} "
        f"{'per-round ratios':>22} {'cpu ratio':>9} {'target':>7}  result"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        paired = row.paired_ratios
        spread = f"{statistics.median(paired):.3f} [{min(paired):.2f}..{max(paired):.2f}]"
        lines.append(
            f"{row.name:<{width}} {row.ours_median:>11.2f} {row.reference_median:>11.2f} "
            f"{row.ratio:>7.3f} {spread:>22} {row.cpu_ratio:>9.3f} "
            f"{'>= ' + format(row.target, '.2f'):>7}  "
            f"{'PASS' if row.ratio >= row.target else 'MISS'}"
        )
    memory_rows = [row for row in rows if row.measures_memory]
    if memory_rows:
        header = (
            f"{'whole process':<{width}} {'time ours/ref':>13} {'ours peak MiB':>13} "
            f"{'ref peak MiB':>12} {'memory ratio':>12} {'target':>13}  result  "
            f"{'as glibc keeps it: ours, ref':>28}"
        )
        lines += ["", header, "-" * len(header)]
        for row in memory_rows:
            ours, reference, ours_default, reference_default = (
                statistics.median(values)
                for values in (
                    row.ours_peak_mib,
                    row.reference_peak_mib,
                    row.ours_default_peak_mib,
                    row.reference_default_peak_mib,
                )
            )
            lines.append(
                f"{row.name:<{width}} {1 / row.ratio:>13.3f} {ours:>13,.1f} {reference:>12,.1f} "
                f"{ours / reference:>12.4f} {f'<= ref + {MEMORY_RESOLUTION_MIB:g}':>13}  "
                f"{'PASS' if row.memory_passed else 'MISS':<6}  "
                f"{f'{ours_default:,.0f}, {reference_default:,.0f}':>28}"
            )
    return "\n".join(lines)


PRESETS = {
    # rounds, warm-up and work per round for each row
    "default": {
        "resnet18": {"rounds": 9, "warmup": 2, "steps": 2},
        "resnet50": {"rounds": 9, "warmup": 1, "steps": 1},
        "resnet20": {"rounds": 13, "warmup": 2, "steps": 2},
        "train": {"rounds": 15, "warmup": 1, "epochs": 1},
        # rounds of two child processes per contender (each child warms up once)
        "resnet50-process": {"rounds": 5, "steps": 3},
    },
    "quick": {
        "resnet18": {"rounds": 3, "warmup": 1, "steps": 1},
        "resnet50": {"rounds": 3, "warmup": 1, "steps": 1},
        "resnet20": {"rounds": 5, "warmup": 1, "steps": 2},
        "train": {"rounds": 5, "warmup": 1, "epochs": 1},
        "resnet50-process": {"rounds": 3, "steps": 1},
    },
}
ROW_NAMES = ("resnet18", "resnet50", "resnet50-process", "resnet20", "train")


def main(argv: list[str] | None = None) -> int:
    """Run the comparisons, print the table, optionally save JSON; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, about a minute")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch.set_num_threads (default 1: on a shared machine, several threads wait on "
        "each other whenever one is descheduled, which swamps the comparison)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument(
        "--only",
        default=",".join(ROW_NAMES),
        help=f"comma-separated rows to run, from {','.join(ROW_NAMES)} (default: all)",
    )
    parser.add_argument("--rounds", type=int, help="override the rounds of every row")
    parser.add_argument("--verbose", action="store_true", help="print every round")
    # Internal: how the resnet50-process row runs one contender in a child process.
    parser.add_argument(
        "--process-child", choices=sorted(PROCESS_CONTENDERS), help=argparse.SUPPRESS
    )
    parser.add_argument("--process-steps", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.process_child:
        torch.set_num_threads(args.threads)
        report = process_child(args.process_child, args.process_steps, pick_device(args.device))
        print(json.dumps(report), flush=True)
        return 0

    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(ROW_NAMES))
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROW_NAMES)}")
    preset = {
        name: dict(values) for name, values in PRESETS["quick" if args.quick else "default"].items()
    }
    if args.rounds:
        for values in preset.values():
            values["rounds"] = args.rounds

    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    def log(message: str) -> None:
        if args.verbose:
            print(message, flush=True)

    started = time.perf_counter()
    print(
        f"resnet_ref throughput benchmark ({'quick' if args.quick else 'default'} run), "
        f"{datetime.datetime.now().isoformat(timespec='seconds')}",
        flush=True,
    )
    print(
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, python "
        f"{platform.python_version()}, device {device}, torch.set_num_threads({args.threads}), "
        f"{platform.machine()} with {_cpu_count()} logical CPUs",
        flush=True,
    )

    rows: list[Row] = []
    torch.manual_seed(0)
    for name in ("resnet18", "resnet50"):
        if name in only:
            print(f"timing {name} against torchvision.models.{name}() ...", flush=True)
            settings = preset[name]
            rows.append(
                model_row(
                    name,
                    resnet_ref.create(name),
                    getattr(torchvision.models, name)(),
                    f"torchvision.models.{name}()",
                    batch=8,
                    size=224,
                    steps=settings["steps"],
                    settings=settings,
                    device=device,
                    log=log,
                )
            )
    if "resnet50-process" in only:
        settings = preset["resnet50-process"]
        print(
            f"timing resnet50 against torchvision's in child processes, {settings['rounds']} "
            "rounds of two processes per contender (one timed, one for memory) ...",
            flush=True,
        )
        rows.append(process_row(settings["steps"], settings["rounds"], args.threads, device, log))
    if "resnet20" in only:
        print("timing resnet20 against the bare ResNet-20 ...", flush=True)
        ours, bare = resnet_ref.create("resnet20"), BareResNet20()
        check_same_network(ours, bare)
        print(f"  both ResNet-20s have {RESNET20_PARAMETERS:,} parameters and agree", flush=True)
        settings = preset["resnet20"]
        rows.append(
            model_row(
                "resnet20",
                ours,
                bare,
                "BareResNet20 (this file)",
                batch=128,
                size=32,
                steps=settings["steps"],
                settings=settings,
                device=device,
                log=log,
            )
        )
    if "train" in only:
        print("timing resnet_ref.training.train against a bare loop ...", flush=True)
        settings = preset["train"]
        rows.append(
            training_row(settings["epochs"], settings["rounds"], settings["warmup"], device, log)
        )

    elapsed = time.perf_counter() - started
    print()
    for row in rows:
        print(f"{row.name}: {row.ours_label} vs {row.reference_label}; {row.detail}")
    print()
    print(format_table(rows))
    print()
    print(
        "ratio = median ours / median reference images/s (higher is better); it decides "
        "PASS/MISS.\nper-round ratios = median [min..max] of ours / reference within each "
        "round: a wide range means a noisy row.\ncpu ratio = the ratio of images per second "
        "of process CPU time, steadier than wall time when\nother processes share the cores."
    )
    if any(row.measures_memory for row in rows):
        print(
            "whole process: each contender alone in a fresh process per round; time ours/ref = "
            "1 / ratio; peak MiB = median\nof the processes' peak resident memory (VmHWM), "
            "start-up, model and warm-up included, with freed memory returned at once\n"
            f"({' '.join(f'{k}={v}' for k, v in RETURN_FREED_MEMORY.items())}); 'as glibc keeps "
            "it' = the same, measured in the timed runs, which\nalso counts how the heap "
            "happened to fragment and varies by a hundred MiB between identical runs."
        )
    missed = [row for row in rows if not row.passed]
    for row in missed:
        if not row.memory_passed:
            print(
                f"MISS: {row.name} peaks at {statistics.median(row.ours_peak_mib):,.1f} MiB, more "
                f"than the reference's {statistics.median(row.reference_peak_mib):,.1f} MiB "
                f"+ {MEMORY_RESOLUTION_MIB:g}"
            )
        if row.ratio >= row.target:
            continue
        print(f"MISS: {row.name} ratio {row.ratio:.3f} is under its target {row.target:.2f}")
        low, high = min(row.paired_ratios), max(row.paired_ratios)
        if row.cpu_ratio >= row.target and high - low > 0.1:
            print(
                f"      its per-round ratios ranged {low:.2f}..{high:.2f} and its cpu ratio "
                f"{row.cpu_ratio:.3f} reaches the target: probably other processes' load; "
                "rerun on a quieter machine"
            )
    for row in rows:
        if row.passed and row.cpu_ratio < row.target:
            print(
                f"NOTE: {row.name} passes on wall time, but its cpu ratio {row.cpu_ratio:.3f} is "
                f"under {row.target:.2f}: ours may do more work than the reference"
            )
    if not missed:
        print("all rows reach their targets")
    print(f"total time {elapsed:.0f} s")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        result = {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "logical_cpus": _cpu_count(),
            "device": str(device),
            "threads": args.threads,
            "quick": args.quick,
            "seconds": elapsed,
            "rows": [row.as_dict() for row in rows],
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0


def _cpu_count() -> int:
    return os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
