"""Mutant: the parameter count forgets the projection shortcut.

Loses: count_parameters
Says: no projection where the shapes change
"""
# ruff: noqa: D103


# %% count_block_parameters
def count_block_parameters(kind, in_channels, out_channels, stride=1):
    if kind == "basic":
        return 9 * in_channels * out_channels + 9 * out_channels**2 + 4 * out_channels
    wide = 4 * out_channels
    convs = in_channels * out_channels + 9 * out_channels**2 + out_channels * wide
    return convs + 4 * out_channels + 2 * wide  # mistake: the shortcut is not counted
