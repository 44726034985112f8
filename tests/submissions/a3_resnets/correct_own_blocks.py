"""Correct: the learner's own blocks from assignment 2 (with a plain option), a ModuleList of
stages that are ModuleLists of blocks, and the CIFAR network as one nn.Sequential.

Loses: nothing
"""
# ruff: noqa: D101, D102, D103

import torch
import torch.nn.functional as F
from torch import nn


# %% resnet
class MyBasic(nn.Module):
    expansion = 1

    def __init__(self, c_in, width, stride=1, plain=False):
        super().__init__()
        self.branch = nn.Sequential(
            nn.Conv2d(c_in, width, 3, stride, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
        )
        self.plain = plain
        self.shortcut = nn.Identity()
        if not plain and (stride != 1 or c_in != width):
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, width, 1, stride, bias=False), nn.BatchNorm2d(width)
            )

    def forward(self, x):
        y = self.branch(x)
        return F.relu(y if self.plain else y + self.shortcut(x))


class MyBottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in, width, stride=1):
        super().__init__()
        out = 4 * width
        self.branch = nn.Sequential(
            nn.Conv2d(c_in, width, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, stride, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, out, 1, bias=False),
            nn.BatchNorm2d(out),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, out, 1, stride, bias=False), nn.BatchNorm2d(out)
            )

    def forward(self, x):
        return F.relu(self.branch(x) + self.shortcut(x))


def own(block):
    """The learner's block with the same expansion as the block asked for."""
    return MyBasic if block.expansion == 1 else MyBottleneck


class ResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=1000):
        super().__init__()
        block = own(block)
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, padding=1),
        )
        self.stages = nn.ModuleList()
        c = 64
        for i, count in enumerate(num_blocks):
            stage = nn.ModuleList()
            for j in range(count):
                stage.append(block(c, 64 * 2**i, 2 if i > 0 and j == 0 else 1))
                c = 64 * 2**i * block.expansion
            self.stages.append(stage)
        self.head = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.stem(x)
        for stage in self.stages:
            for block in stage:
                x = block(x)
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, (1, 1)), 1))


# %% cifar_resnet
def cifar_resnet(depth, plain=False):
    if not isinstance(depth, int) or depth < 8 or depth % 6 != 2:
        raise ValueError("depth must be one of 8, 14, 20, 26, ...")
    n = (depth - 2) // 6
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True)]
    c = 16
    for width in (16, 32, 64):
        for j in range(n):
            layers.append(MyBasic(c, width, 2 if width > 16 and j == 0 else 1, plain=plain))
            c = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))
