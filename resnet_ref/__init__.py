"""resnet_ref: the course's reference implementation of residual networks.

Everything the chapters demonstrate and the autograder compares against lives here:

- :mod:`resnet_ref.shortcuts`: identity, projection and zero-padding shortcuts;
- :mod:`resnet_ref.blocks`: basic, bottleneck and pre-activation residual blocks;
- :mod:`resnet_ref.models`: whole networks and the registry (:func:`create`, :func:`list_models`);
- :mod:`resnet_ref.torchvision_compat`: exchanging weights with torchvision's models;
- :mod:`resnet_ref.data`, :mod:`resnet_ref.training`, :mod:`resnet_ref.analysis`: data sets,
  the training loop and the measurements the chapters plot;
- :mod:`resnet_ref.distributed`: what the training loop needs to run on several processes.
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
