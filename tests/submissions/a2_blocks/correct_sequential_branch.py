"""Correct: each residual branch is one nn.Sequential, as in the course's source documents.

The identity shortcut is an empty nn.Sequential, which returns its input unchanged.

Loses: nothing
"""
# ruff: noqa: D101, D102, D103

from torch import nn


# %% basic_block
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        self.activation = nn.ReLU()

    def forward(self, x):
        return self.activation(self.residual(x) + self.shortcut(x))


# %% bottleneck_block
class BottleneckBlock(nn.Module):
    expansion = 4

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        wide = out_channels * self.expansion
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, wide, 1, bias=False),
            nn.BatchNorm2d(wide),
        )
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != wide:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, wide, 1, stride=stride, bias=False),
                nn.BatchNorm2d(wide),
            )
        self.activation = nn.ReLU()

    def forward(self, x):
        return self.activation(self.residual(x) + self.shortcut(x))
