"""Mutant: block_output_shape changes the channels but forgets that the stride shrinks H and W.

Loses: block_shape
Says: the stride is ignored
"""
# ruff: noqa: D103


# %% block_output_shape
def block_output_shape(input_shape, out_channels, stride):
    n, _, h, w = input_shape
    return (n, out_channels, h, w)
