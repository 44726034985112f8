"""Mutant: the squeeze takes each channel's maximum instead of its average.

Loses: se_forward
Says: maximum
"""
# ruff: noqa: D101, D102, D103

import torch
import torch.nn.functional as F
from torch import nn


# %% squeeze_excitation
class SqueezeExcitation(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.pool = nn.AdaptiveMaxPool2d(1)  # mistake: the squeeze is the global average
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(self.pool(x)))))
