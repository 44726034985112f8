"""Mutant: the projection's 1x1 convolution ignores the stride.

Loses: projection_shape projection_forward projection_gradient
Says: the projection ignores the block's stride
"""
# ruff: noqa: D101, D102, D103

from torch import nn


# %% projection_shortcut
class ProjectionShortcut(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)  # mistake: no stride
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return self.bn(self.conv(x))
