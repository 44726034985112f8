"""Correct: the reference's structure under different attribute names.

Loses: nothing
"""
# ruff: noqa: D101, D102, D103

import torch.nn.functional as F
from torch import nn


# %% basic_block
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.first = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.first_norm = nn.BatchNorm2d(out_channels)
        self.second = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.second_norm = nn.BatchNorm2d(out_channels)
        self.needs_projection = stride != 1 or in_channels != out_channels
        if self.needs_projection:
            self.proj = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
            self.proj_norm = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        y = F.relu(self.first_norm(self.first(x)))
        y = self.second_norm(self.second(y))
        skip = self.proj_norm(self.proj(x)) if self.needs_projection else x
        return F.relu(y + skip)


# %% bottleneck_block
class BottleneckBlock(nn.Module):
    expansion = 4

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        outer = 4 * out_channels
        self.squeeze = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.squeeze_norm = nn.BatchNorm2d(out_channels)
        self.spatial = nn.Conv2d(out_channels, out_channels, 3, stride, 1, bias=False)
        self.spatial_norm = nn.BatchNorm2d(out_channels)
        self.expand = nn.Conv2d(out_channels, outer, 1, bias=False)
        self.expand_norm = nn.BatchNorm2d(outer)
        self.skip = (
            nn.Identity()
            if stride == 1 and in_channels == outer
            else nn.Sequential(
                nn.Conv2d(in_channels, outer, 1, stride, bias=False), nn.BatchNorm2d(outer)
            )
        )

    def forward(self, x):
        y = F.relu(self.squeeze_norm(self.squeeze(x)))
        y = F.relu(self.spatial_norm(self.spatial(y)))
        y = self.expand_norm(self.expand(y))
        return F.relu(y + self.skip(x))


# %% count_block_parameters
def count_block_parameters(kind, in_channels, out_channels, stride=1):
    if kind == "basic":
        out = out_channels
        n = 9 * in_channels * out + 9 * out * out + 4 * out
    else:
        out = 4 * out_channels
        w = out_channels
        n = in_channels * w + 9 * w * w + w * out + 4 * w + 2 * out
    if stride != 1 or in_channels != out:
        n += in_channels * out + 2 * out
    return n
