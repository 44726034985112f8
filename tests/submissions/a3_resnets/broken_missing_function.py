"""Broken: the factories cell defines only resnet18; the other factories are missing.

Loses: resnet_parameters
Says: NameError
"""
# ruff: noqa: D101, D102, D103


# %% resnet_factories
def resnet18(num_classes=1000):
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes)  # noqa: F821
