"""The local servers the tests start: a free port for each, Jupyter servers and PostgreSQL.

Every server a test needs is real and listens on 127.0.0.1 only, on a port the system picks,
and is stopped when the test is done.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
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


@contextlib.contextmanager
def postgres_gradebook() -> Iterator[str]:
    """A PostgreSQL server from Debian's package on a free local port, with an empty
    ``gradebook`` database; yields its URL, and stops the server and deletes its data after."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed (python3 course.py test installs it with apt-get)"
        )
    binaries = Path(found[-1]).parent
    # PostgreSQL refuses to run as root: as root, the server runs as Debian's postgres user.
    as_server = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = Path(tempfile.mkdtemp(prefix="gradebook-server-"))
    if as_server:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()

    def server_command(program: str, *args: str) -> None:
        command = [*as_server, str(binaries / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed:\n{done.stdout}{done.stderr}")

    cluster = str(data / "db")
    server_command("initdb", "-D", cluster, "-U", "postgres", "-A", "trust")
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    server_command("pg_ctl", "-D", cluster, "-o", options, "-l", str(data / "log"), "-w", "start")
    try:
        where = ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
        server_command("createdb", *where, "gradebook")
        yield f"postgresql://postgres@127.0.0.1:{port}/gradebook"
    finally:
        server_command("pg_ctl", "-D", cluster, "-m", "fast", "stop")
        shutil.rmtree(data, ignore_errors=True)
