"""Presets: how big the experiments of the book are on the machine that runs them.

The book's code cells run at build time on whatever machine builds it. On a CPU they
use the small ``"cpu"`` preset (the embedded digits, a few epochs) so that the whole book
builds in minutes; on a CUDA GPU the same cells use the ``"gpu"`` preset (CIFAR-10, long
enough to reproduce the papers' trends). Each chapter prints which preset produced its
outputs. Set ``RESNET_COURSE_PRESET=cpu`` or ``gpu`` to choose by hand, and
``RESNET_COURSE_DATA`` to train on another data source than the preset's (anything
:func:`resnet_ref.data.load_data` takes, such as the folder of an offline copy of CIFAR-10).
"""

import dataclasses
import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Preset:
    """The scale of the book's experiments.

    Attributes:
        name: ``"cpu"`` or ``"gpu"``.
        data: the data source passed to :func:`resnet_ref.data.load_data`.
        epochs: training epochs for a single training run.
        short_epochs: epochs for experiments that train many networks side by side.
        batch_size: mini-batch size.
        depths: CIFAR-style depths (6n + 2) compared in depth experiments.
        description: one line for the page that says what produced its outputs.
    """

    name: str
    data: str
    epochs: int
    short_epochs: int
    batch_size: int
    depths: tuple[int, ...]
    description: str


PRESETS = {
    "cpu": Preset(
        name="cpu",
        data="embedded",
        epochs=6,
        short_epochs=4,
        batch_size=128,
        depths=(20, 56),
        description="CPU preset: embedded handwritten digits (16x16), a few epochs",
    ),
    "gpu": Preset(
        name="gpu",
        data="cifar10",
        epochs=60,
        short_epochs=30,
        batch_size=128,
        depths=(20, 32, 44, 56),
        description="GPU preset: CIFAR-10 (32x32), tens of epochs",
    ),
}


def current_preset() -> Preset:
    """The preset for this machine: ``RESNET_COURSE_PRESET`` if set, else GPU if CUDA is present.

    ``RESNET_COURSE_DATA``, if set, replaces the preset's data source.
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
    return dataclasses.replace(preset, data=data) if data else preset
