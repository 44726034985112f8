"""Presets: how big the experiments of the book are on the machine that runs them.

The book's code cells run at build time on whatever machine builds it. On a CPU they
use the small ``"cpu"`` preset (the embedded digits, a few epochs) so that the whole book
builds in minutes; on a CUDA GPU the same cells use the ``"gpu"`` preset (CIFAR-10, long
enough to show the papers' trends, and sized for the whole book to run in a few minutes on one
data-centre GPU: an estimate, chapter by chapter in book/results/README.md, until a timed run
is stored).
Each chapter prints which preset produced its outputs. Set ``RESNET_COURSE_PRESET=cpu`` or
``gpu`` to choose by hand, and ``RESNET_COURSE_DATA`` to train on another data source than the
preset's (anything :func:`resnet_ref.data.load_data` takes, such as the folder of an offline
copy of CIFAR-10).
"""

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class Preset:
    """The scale of the book's experiments.

    Attributes:
        name: ``"cpu"`` or ``"gpu"``.
        data: the data source passed to :func:`resnet_ref.data.load_data`.
        epochs: training epochs for a single training run.
        short_epochs: epochs for experiments that train many networks side by side.
        short_limit: at most this many images of each split for those experiments (the
            ``limit`` of :func:`resnet_ref.data.load_data`); ``None`` keeps every image.
        batch_size: mini-batch size.
        depths: CIFAR-style depths (6n + 2) compared in depth experiments.
        description: one line for the page that says what produced its outputs.
    """

    name: str
    data: str
    epochs: int
    short_epochs: int
    short_limit: int | None
    batch_size: int
    depths: tuple[int, ...]
    description: str


def _gpu_preset() -> Preset:
    """The GPU preset, its description written from its own settings."""
    preset = Preset(
        name="gpu",
        data="cifar10",
        # Chapter 8's complete run (and its two variants) on all 50,000 training images.
        epochs=15,
        # Chapters 2 and 9 train six networks between them, so each gets a shorter run on part
        # of the training set: 160 full batches per epoch. The limit is larger than the test
        # split, so all 10,000 test images stay.
        short_epochs=6,
        short_limit=20_480,
        batch_size=128,
        depths=(20, 56),
        description="",
    )
    description = (
        f"GPU preset: CIFAR-10 (32x32), {preset.epochs} epochs for a single run, "
        f"{preset.short_epochs} per network on {preset.short_limit:,} training images "
        "where several are compared"
    )
    return dataclasses.replace(preset, description=description)


PRESETS = {
    "cpu": Preset(
        name="cpu",
        data="embedded",
        epochs=6,
        short_epochs=4,
        short_limit=None,
        batch_size=128,
        depths=(20, 56),
        description="CPU preset: embedded handwritten digits (16x16), a few epochs",
    ),
    "gpu": _gpu_preset(),
}


def current_preset() -> Preset:
    """The preset for this machine: ``RESNET_COURSE_PRESET`` if set, else GPU if CUDA is present.

    ``RESNET_COURSE_DATA``, if set, replaces the preset's data source. The ``gpu`` preset chosen
    by hand on a machine without a GPU raises ``RuntimeError`` unless ``RESNET_COURSE_DATA`` is
    set too.
    """
    name = os.environ.get("RESNET_COURSE_PRESET")
    if name is None:
        name = "gpu" if torch.cuda.is_available() else "cpu"
    if name not in PRESETS:
        raise ValueError(
            f"unknown preset {name!r} in RESNET_COURSE_PRESET; choose one of {', '.join(PRESETS)}"
        )
    preset = PRESETS[name]
    data = os.environ.get("RESNET_COURSE_DATA")
    if name == "gpu" and not data and not _has_accelerator():
        # Chosen by hand on a CPU, the gpu preset would train on all of CIFAR-10 for hours
        # without saying why; a data source chosen with it is a deliberate, small rehearsal.
        raise RuntimeError(
            "RESNET_COURSE_PRESET=gpu, but this machine has no GPU (neither CUDA nor MPS): "
            f"the gpu preset trains on CIFAR-10 for {preset.epochs} epochs per run, hours on "
            "a CPU. Unset RESNET_COURSE_PRESET (or set it to cpu) for the CPU preset; to run "
            "the gpu preset's code on a CPU anyway, also set RESNET_COURSE_DATA to a small data "
            "set (python scripts/run_chapters.py tiny-data writes one)."
        )
    return dataclasses.replace(preset, data=data) if data else preset


def _has_accelerator() -> bool:
    """Whether :func:`resnet_ref.training.pick_device` would choose a GPU here."""
    return torch.cuda.is_available() or torch.backends.mps.is_available()


def stored_gpu_results() -> Path:
    """The folder of the GPU runs stored with the book (``book/results/``), seen from a chapter.

    The book runs its chapters from ``book/``, where that folder is ``results``; a chapter
    opened as a notebook runs from ``book/notebooks/`` (or the learner bundle's
    ``notebooks/``), where it is ``../results``. Where there is neither (Colab, say), it is
    ``results``, which does not exist: the chapters then say that no runs are stored.
    """
    for folder in (Path("results"), Path("..") / "results"):
        if folder.is_dir():
            return folder
    return Path("results")
