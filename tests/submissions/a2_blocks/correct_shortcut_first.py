"""Correct: the shortcut is computed before the residual branch.

Loses: nothing
"""
# ruff: noqa: D101, D102, D103

import torch
from torch import nn


# %% basic_block
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        if stride == 1 and in_channels == out_channels:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        self.conv_a = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn_a = nn.BatchNorm2d(out_channels)
        self.conv_b = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn_b = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        skip = self.shortcut(x)
        h = torch.relu(self.bn_a(self.conv_a(x)))
        return torch.relu(skip + self.bn_b(self.conv_b(h)))


# %% bottleneck_block
class BottleneckBlock(nn.Module):
    expansion = 4

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        wide = 4 * out_channels
        if stride == 1 and in_channels == wide:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, wide, 1, stride=stride, bias=False), nn.BatchNorm2d(wide)
            )
        self.layers = nn.ModuleList(
            [
                nn.Conv2d(in_channels, out_channels, 1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.Conv2d(out_channels, out_channels, 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.Conv2d(out_channels, wide, 1, bias=False),
                nn.BatchNorm2d(wide),
            ]
        )

    def forward(self, x):
        skip = self.shortcut(x)
        h = x
        for index in range(0, 6, 2):
            h = self.layers[index + 1](self.layers[index](h))
            if index < 4:
                h = torch.relu(h)
        return torch.relu(h + skip)
