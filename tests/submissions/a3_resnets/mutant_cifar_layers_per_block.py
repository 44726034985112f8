"""Mutant: n = (depth - 2) // 3, as if each block had one layer, not two.

Loses: cifar_parameters cifar_forward cifar_plain
Says: parameters
"""
# ruff: noqa: D101, D102, D103, B905

from torch import nn

from resnet_ref import BasicBlock


# %% cifar_resnet
def cifar_resnet(depth, plain=False):
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth must be 6n + 2, got {depth}")
    n = (depth - 2) // 3  # mistake: a basic block has two layers
    layers = [nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    channels = 16
    for width, stride in zip((16, 32, 64), (1, 2, 2)):
        for i in range(n):
            layers.append(BasicBlock(channels, width, stride if i == 0 else 1, skip=not plain))
            channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10)]
    return nn.Sequential(*layers)
