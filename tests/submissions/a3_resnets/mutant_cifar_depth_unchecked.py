"""Mutant: n = depth // 6 and no check: right for 6n + 2, but 21 builds a network.

Loses: cifar_depth_error
Says: expected a ValueError
"""
# ruff: noqa: D101, D102, D103, B905

from torch import nn

from resnet_ref import BasicBlock


# %% cifar_resnet
def cifar_resnet(depth, plain=False):
    n = depth // 6  # mistake: equals (depth - 2) // 6 only when depth is 6n + 2
    layers = [nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    channels = 16
    for width, stride in zip((16, 32, 64), (1, 2, 2)):
        for i in range(n):
            layers.append(BasicBlock(channels, width, stride if i == 0 else 1, skip=not plain))
            channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10)]
    return nn.Sequential(*layers)
