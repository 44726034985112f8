"""Correct: stem as separate attributes, torchvision-style layer1..layer4 built by a helper,
functional ReLU and pooling, and the CIFAR network as a class with a ModuleList of blocks.

Loses: nothing
"""
# ruff: noqa: D101, D102, D103

import torch
import torch.nn.functional as F
from torch import nn

from resnet_ref import BasicBlock, BottleneckBlock


# %% resnet
class ResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.inplanes = 64
        self.layer1 = self._make_layer(block, 64, num_blocks[0], 1)
        self.layer2 = self._make_layer(block, 128, num_blocks[1], 2)
        self.layer3 = self._make_layer(block, 256, num_blocks[2], 2)
        self.layer4 = self._make_layer(block, 512, num_blocks[3], 2)
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, count, stride):
        layers = []
        for s in [stride] + [1] * (count - 1):
            layers.append(block(self.inplanes, planes, s))
            self.inplanes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
        return self.fc(x.mean(dim=(2, 3)))


# %% resnet_factories
def resnet18(num_classes=1000):
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes)


def resnet34(num_classes=1000):
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes=num_classes)


def resnet50(num_classes=1000):
    return ResNet(BottleneckBlock, [3, 4, 6, 3], num_classes=num_classes)


def resnet101(num_classes=1000):
    return ResNet(BottleneckBlock, [3, 4, 23, 3], num_classes=num_classes)


def resnet152(num_classes=1000):
    return ResNet(BottleneckBlock, [3, 8, 36, 3], num_classes=num_classes)


# %% cifar_resnet
class CifarResNet(nn.Module):
    def __init__(self, n, plain):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.blocks = nn.ModuleList()
        channels = 16
        for width, stride in [(16, 1), (32, 2), (64, 2)]:
            for i in range(n):
                self.blocks.append(
                    BasicBlock(channels, width, stride if i == 0 else 1, skip=not plain)
                )
                channels = width
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        for block in self.blocks:
            x = block(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def cifar_resnet(depth, plain=False):
    n, rest = divmod(depth - 2, 6)
    if rest or n < 1:
        raise ValueError(f"depth must be 6n + 2 with n >= 1, got {depth}")
    return CifarResNet(n, plain)
