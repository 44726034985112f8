"""Mutant: the projection's convolution has a bias, which the BatchNorm after it makes redundant.

Loses: projection_params
Says: use bias=False
"""
# ruff: noqa: D101, D102, D103

from torch import nn


# %% projection_shortcut
class ProjectionShortcut(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, stride=stride)  # mistake: a bias
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return self.bn(self.conv(x))
