"""Sends SIGKILL to every process it may signal, its parents and the grader included.

Threat: stop the batch (killing its kernel and others).
"""

import os
import signal

for pid in (os.getppid(), 1):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError as error:
        print(pid, error)
os.kill(-1, signal.SIGKILL)
