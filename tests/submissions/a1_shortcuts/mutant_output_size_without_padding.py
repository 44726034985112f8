"""Mutant: the output-size formula leaves out the padding.

Loses: output_size output_size_edges
Says: the padding is ignored
"""
# ruff: noqa: D103


# %% conv_output_size
def conv_output_size(n, kernel, stride=1, padding=0):
    return (n - kernel) // stride + 1
