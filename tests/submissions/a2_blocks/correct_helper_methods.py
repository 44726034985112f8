"""Correct: a shared base class, helper functions and methods, and a count built from helpers.

Loses: nothing
"""
# ruff: noqa: D101, D102, D103

import torch.nn.functional as F
from torch import nn


# %% basic_block
def conv_bn(in_channels, out_channels, kernel, stride=1):
    """A convolution without bias and its BatchNorm, as one unit."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class Residual(nn.Module):
    """What both blocks share: the shortcut rule and relu(branch + shortcut)."""

    expansion = 1

    def make_shortcut(self, in_channels, stride):
        final = self.out_channels * self.expansion
        if stride == 1 and in_channels == final:
            return None
        return conv_bn(in_channels, final, 1, stride)

    def shortcut_path(self, x):
        return x if self.shortcut is None else self.shortcut(x)

    def branch(self, x):
        raise NotImplementedError

    def forward(self, x):
        return F.relu(self.branch(x) + self.shortcut_path(x))

    def extra_repr(self):
        return f"out_channels={self.out_channels}"


class BasicBlock(Residual):
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.out_channels = out_channels
        self.unit1 = conv_bn(in_channels, out_channels, 3, stride)
        self.unit2 = conv_bn(out_channels, out_channels, 3)
        self.shortcut = self.make_shortcut(in_channels, stride)

    def branch(self, x):
        return self.unit2(F.relu(self.unit1(x)))


# %% bottleneck_block
class BottleneckBlock(Residual):
    expansion = 4

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.out_channels = out_channels
        self.reduce = conv_bn(in_channels, out_channels, 1)
        self.spatial = conv_bn(out_channels, out_channels, 3, stride)
        self.restore = conv_bn(out_channels, out_channels * self.expansion, 1)
        self.shortcut = self.make_shortcut(in_channels, stride)

    def branch(self, x):
        return self.restore(F.relu(self.spatial(F.relu(self.reduce(x)))))


# %% count_block_parameters
def conv_bn_parameters(in_channels, out_channels, kernel):
    return kernel * kernel * in_channels * out_channels + 2 * out_channels


def count_block_parameters(kind, in_channels, out_channels, stride=1):
    layers = {
        "basic": [(in_channels, out_channels, 3), (out_channels, out_channels, 3)],
        "bottleneck": [
            (in_channels, out_channels, 1),
            (out_channels, out_channels, 3),
            (out_channels, 4 * out_channels, 1),
        ],
    }[kind]
    final = layers[-1][1]
    if stride != 1 or in_channels != final:
        layers.append((in_channels, final, 1))
    return sum(conv_bn_parameters(*layer) for layer in layers)
