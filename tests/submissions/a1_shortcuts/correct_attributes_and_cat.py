"""Correct: named layers called one after the other, zeros made with new_zeros and torch.cat.

Loses: nothing
"""
# ruff: noqa: D101, D102, D103

import torch
from torch import nn


# %% conv_output_size
def conv_output_size(n, kernel, stride=1, padding=0):
    padded = n + padding + padding
    positions = 0
    start = 0
    while start + kernel <= padded:  # count the window positions one by one
        positions += 1
        start += stride
    return positions


# %% projection_shortcut
class ProjectionShortcut(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.layers = nn.ModuleList(
            [
                nn.Conv2d(
                    in_channels,
                    out_channels,
                    kernel_size=(1, 1),
                    stride=(stride, stride),
                    padding=0,
                    bias=False,
                ),
                nn.BatchNorm2d(out_channels),
            ]
        )

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


# %% zero_pad_shortcut
class ZeroPadShortcut(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x):
        x = x[:, :, 0 :: self.stride]
        x = x[:, :, :, 0 :: self.stride]
        zeros = x.new_zeros(x.shape[0], self.out_channels - self.in_channels, *x.shape[2:])
        return torch.cat((x, zeros), 1)


# %% make_shortcut
def make_shortcut(option, in_channels, out_channels, stride):
    if option == "C":
        return ProjectionShortcut(in_channels, out_channels, stride)
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    if option == "A":
        return ZeroPadShortcut(in_channels, out_channels, stride)
    return ProjectionShortcut(in_channels, out_channels, stride)


# %% block_output_shape
def block_output_shape(input_shape, out_channels, stride):
    n, c, h, w = input_shape
    return (n, out_channels, -(-h // stride), -(-w // stride))
