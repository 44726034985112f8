"""Mutant: true division instead of the floor, so the size comes out as a float.

Loses: output_size output_size_edges
Says: should return an int
"""
# ruff: noqa: D103


# %% conv_output_size
def conv_output_size(n, kernel, stride=1, padding=0):
    return (n + 2 * padding - kernel) / stride + 1
