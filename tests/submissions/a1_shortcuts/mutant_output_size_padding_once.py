"""Mutant: the output-size formula adds the padding on one side only.

Loses: output_size output_size_edges
Says: the padding is counted once
"""
# ruff: noqa: D103


# %% conv_output_size
def conv_output_size(n, kernel, stride=1, padding=0):
    return (n + padding - kernel) // stride + 1
