"""Mutant: the bottleneck width is out_channels * groups, ignoring base_width.

Loses: grouped_params grouped_forward
Says: int(out_channels * base_width / 64) * groups
"""
# ruff: noqa: D101, D102, D103

import torch.nn.functional as F
from torch import nn


# %% grouped_bottleneck
class GroupedBottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels, out_channels, stride=1, groups=32, base_width=4):
        super().__init__()
        width = out_channels * groups  # mistake: int(out_channels * base_width / 64) * groups
        final = 4 * out_channels
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=groups, bias=False)
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
