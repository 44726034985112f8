"""Mutant: the output-size formula forgets the +1 for the first window position.

Loses: output_size output_size_edges
Says: the +1 is missing
"""
# ruff: noqa: D103


# %% conv_output_size
def conv_output_size(n, kernel, stride=1, padding=0):
    return (n + 2 * padding - kernel) // stride
