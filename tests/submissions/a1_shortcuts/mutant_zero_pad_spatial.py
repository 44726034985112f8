"""Mutant: the zero padding is added to the height instead of the channels.

Loses: zero_pad_shape zero_pad_values
Says: expected output shape
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
        return F.pad(x, (0, 0, 0, self.extra))  # mistake: F.pad starts with the last dimensions
