"""Mutant: the squeeze-and-excitation unit scales by the raw excitation, without a sigmoid.

Loses: se_forward
Says: no sigmoid
"""
# ruff: noqa: D101, D102, D103

import torch.nn.functional as F
from torch import nn


# %% squeeze_excitation
class SqueezeExcitation(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def forward(self, x):
        s = self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3)))))  # mistake: no sigmoid
        return x * s.unsqueeze(-1).unsqueeze(-1)
