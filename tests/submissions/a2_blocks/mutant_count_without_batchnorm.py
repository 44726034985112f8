"""Mutant: the parameter count leaves out the BatchNorm scales and shifts.

Loses: count_parameters
Says: the BatchNorm scales and shifts
"""
# ruff: noqa: D103


# %% count_block_parameters
def count_block_parameters(kind, in_channels, out_channels, stride=1):
    final = out_channels if kind == "basic" else 4 * out_channels
    if kind == "basic":
        total = 9 * in_channels * out_channels + 9 * out_channels * out_channels
    else:
        total = in_channels * out_channels + 9 * out_channels**2 + out_channels * final
    if stride != 1 or in_channels != final:
        total += in_channels * final  # mistake: no BatchNorm terms anywhere
    return total
