"""The local servers the tests start: a free port for each, and Jupyter servers.

Every server a test needs is real and listens on 127.0.0.1 only, on a port the system picks,
and is stopped when the test is done.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

JUPYTER = Path(sys.executable).parent / "jupyter"


def free_port() -> int:
    """A TCP port nobody listens on, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def jupyter_server(app: str, root: Path, *options: str, ready: str = "/api") -> Iterator[str]:
    """``jupyter <app>`` ("server" or "lab") serving ``root`` with no token, as root may; yields
    its address once ``ready`` (a path) answers, and stops it afterwards."""
    port = free_port()
    server = subprocess.Popen(
        [JUPYTER, app, "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1"]
        + [f"--ServerApp.root_dir={root}", "--IdentityProvider.token=", "--ServerApp.password="]
        + list(options),
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    site = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(site + ready, timeout=10)
                break
            except OSError:
                assert server.poll() is None, f"jupyter {app} stopped"
                assert time.monotonic() < deadline, f"jupyter {app} did not answer in 120 s"
                time.sleep(1)
        yield site
    finally:
        server.terminate()
        server.wait(timeout=30)
