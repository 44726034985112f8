"""Mutant: every block of a stage gets the stage's stride, not only the first.

Loses: resnet_forward_basic resnet_forward_bottleneck resnet_parameters
Says: only the first block of a stage has the stride
"""
# ruff: noqa: D101, D102, D103, B905

import torch
import torch.nn.functional as F
from torch import nn


# %% resnet
class ResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=1000):
        super().__init__()
        layers = [
            nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
        ]
        layers.append(nn.MaxPool2d(3, stride=2, padding=1))
        self.stem = nn.Sequential(*layers)
        channels = 64
        stages = []
        for width, count, stride in zip((64, 128, 256, 512), num_blocks, (1, 2, 2, 2)):
            blocks = []
            for _ in range(count):
                # mistake: the stride is not reset to 1 after the stage's first block
                blocks.append(block(channels, width, stride))
                channels = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = self.stages(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
