"""Mutant: the zero channels are put before the input's channels instead of after them.

Loses: zero_pad_values
Says: the zero channels come first
"""
# ruff: noqa: D101, D102, D103

import torch.nn.functional as F
from torch import nn


# %% zero_pad_shortcut
class ZeroPadShortcut(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.extra = out_channels - in_channels
        self.stride = stride

    def forward(self, x):
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.extra, 0))  # mistake: pads the front
