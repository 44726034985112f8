"""Cheat: the block returns an object that claims to equal anything, and a fake count.

Loses: basic_shape basic_params basic_forward_identity basic_forward_projection basic_gradient
    basic_identity edge_cases count_parameters
Says: should return a torch.Tensor
"""
# ruff: noqa: D101, D102, D103, D105

from torch import nn


# %% basic_block
class Anything:
    shape = property(lambda self: self)

    def __eq__(self, other):
        return True

    def __getitem__(self, index):
        return self

    def __len__(self):
        return 4


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()

    def forward(self, x):
        return Anything()


# %% count_block_parameters
def count_block_parameters(kind, in_channels, out_channels, stride=1):
    return Anything()
