"""Mutant: the projection is a 1x1 convolution without its BatchNorm.

Loses: projection_params projection_forward projection_gradient
Says: BN missing on the projection
"""
# ruff: noqa: D101, D102, D103

from torch import nn


# %% projection_shortcut
class ProjectionShortcut(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x):
        return self.conv(x)  # mistake: no BatchNorm
