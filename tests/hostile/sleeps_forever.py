"""Sleeps for days in a solution cell.

Threat: stop the batch (sleeping).
"""

import time

time.sleep(10**6)
