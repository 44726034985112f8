"""Mutant: one path per possible length (n + 1) instead of one per subset of blocks.

Loses: test_count_paths
Says: power of 2
"""

# ruff: noqa: D103
import math


# %% count_paths
def count_paths(n):
    return n + 1


def paths_of_length(n, k):
    return math.comb(n, k) if 0 <= k <= n else 0
