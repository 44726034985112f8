"""Mutant: the stride sits on the first 1x1 convolution (the paper's placement), not the 3x3.

Loses: bottleneck_forward bottleneck_gradient
Says: the stride is on the wrong convolution
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
        # mistake: this course (like torchvision) puts the stride on the 3x3 convolution
        self.conv1 = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
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
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))
