"""Mutant: a ReLU after the last BatchNorm of the bottleneck, before the addition.

Loses: bottleneck_forward bottleneck_gradient
Says: ReLU applied to the residual branch before the addition
"""
# ruff: noqa: D101, D102, D103

import torch.nn.functional as F
from torch import nn


# %% bottleneck_block
class BottleneckBlock(nn.Module):
    expansion = 4

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        wide = 4 * out_channels
        self.conv1 = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv3 = nn.Conv2d(out_channels, wide, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(wide)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != wide:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, wide, 1, stride=stride, bias=False), nn.BatchNorm2d(wide)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = F.relu(self.bn3(self.conv3(out)))  # mistake: ReLU before the addition
        return F.relu(out + self.shortcut(x))
