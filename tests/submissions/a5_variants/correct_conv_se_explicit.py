"""Correct: explicit layers, torchvision-style names, an SE unit of 1x1 convolutions.

The pre-activation block has a `downsample` projection and functional ReLUs; the wide block is
a subclass that inserts dropout; the grouped bottleneck uses separate attributes; the SE unit
squeezes with adaptive average pooling and excites with 1x1 convolutions, as torchvision does.

Loses: nothing
"""
# ruff: noqa: D101, D102, D103

import torch
import torch.nn.functional as F
from torch import nn


# %% preact_block
class PreActBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.norm_in = nn.BatchNorm2d(in_channels)
        self.first = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.norm_mid = nn.BatchNorm2d(out_channels)
        self.second = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.downsample = None
        if stride > 1 or in_channels != out_channels:
            self.downsample = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)

    def middle(self, h):
        return F.relu(self.norm_mid(h))

    def forward(self, x):
        h = F.relu(self.norm_in(x))
        identity = x if self.downsample is None else self.downsample(h)
        h = self.second(self.middle(self.first(h)))
        return h + identity


# %% wide_block
class WideBlock(PreActBlock):
    def __init__(self, in_channels, out_channels, stride=1, dropout=0.0):
        super().__init__(in_channels, out_channels, stride)
        self.drop = nn.Dropout(p=dropout)

    def middle(self, h):
        return self.drop(super().middle(h))


def wide_block(in_channels, base_channels, k, stride=1, dropout=0.0):
    return WideBlock(in_channels, k * base_channels, stride, dropout)


# %% grouped_bottleneck
class GroupedBottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels, out_channels, stride=1, groups=32, base_width=4):
        super().__init__()
        width = int(out_channels * (base_width / 64.0)) * groups
        self.reduce = nn.Conv2d(in_channels, width, 1, bias=False)
        self.reduce_bn = nn.BatchNorm2d(width)
        self.grouped = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.grouped_bn = nn.BatchNorm2d(width)
        self.restore = nn.Conv2d(width, out_channels * 4, 1, bias=False)
        self.restore_bn = nn.BatchNorm2d(out_channels * 4)
        self.downsample = None
        if stride != 1 or in_channels != out_channels * 4:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels * 4, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels * 4),
            )

    def forward(self, x):
        out = torch.relu(self.reduce_bn(self.reduce(x)))
        out = torch.relu(self.grouped_bn(self.grouped(out)))
        out = self.restore_bn(self.restore(out))
        identity = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + identity)


# %% squeeze_excitation
class SqueezeExcitation(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, kernel_size=1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, kernel_size=1)

    def forward(self, x):
        weights = torch.sigmoid(self.fc2(F.relu(self.fc1(self.pool(x)))))
        return weights * x
