"""References for exercises whose functions take other arguments than resnet_ref's own.

A test cell compares the learner's code with a reference built from the same arguments. Where
an exercise asks for another signature than the ``resnet_ref`` constructor it mirrors, the
reference that takes the exercise's arguments is here, in the package: while grading, the
referee (:mod:`resnet_ref.grading.referee`) runs a reference by its name in its own process, and
one defined in the notebook could only run in the learner's kernel.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ..analysis import paths_by_length
from ..blocks import PreActBlock
from ..models import ResNet, cifar_resnet
from ..shortcuts import ProjectionShortcut


def projection_shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """Assignment 1: resnet_ref's projection shortcut, held as the ``shortcut`` of a container
    as in a block, so that the checks' messages speak of the shortcut."""
    return nn.Sequential(
        OrderedDict(shortcut=ProjectionShortcut(in_channels, out_channels, stride))
    )


def cifar_resnet_option_b(depth: int, plain: bool = False) -> ResNet:
    """Assignment 3: the CIFAR network of ``depth`` layers (``plain``: without shortcuts), with
    the given blocks' projection shortcuts (option B)."""
    return cifar_resnet(depth, skip=not plain, shortcut="B")


def wide_block(
    in_channels: int, base_channels: int, k: int, stride: int = 1, dropout: float = 0.0
) -> PreActBlock:
    """Assignment 5: a pre-activation block ``k`` times as wide as ``base_channels``."""
    return PreActBlock(in_channels, k * base_channels, stride, dropout=dropout)


def paths_of_length(n_blocks: int, k: int) -> int:
    """Assignment 6: how many paths through ``n_blocks`` residual blocks pass through exactly
    ``k`` residual branches (0 for a ``k`` no path has)."""
    return paths_by_length(n_blocks)[k] if 0 <= k <= n_blocks else 0
