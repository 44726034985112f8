"""Mutant: the zero-padding shortcut appends channels but forgets to subsample by the stride.

Loses: zero_pad_shape zero_pad_values
Says: ignores the stride
"""
# ruff: noqa: D101, D102, D103

import torch
from torch import nn


# %% zero_pad_shortcut
class ZeroPadShortcut(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.extra = out_channels - in_channels

    def forward(self, x):  # mistake: x keeps every pixel
        n, _, h, w = x.shape
        return torch.cat([x, x.new_zeros(n, self.extra, h, w)], dim=1)
