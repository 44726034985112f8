"""Shortcut connections: the path that carries a block's input to the addition.

He et al. (2015) compare three ways to build the shortcut of a residual block:

- option ``"A"``: identity where the shapes match; where they do not, subsample by the
  stride and append zero channels, so the shortcut has no parameters at all;
- option ``"B"``: identity where the shapes match; a projection (1x1 convolution with the
  block's stride, then BatchNorm) where they do not;
- option ``"C"``: a projection in every block, even where the identity would fit.

A network chooses one option for all its blocks; :func:`make_shortcut` turns that choice
into a module for one block.
"""

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

SHORTCUT_OPTIONS = ("A", "B", "C")


class ZeroPadShortcut(nn.Module):
    """Option A's shortcut: keep every ``stride``-th pixel and append zero channels.

    It has no parameters, which is why the CIFAR ResNets of the paper use it: the
    residual network then has exactly as many weights as its plain counterpart.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(
                f"a zero-padding shortcut can only add channels, not go from {in_channels} "
                f"to {out_channels}; use a projection shortcut (option 'B') instead"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Subsample ``x`` by the stride and pad it with zero channels at the end."""
        x = x[:, :, :: self.stride, :: self.stride]
        # F.pad pads the last dimensions first: (W left, W right, H top, H bottom, C front, C back).
        return F.pad(x, (0, 0, 0, 0, 0, self.out_channels - self.in_channels))

    def extra_repr(self) -> str:
        """Show the channel counts and stride when the module is printed."""
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


class ProjectionShortcut(nn.Sequential):
    """Options B and C: a 1x1 convolution with the block's stride, then BatchNorm.

    The convolution has no bias because the BatchNorm that follows would cancel it.
    Pre-activation networks normalise before each convolution instead, so they build
    this shortcut with ``batch_norm=False``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, batch_norm: bool = True):
        layers = OrderedDict(
            conv=nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)
        )
        if batch_norm:
            layers["bn"] = nn.BatchNorm2d(out_channels)
        super().__init__(layers)


def make_shortcut(
    option: str, in_channels: int, out_channels: int, stride: int, batch_norm: bool = True
) -> nn.Module:
    """Build the shortcut of one block for shortcut option ``"A"``, ``"B"`` or ``"C"``."""
    if option not in SHORTCUT_OPTIONS:
        raise ValueError(
            f"unknown shortcut option {option!r}; choose one of {', '.join(SHORTCUT_OPTIONS)}"
        )
    shapes_match = stride == 1 and in_channels == out_channels
    if option == "C" or (option == "B" and not shapes_match):
        return ProjectionShortcut(in_channels, out_channels, stride, batch_norm)
    if shapes_match:
        return nn.Identity()
    return ZeroPadShortcut(in_channels, out_channels, stride)


def is_identity(shortcut: nn.Module) -> bool:
    """Tell whether a shortcut passes its input through unchanged."""
    return isinstance(shortcut, nn.Identity)
