"""Mutant: the ResNeXt bottleneck's 3x3 convolution is not grouped (a plain 3x3).

Loses: grouped_params grouped_forward
Says: must be grouped: groups=
"""
# ruff: noqa: D101, D102, D103

import torch.nn.functional as F
from torch import nn


# %% grouped_bottleneck
class GroupedBottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels, out_channels, stride=1, groups=32, base_width=4):
        super().__init__()
        width = int(out_channels * base_width / 64) * groups
        final = 4 * out_channels
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        # mistake: groups=groups is missing, so every output channel sees every input channel
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, final, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(final)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != final:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, final, 1, stride=stride, bias=False), nn.BatchNorm2d(final)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))
