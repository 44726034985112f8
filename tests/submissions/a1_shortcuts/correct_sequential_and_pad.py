"""Correct: the projection as an nn.Sequential subclass, zero padding with F.pad, math.floor.

Loses: nothing
"""
# ruff: noqa: D101, D102, D103

import torch.nn.functional as F
from torch import nn


# %% conv_output_size
def conv_output_size(n, kernel, stride=1, padding=0):
    import math

    return math.floor((n + 2 * padding - kernel) / stride) + 1


# %% projection_shortcut
class ProjectionShortcut(nn.Sequential):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
            nn.BatchNorm2d(out_channels),
        )


# %% zero_pad_shortcut
class ZeroPadShortcut(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.pad = (0, 0, 0, 0, 0, out_channels - in_channels)
        self.step = stride

    def forward(self, x):
        return F.pad(x[..., :: self.step, :: self.step], self.pad)


# %% make_shortcut
def make_shortcut(option, in_channels, out_channels, stride):
    same = stride == 1 and in_channels == out_channels
    builders = {
        "A": lambda: nn.Identity() if same else ZeroPadShortcut(in_channels, out_channels, stride),
        "B": lambda: (
            nn.Identity() if same else ProjectionShortcut(in_channels, out_channels, stride)
        ),
        "C": lambda: ProjectionShortcut(in_channels, out_channels, stride),
    }
    return builders[option]()


# %% block_output_shape
def block_output_shape(input_shape, out_channels, stride):
    n, _, h, w = input_shape
    h, w = (conv_output_size(size, 3, stride, 1) for size in (h, w))
    h, w = (conv_output_size(size, 3, 1, 1) for size in (h, w))
    return n, out_channels, h, w
