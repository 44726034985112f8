"""Correct: counts by recursion over the blocks (Pascal's rule), no math.comb.

Loses: nothing
"""
# ruff: noqa: D103

# %% count_paths
from functools import cache


def count_paths(n):
    return 1 if n == 0 else 2 * count_paths(n - 1)


@cache
def paths_of_length(n, k):
    if k < 0 or k > n:
        return 0
    if n == 0:
        return 1
    # the last block: through its branch (k - 1 left) or along its shortcut (k left)
    return paths_of_length(n - 1, k - 1) + paths_of_length(n - 1, k)
