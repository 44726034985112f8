"""Leaves a detached process behind that keeps trying to reach the grading machine.

Threat: touch the machine after its own notebook is done.
"""

import os
import socket
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=1).sendall(b"still here")
            except OSError:
                pass
            time.sleep(0.5)
    os._exit(0)
