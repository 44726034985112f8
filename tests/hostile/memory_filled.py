"""Allocates memory until none is left, and keeps it.

Threat: starve the batch (memory).
"""

hoard = []
try:
    while True:
        hoard.append(b"x" * (256 * 1024 * 1024))
except MemoryError:
    print("memory:", len(hoard) * 256, "MiB")
