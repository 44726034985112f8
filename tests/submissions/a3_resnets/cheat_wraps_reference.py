"""Cheat: the networks are resnet_ref's own, wrapped.

Loses: resnet_logits resnet_forward_basic resnet_forward_bottleneck resnet_parameters
    cifar_parameters cifar_forward cifar_plain
Says: uses resnet_ref.models.ResNet
"""
# ruff: noqa: D101, D102, D103

from torch import nn

import resnet_ref


# %% resnet
class ResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=1000):
        super().__init__()
        self.net = resnet_ref.models.imagenet_resnet(block, num_blocks, num_classes=num_classes)

    def forward(self, x):
        return self.net(x)


# %% cifar_resnet
def cifar_resnet(depth, plain=False):
    return resnet_ref.models.cifar_resnet(depth, skip=not plain, shortcut="B")
