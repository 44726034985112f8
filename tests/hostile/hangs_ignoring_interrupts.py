"""Ignores SIGINT, then loops forever, so that interrupting the cell does nothing.

Threat: stop the batch (a hang the interrupt cannot end).
"""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
