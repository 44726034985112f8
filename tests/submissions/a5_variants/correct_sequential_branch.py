"""Correct: the branches are nn.Sequential, nn.ReLU modules, a Linear-based SE unit.

The pre-activation (BN, ReLU) is its own nn.Sequential so that the projection can read it; the
wide block passes the dropout into the branch; the grouped bottleneck computes its shortcut
first.

Loses: nothing
"""
# ruff: noqa: D101, D102, D103

from torch import nn


# %% preact_block
class PreActBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1, dropout=0.0):
        super().__init__()
        self.preact = nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU())
        self.branch = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        )
        self.use_projection = stride != 1 or in_channels != out_channels
        if self.use_projection:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x):
        pre = self.preact(x)
        skip = self.shortcut(pre) if self.use_projection else x
        return self.branch(pre) + skip


# %% wide_block
def wide_block(in_channels, base_channels, k, stride=1, dropout=0.0):
    return PreActBlock(in_channels, base_channels * k, stride=stride, dropout=dropout)


# %% grouped_bottleneck
class GroupedBottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels, out_channels, stride=1, groups=32, base_width=4):
        super().__init__()
        width = groups * int(out_channels * base_width / 64)
        final = self.expansion * out_channels
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != final:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, final, 1, stride=stride, bias=False),
                nn.BatchNorm2d(final),
            )
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, width, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, final, 1, bias=False),
            nn.BatchNorm2d(final),
        )
        self.relu = nn.ReLU()

    def forward(self, x):
        identity = self.shortcut(x)
        return self.relu(self.residual(x) + identity)


# %% squeeze_excitation
class SqueezeExcitation(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels, channels // reduction),
            nn.ReLU(),
            nn.Linear(channels // reduction, channels),
            nn.Sigmoid(),
        )

    def forward(self, x):
        n, c = x.shape[:2]
        return x * self.gate(x).view(n, c, 1, 1)
