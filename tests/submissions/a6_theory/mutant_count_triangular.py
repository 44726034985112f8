"""Mutant: counts the n(n+1)/2 contiguous runs of blocks instead of all subsets.

Loses: test_count_paths
Says: power of 2
"""

# ruff: noqa: D103
import math


# %% count_paths
def count_paths(n):
    return n * (n + 1) // 2


def paths_of_length(n, k):
    return math.comb(n, k) if 0 <= k <= n else 0
