"""Correct: shifts and a multiplicative binomial, with integer division kept exact.

Loses: nothing
"""
# ruff: noqa: D103


# %% count_paths
def count_paths(n):
    return 1 << n


def paths_of_length(n, k):
    if not 0 <= k <= n:
        return 0
    result = 1
    for i in range(1, min(k, n - k) + 1):
        result = result * (n - min(k, n - k) + i) // i
    return result
