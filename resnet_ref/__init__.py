"""resnet_ref: the course's reference implementation of residual networks.

Everything the chapters demonstrate and the autograder compares against lives here, once.
Each module reads top to bottom:

- :mod:`resnet_ref.shortcuts`: identity, projection (options B and C) and zero-padding
  (option A) shortcuts;
- :mod:`resnet_ref.blocks`: ``BasicBlock``, ``BottleneckBlock``, ``PreActBlock``,
  ``PreActBottleneck``, with options for ResNeXt groups, Wide ResNet widths,
  squeeze-and-excitation, and ``skip=False`` for plain networks;
- :mod:`resnet_ref.models`: ``ResNet`` and the registry (``create(name, **kwargs)``,
  ``list_models()``): the ImageNet family, the CIFAR family (6n+2 layers, residual and
  plain), pre-activation networks, Wide ResNet, the small ResNet;
- :mod:`resnet_ref.torchvision_compat`: loading torchvision's ResNet, ResNeXt and Wide ResNet
  weights, and exporting back;
- :mod:`resnet_ref.data`: ``load_data("embedded" | "cifar10" | <ImageFolder path>)``, with
  augmentation on the batch's device;
- :mod:`resnet_ref.training`: the one training loop (``train``, ``TrainConfig``),
  ``evaluate``, checkpoints, ``pick_device``;
- :mod:`resnet_ref.distributed`: what ``train`` needs under ``torchrun``: the process group,
  each process's shard of a batch, BatchNorm over the whole batch;
- :mod:`resnet_ref.analysis`: the measurements the chapters make: networks built on the meta
  device, parameter and multiply-add counts, layer tables, gradient norms, lesions, paths,
  loss landscapes;
- :mod:`resnet_ref.tables`: the chapters' small computed tables, shown as Markdown;
- :mod:`resnet_ref.presets`: the CPU and GPU scales of the book's experiments;
- :mod:`resnet_ref.grading`: the behavioural checks the assignments' test cells call.

This list is the one description of the modules: the book's API reference shows it, and the
course's README points here. The most used names are importable from the package itself::

    import resnet_ref

    model = resnet_ref.create("resnet20")  # 269,722 parameters, option-A shortcuts
    resnet_ref.list_models()  # every name create() knows
"""

from .blocks import BasicBlock, BottleneckBlock, PreActBlock, PreActBottleneck
from .data import DATA_SOURCES, DataNotFoundError, ImageData, load_data
from .models import ResNet, UnknownModelError, create, list_models
from .shortcuts import ProjectionShortcut, ZeroPadShortcut, make_shortcut

__all__ = [
    "DATA_SOURCES",
    "DataNotFoundError",
    "ImageData",
    "load_data",
    "BasicBlock",
    "BottleneckBlock",
    "PreActBlock",
    "PreActBottleneck",
    "ProjectionShortcut",
    "ResNet",
    "UnknownModelError",
    "ZeroPadShortcut",
    "create",
    "list_models",
    "make_shortcut",
]
