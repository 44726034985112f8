"""Mutant: shortcut first (allowed), and the stride on the second 3x3 convolution (not).

The message must blame the stride, not the order in which the layers run.

Loses: basic_forward_projection basic_gradient
Says: the stride is on the wrong convolution
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
        self.conv_a = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn_a = nn.BatchNorm2d(out_channels)
        # mistake: the stride belongs on conv_a
        self.conv_b = nn.Conv2d(out_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn_b = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        skip = self.shortcut(x)
        h = torch.relu(self.bn_a(self.conv_a(x)))
        return torch.relu(skip + self.bn_b(self.conv_b(h)))
