"""Mutant: option B projects in every block, like option C.

Loses: option_b
Says: a projection where the identity suffices
"""
# ruff: noqa: D103

from torch import nn


# %% make_shortcut
def make_shortcut(option, in_channels, out_channels, stride):
    if option in ("B", "C"):  # mistake: B needs a projection only where the shape changes
        return ProjectionShortcut(in_channels, out_channels, stride)  # noqa: F821
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return ZeroPadShortcut(in_channels, out_channels, stride)  # noqa: F821
