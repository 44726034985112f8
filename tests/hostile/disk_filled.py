"""Writes files until the disk is full, in every folder it can write to.

Threat: starve the batch (disk).
"""

import os

chunk = b"x" * (16 * 1024 * 1024)
for folder in (os.getcwd(), "/tmp", "/dev/shm", os.path.dirname(COURSE)):
    written = 0
    try:
        with open(f"{folder}/{MARK}.fill", "wb") as handle:
            for _ in range(4096):
                handle.write(chunk)
                written += len(chunk)
    except OSError as error:
        print(folder, written // 2**20, "MiB:", error)
