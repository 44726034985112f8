"""Connects to a server on the grading machine's loopback, and to the outside world.

Threat: the network.
"""

import socket

for host, port in [("127.0.0.1", PORT), ("localhost", PORT), ("1.1.1.1", 80)]:
    try:
        socket.create_connection((host, port), timeout=2).sendall(b"hello from a submission")
    except OSError as error:
        print(host, error)
