"""The course's one training loop: SGD with momentum, a learning-rate schedule, checkpoints.

The recipe follows He et al. (2016), section 4.2, for CIFAR-10: SGD with momentum 0.9, weight decay
1e-4, batch size 128, learning rate 0.1 divided by 10 at 50% and 75% of training (their 32k and 48k
of 64k iterations). That is ``TrainConfig(schedule="step")``; the default is a cosine schedule,
which has no milestones to choose. The paper warmed ResNet-110 up at a rate of 0.01 for about 400
iterations; ``warmup_epochs`` does the same job with a linear ramp.

The same ``train()`` runs on a CPU and on a GPU. On CUDA it adds bfloat16 autocast, the
channels-last layout, cuDNN's algorithm search, the fused SGD step and (``compile="auto"``)
CUDA graphs; under ``torchrun`` it trains on several processes (:mod:`resnet_ref.distributed`).

Everything a run needs to continue after a crash is in its checkpoint (model, optimizer, scheduler,
random state, history), so ``resume=True`` gives the same numbers as an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    SequentialLR,
)
from tqdm.auto import tqdm

from resnet_ref import distributed

if TYPE_CHECKING:
    from resnet_ref.data import ImageData

History = list[dict[str, float]]
"""One entry per epoch: epoch, train_loss, train_error, test_loss, test_error, lr, seconds."""

CHECKPOINT_FORMAT = "resnet_ref checkpoint"
CHECKPOINT_VERSION = 1

# Settings that define the optimisation path. Resuming with different values would splice two
# different runs together, so train() refuses instead.
OPTIMISATION_SETTINGS = (
    "epochs",
    "batch_size",
    "lr",
    "momentum",
    "weight_decay",
    "nesterov",
    "schedule",
    "milestones",
    "gamma",
    "warmup_epochs",
    "label_smoothing",
)

COMPILE_MODES = ("auto", None, "default", "reduce-overhead", "max-autotune")

# Reading the running loss forces the CPU to wait for the GPU, so the progress bar shows it only
# every few steps.
PROGRESS_EVERY = 20


class CheckpointError(Exception):
    """A checkpoint is missing, damaged, not one of ours, or does not fit the run resuming it."""


@dataclass
class TrainConfig:
    """Settings for :func:`train`; the defaults are the ResNet paper's CIFAR-10 recipe except
    for the schedule.

    Batch 128, rate 0.1, momentum 0.9 and weight decay 1e-4 are the paper's; its schedule, the
    rate divided by 10 at 50% and 75% of training, is ``schedule="step"``, while the default is
    ``"cosine"``.

    The learning rate changes after every optimizer step (not every epoch), so even a run of a
    few epochs follows the whole schedule. ``milestones`` are fractions of training at which the
    ``"step"`` schedule multiplies the learning rate by ``gamma``. ``warmup_epochs`` may be
    fractional. ``amp`` (bfloat16 autocast) and ``channels_last`` only take effect on CUDA.
    ``label`` names the run on its progress bar, which tells several runs in one cell apart.
    """

    epochs: int
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    nesterov: bool = False
    schedule: str = "cosine"
    milestones: tuple[float, ...] = (0.5, 0.75)
    gamma: float = 0.1
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0
    seed: int = 0
    device: str | None = None
    amp: bool = True
    channels_last: bool = True
    compile: str | None = "auto"
    progress: bool = True
    label: str = "training"
    checkpoint: str | Path | None = None
    history_path: str | Path | None = None
    resume: bool = False

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be at least 1")
        if self.schedule not in ("cosine", "step"):
            raise ValueError(f"unknown schedule {self.schedule!r}; use 'cosine' or 'step'")
        if self.resume and self.checkpoint is None:
            raise ValueError("resume=True needs the checkpoint path to resume from")
        if self.compile not in COMPILE_MODES:
            known = ", ".join(repr(mode) for mode in COMPILE_MODES)
            raise ValueError(f"unknown compile mode {self.compile!r}; use one of {known}")
        self.milestones = tuple(self.milestones)


def pick_device(preference: str | None = None) -> torch.device:
    """Return the device to compute on: CUDA if present, else Apple's MPS, else the CPU.

    An explicit ``preference`` such as ``"cuda"``, ``"cuda:1"`` or ``"cpu"`` is honoured, and a
    device this machine does not have raises ``ValueError`` rather than failing later.
    """
    if preference is None or preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(preference)
    except RuntimeError as error:
        raise ValueError(f"unknown device {preference!r}; use cuda, mps or cpu") from error
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"device {preference!r} requested, but CUDA is not available here")
        if device.index is not None and device.index >= count:
            raise ValueError(f"device {preference!r} requested, but there are {count} CUDA GPUs")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {preference!r} requested, but MPS is not available here")
    elif device.type not in ("cuda", "mps", "cpu"):
        raise ValueError(f"unsupported device {preference!r}; use cuda, mps or cpu")
    return device


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int
) -> LRScheduler:
    """Return the learning-rate schedule of ``config``, to be stepped once per optimizer step.

    With ``W`` warm-up steps, ``T`` steps in all and base rate ``lr``, step ``t`` uses

    - warm-up, ``t < W``: ``lr * (t + 1) / W``;
    - cosine: ``lr * (1 + cos(pi * (t - W) / (T - W))) / 2``;
    - step: ``lr * gamma ** k``, where ``k`` counts milestones ``round(f * T) <= t``.
    """
    total = config.epochs * steps_per_epoch
    warmup = round(config.warmup_epochs * steps_per_epoch)
    if warmup >= total:
        raise ValueError(f"warm-up ({warmup} steps) must be shorter than training ({total} steps)")
    if config.schedule == "cosine":
        main = CosineAnnealingLR(optimizer, T_max=total - warmup)
    else:
        milestones = [round(fraction * total) for fraction in config.milestones]
        if any(step < warmup for step in milestones):
            raise ValueError("the step schedule's milestones must come after the warm-up")
        # The second of two sequential schedulers counts its steps from the hand-over.
        main = MultiStepLR(optimizer, [step - warmup for step in milestones], gamma=config.gamma)
    if warmup == 0:
        return main
    # Reaches the full rate on the last warm-up step: factors 1/W, 2/W, ..., W/W.
    ramp = LinearLR(optimizer, start_factor=1 / warmup, total_iters=warmup - 1)
    return SequentialLR(optimizer, [ramp, main], milestones=[warmup])


def train(
    model: nn.Module,
    data: ImageData,
    config: TrainConfig,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> History:
    """Train ``model`` on ``data`` as ``config`` says, and return the per-epoch history.

    After every epoch the model is evaluated on the test split, the checkpoint and history file
    (if configured) are written, and ``on_epoch`` (if given) is called with the new history entry.
    ``train_loss`` and ``train_error`` are averages over the epoch's augmented batches with the
    model in training mode; ``test_loss`` is plain cross-entropy (no label smoothing); ``lr`` is
    the learning rate of the epoch's last step.

    With ``config.resume`` the run continues from ``config.checkpoint``; a checkpoint that cannot
    be used raises :class:`CheckpointError` before anything is trained or written. The model is
    trained in place and stays on the device it was trained on.
    """
    # Read the checkpoint first, so that a bad one fails before any work and is never overwritten.
    checkpoint = load_checkpoint(config.checkpoint) if config.resume else None

    device = pick_device(config.device)
    # Under torchrun, this process is one of several, each training on a shard of every batch.
    group = distributed.start(device) if distributed.launched() else None
    try:
        return _train(
            model, data, config, on_epoch, checkpoint, group, group.device if group else device
        )
    finally:
        if group is not None:
            distributed.stop()


def _train(model, data, config, on_epoch, checkpoint, group, device) -> History:
    """:func:`train` once the device and the process group are settled."""
    on_cuda = device.type == "cuda"
    use_amp = config.amp and on_cuda and torch.cuda.is_bf16_supported(including_emulation=False)
    channels_last = config.channels_last and on_cuda
    if on_cuda:
        # Every batch but the last has the same shape, so cuDNN's one-off search for the fastest
        # convolution algorithm pays back within the first epoch.
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(config.seed)
    leader = group is None or group.leader
    if group is not None:
        smallest = len(data.train_labels) % config.batch_size or config.batch_size
        if smallest < group.size:
            raise ValueError(
                f"{group.size} processes need at least one image each of every batch, but "
                f"batches of {config.batch_size} leave a last batch of {smallest}; "
                "choose another batch size or fewer processes"
            )

    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        nesterov=config.nesterov,
        # On a GPU one fused kernel updates every parameter; a small network is otherwise
        # limited by the cost of launching a few kernels per parameter tensor.
        fused=on_cuda,
    )
    steps_per_epoch = len(data.loader("train", config.batch_size))
    scheduler = build_scheduler(optimizer, config, steps_per_epoch)
    history: History = []
    if checkpoint is not None:
        _restore(checkpoint, config, steps_per_epoch, model, optimizer, scheduler)
        history = checkpoint["history"]
    start_epoch = len(history)

    network = _network(model, config, group, device)
    with tqdm(
        total=config.epochs * steps_per_epoch,
        initial=start_epoch * steps_per_epoch,
        desc=config.label,
        unit="step",
        disable=not (config.progress and leader),
    ) as bar:
        for epoch in range(start_epoch, config.epochs):
            started = time.perf_counter()
            # Seeding every epoch afresh makes its shuffle and augmentation the same whether the run
            # went straight through or was resumed; the prime keeps runs' seeds apart. The
            # augmentation draws its random numbers on the CPU.
            generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
            shuffle_seed = int(torch.randint(2**62, (), generator=generator))
            batches = data.loader(
                "train", config.batch_size, shuffle=True, seed=shuffle_seed, device=device
            )
            # Running sums stay on the device; reading them every step would stall the GPU.
            loss_sum = torch.zeros((), device=device)
            wrong = torch.zeros((), device=device, dtype=torch.long)
            seen = 0
            loss_function = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
            model.train()
            for images, labels in batches:
                # Every process draws the whole batch's augmentation, so that the random numbers
                # are those of one process, and then keeps its own shard.
                inputs = data.prepare(images, train=True, generator=generator)
                part = distributed.shard(len(labels), group) if group else slice(None)
                inputs, targets = inputs[part], labels[part]
                if channels_last:
                    inputs = inputs.contiguous(memory_format=torch.channels_last)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                    logits = network(inputs)
                    loss = loss_function(logits, targets)
                # DistributedDataParallel averages the processes' gradients; weighting each
                # shard's mean loss by its share makes that the gradient of the batch's mean.
                share = len(targets) * group.size / len(labels) if group else 1
                optimizer.zero_grad(set_to_none=True)
                (loss * share).backward()
                lr = optimizer.param_groups[0]["lr"]
                optimizer.step()
                scheduler.step()
                loss_sum += loss.detach() * len(targets)
                wrong += (logits.argmax(dim=1) != targets).sum()
                seen += len(labels)
                bar.update()
                if config.progress and bar.n % PROGRESS_EVERY == 0:
                    bar.set_postfix_str(
                        f"epoch {epoch + 1}/{config.epochs}, loss {loss_sum / seen:.3f}"
                    )
            if group is not None:
                loss_sum, wrong = distributed.total(loss_sum), distributed.total(wrong)

            # The network as written: a compiled one would be compiled again for evaluation mode.
            # Every process evaluates (they hold the same weights), so all return one history.
            test_loss, test_error = evaluate(model, data, "test", device=device)
            entry = {
                "epoch": epoch + 1,
                "train_loss": loss_sum.item() / seen,
                "train_error": wrong.item() / seen,
                "test_loss": test_loss,
                "test_error": test_error,
                "lr": lr,
                "seconds": time.perf_counter() - started,
            }
            history.append(entry)
            if leader and config.checkpoint is not None:
                save_checkpoint(
                    config.checkpoint, model, optimizer, scheduler, epoch + 1, history, config
                )
            if leader and config.history_path is not None:
                save_history(history, config.history_path)
            bar.set_postfix_str(
                f"epoch {epoch + 1}/{config.epochs}, loss {entry['train_loss']:.3f}, "
                f"test error {test_error:.1%}"
            )
            if leader and on_epoch is not None:
                on_epoch(entry)
    return history


def _network(
    model: nn.Module, config: TrainConfig, group: distributed.Group | None, device: torch.device
) -> nn.Module:
    """What the training steps call: ``model``, wrapped for several processes and compiled.

    Both wrappers share ``model``'s parameters, and ``model`` is what gets saved.
    """
    mode = config.compile
    if mode == "auto":
        # CUDA graphs pay on one GPU; replaying them around the processes' gradient exchange
        # is untried here, so several processes run as written.
        mode = "reduce-overhead" if device.type == "cuda" and group is None else None
    network = model
    if group is not None:
        distributed.globalise_batch_norms(model)
        network = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    return torch.compile(network, mode=mode) if mode else network


def evaluate(
    model: nn.Module,
    data: ImageData,
    split: str = "test",
    batch_size: int = 512,
    device: str | torch.device | None = None,
) -> tuple[float, float]:
    """Return the mean cross-entropy and the error rate (0..1) of ``model`` on a split of ``data``.

    Runs in evaluation mode (BatchNorm uses its running statistics) without gradients, on
    ``device`` or, if that is None, wherever the model's parameters are; the model's training
    mode is restored afterwards.
    """
    if device is None:
        device = next(model.parameters()).device
    else:
        device = pick_device(str(device))
    model.to(device)
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=device)
    wrong = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    try:
        with torch.no_grad():
            for images, labels in data.loader(split, batch_size, shuffle=False, device=device):
                logits = model(data.prepare(images, train=False)).float()
                loss_sum += F.cross_entropy(logits, labels, reduction="sum")
                wrong += (logits.argmax(dim=1) != labels).sum()
                seen += len(labels)
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError(f"the {split!r} split has no images to evaluate on")
    return loss_sum.item() / seen, wrong.item() / seen


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: LRScheduler,
    epoch: int,
    history: History,
    config: TrainConfig,
) -> None:
    """Write everything needed to continue training after ``epoch`` completed epochs to ``path``.

    The file appears atomically: a crash while saving leaves the previous checkpoint intact.
    """
    settings = {
        key: str(value) if isinstance(value, Path) else value
        for key, value in dataclasses.asdict(config).items()
    }
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "history": history,
        "config": settings,
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        },
    }
    _write_atomically(path, lambda file: torch.save(checkpoint, file))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, with tensors on the CPU.

    Raises :class:`CheckpointError`, naming the file and the problem, if it is missing,
    truncated or damaged, or was not written by this package.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint file there")
    try:
        # weights_only refuses arbitrary pickled code, so a foreign file cannot run anything.
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load raises many types for a damaged file
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(
            f"{path}: cannot be read as a checkpoint, it is damaged or truncated ({reason})"
        ) from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a resnet_ref training checkpoint")
    if checkpoint.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {checkpoint.get('version')!r}, "
            f"this code reads version {CHECKPOINT_VERSION}"
        )
    missing = {"epoch", "model", "optimizer", "scheduler", "history", "config", "rng"}
    missing -= checkpoint.keys()
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {', '.join(sorted(missing))}")
    return checkpoint


def save_history(history: History, path: str | Path) -> None:
    """Write the history as a JSON list of per-epoch dictionaries, atomically."""
    text = json.dumps(history, indent=2) + "\n"
    _write_atomically(path, lambda file: file.write(text.encode()))


def load_history(path: str | Path) -> History:
    """Read a history written by :func:`save_history`."""
    return json.loads(Path(path).read_text())


def _restore(checkpoint, config, steps_per_epoch, model, optimizer, scheduler):
    """Put the run's state back from a checkpoint, after checking that it belongs to this run."""
    path = config.checkpoint
    changed = [
        f"{key}={checkpoint['config'].get(key)!r} there, {getattr(config, key)!r} now"
        for key in OPTIMISATION_SETTINGS
        if checkpoint["config"].get(key) != getattr(config, key)
    ]
    if changed:
        raise CheckpointError(f"{path}: written with other settings ({'; '.join(changed)})")
    # The scheduler counts optimizer steps; a different count means a different data set size.
    if checkpoint["scheduler"].get("last_epoch") != checkpoint["epoch"] * steps_per_epoch:
        raise CheckpointError(
            f"{path}: written for a different number of batches per epoch "
            f"(this run has {steps_per_epoch}); was the data set or its limit changed?"
        )
    if len(checkpoint["history"]) != checkpoint["epoch"]:
        raise CheckpointError(f"{path}: its history does not match its epoch count")
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError as error:
        first_line = str(error).strip().splitlines()[0]
        raise CheckpointError(f"{path}: written for a different model ({first_line})") from error
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    torch.set_rng_state(checkpoint["rng"]["torch"])
    if torch.cuda.is_available() and len(checkpoint["rng"]["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(checkpoint["rng"]["cuda"])


def _write_atomically(path: str | Path, write: Callable[[Any], object]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then move it into place in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder, so os.replace is a rename within one file system, which is atomic.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
