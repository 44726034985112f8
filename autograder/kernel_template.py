"""Warm kernels: a template process that has imported torch forks a fresh kernel per notebook.

A cold kernel pays, for every notebook, for starting Python and importing ipykernel, torch and
``resnet_ref``: seconds each time, most of a short notebook's grading. The template pays that
once per grading process. It starts in the sandbox (:class:`autograder.sandbox.KernelTemplate`
starts it), imports what the course's notebooks import, and then only forks. It never runs
anything of a learner's. Each notebook gets a new child of the template that no other notebook
has touched, and before the child runs any of the learner's code it

- takes namespaces of its own (mounts, processes, network, IPC, host name): a fresh ``/tmp``,
  ``/scratch`` and ``/dev/shm``, its own ``/proc``, and when the kernel ends, every process it
  started ends with it, since the kernel is the first process of its process namespace;
- switches to the user id and the limits its kernel manager drew for it, which leaves it none of
  the template's capabilities.

So a kernel forked here sees what a kernel started cold in its own sandbox sees.

This file is run, with the Python of the course's environment, in two roles:

- ``serve SOCKET``: the template, in the sandbox, as root with the capabilities to mount and to
  switch users; it answers on the Unix socket ``SOCKET``, which only root may reach;
- ``connect SOCKET REQUEST``: the process the kernel manager starts as "the kernel", on the
  grader's side. It asks the template for a kernel and lives exactly as long as that kernel:
  killing it kills the kernel, and its exit status is the kernel's.

It uses nothing but the standard library, plus, in the template, what it imports to be warm.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import resource
import select
import signal
import socket
import sys

# What the course's notebooks and its checks import: the slow part of a cold start.
WARM_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.debugger",  # a kernel's start imports it (and debugpy) to offer debugging
    "sqlite3",  # IPython's history
    "torch",
    "torch.nn.functional",
    "resnet_ref",
    "resnet_ref.analysis",
    "resnet_ref.grading",
    "resnet_ref.training",
)
READY = "ready"
# What importing WARM_MODULES put into the template's environment: a cold kernel's imports
# would put it into the kernel's (debugpy sets PYDEVD_USE_FRAME_EVAL unless it is set).
set_by_imports: dict[str, str] = {}

# From <sched.h>, <sys/mount.h> and <sys/prctl.h>.
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x1, 0x20, 0x1000, 0x4000, 0x40000
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str, target: str, kind: str | None, flags: int, options: str | None) -> None:
    encoded = [None if s is None else s.encode() for s in (source, target, kind, options)]
    _check(_libc.mount(encoded[0], encoded[1], encoded[2], flags, encoded[3]), f"mount {target}")


def serve(path: str) -> None:
    """Import what the notebooks import, then fork one kernel keeper per request on ``path``."""
    before = dict(os.environ)
    for name in WARM_MODULES:
        importlib.import_module(name)
    set_by_imports.update((k, v) for k, v in os.environ.items() if before.get(k) != v)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the keepers are reaped by the system
    print(READY, flush=True)
    while True:
        connection, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            quiet = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(quiet, fd)
            _keep(connection)
            os._exit(0)
        connection.close()


def _keep(connection: socket.socket) -> None:
    """The keeper of one kernel: new namespaces, the kernel forked into them, its exit reported.

    The kernel is the keeper's child and the first process of the new process namespace; the
    keeper stays outside it, root, and kills the kernel when the other end hangs up.
    """
    try:
        request = json.loads(connection.makefile("r", encoding="utf-8").readline())
        flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
        _check(_libc.unshare(flags), "unshare")
        _mount("none", "/", None, MS_REC | MS_PRIVATE, None)  # no mount leaks to the template
    except Exception as error:
        connection.sendall(f"error {error}\n".encode())
        return
    kernel = os.fork()
    if kernel == 0:
        try:
            _become_kernel(request, connection)
        except BaseException as error:  # noqa: BLE001 (whatever it was, the grader must read it)
            connection.sendall(f"error {type(error).__name__}: {error}\n".encode())
            os._exit(1)
    connection.sendall(b"started\n")
    # No thread can watch the connection: after unshare(CLONE_NEWPID) the keeper can start
    # processes, not threads. It waits for either end instead.
    ended = os.pidfd_open(kernel)
    watched = [connection, ended]
    while ended not in select.select(watched, [], [])[0]:
        if not connection.recv(64):  # hung up: the kernel goes too
            os.kill(kernel, signal.SIGKILL)
            watched = [ended]
    _, status = os.waitpid(kernel, 0)
    if ended in watched and connection in watched:  # else nobody is listening any more
        connection.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())


def _become_kernel(request: dict, connection: socket.socket) -> None:
    """In the fresh namespaces: fresh scratch folders, the kernel's user and limits, then the
    kernel itself. Never returns."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    limits = request["limits"]
    size = f"size={limits['scratch_bytes']}"
    _fresh_tmp(f"{size},mode=1777")
    _mount("tmpfs", "/scratch", "tmpfs", 0, f"{size},mode=0777")
    _mount("tmpfs", "/dev/shm", "tmpfs", 0, f"{size},mode=1777")
    _mount("proc", "/proc", "proc", 0, None)
    os.chdir("/scratch")
    for kind, value in (
        (resource.RLIMIT_DATA, limits["memory_bytes"]),
        (resource.RLIMIT_NPROC, limits["processes"]),
        (resource.RLIMIT_CPU, limits["cpu_seconds"]),
        (resource.RLIMIT_FSIZE, limits["file_bytes"]),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(kind, (value, value))
    uid = request["uid"]
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # from root to another user: every capability is gone
    os.environ.clear()
    os.environ.update(request["env"], PWD=os.getcwd())
    for key, value in set_by_imports.items():
        os.environ.setdefault(key, value)
    if "numpy" in sys.modules:  # numpy seeded itself in the template: every kernel anew
        sys.modules["numpy"].random.seed()
    # The template's own folder leaves the path, as ipykernel_launcher's empty entry leaves it.
    del sys.path[0]
    sys.argv = ["ipykernel_launcher", "-f", request["connection_file"]]
    connection.close()
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    from ipykernel.kernelapp import launch_new_instance

    launch_new_instance()
    os._exit(0)


def _fresh_tmp(options: str) -> None:
    """Mount a fresh ``/tmp``, with what the sandbox put under the old one carried over.

    bwrap may have put there, besides the kernels' folders, the Python environment itself (a
    course cloned under /tmp) and links to it: the same binds, read-only where they were, and
    the same links.
    """
    with open("/proc/self/mountinfo", encoding="utf-8") as table:
        fields = [line.split() for line in table]
    # Mount points are fields 5, escaped as octal; their options field 6.
    mounts = [
        (f[4].encode().decode("unicode_escape"), "ro" in f[5].split(","))
        for f in fields
        if f[4].startswith("/tmp/")
    ]
    points = {path for path, _ in mounts}
    links = []
    for folder, subfolders, files in os.walk("/tmp"):
        subfolders[:] = [d for d in subfolders if os.path.join(folder, d) not in points]
        for name in [*subfolders, *files]:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                links.append((path, os.readlink(path)))
    outermost = [p for p in points if not any(p.startswith(q + "/") for q in points)]
    handles = {path: os.open(path, os.O_PATH) for path in outermost}
    _mount("tmpfs", "/tmp", "tmpfs", 0, options)
    for path, target in links:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)
    for path, handle in handles.items():
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{handle}", path, None, MS_BIND | MS_REC, None)
        os.close(handle)
    for path, read_only in mounts:
        if read_only:
            _mount("none", path, None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)


def connect(path: str, request: str) -> None:
    """Ask the template at ``path`` for the kernel ``request`` describes; exit as it exits."""
    # A signal ends this process, and so the kernel, as it would end a kernel's bwrap.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(path)
    connection.sendall(request.encode() + b"\n")
    code = 1
    for line in connection.makefile("r", encoding="utf-8"):
        if line.startswith("error "):
            print(f"kernel template: {line[6:].strip()}", file=sys.stderr)
        elif line.startswith("exit "):
            code = int(line.split()[1])
            break
    if code < 0:  # killed by a signal: so is this process, so that its manager reads the same
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"] and len(sys.argv) == 3:
        serve(sys.argv[2])
    elif sys.argv[1:2] == ["connect"] and len(sys.argv) == 4:
        connect(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: kernel_template.py serve SOCKET | connect SOCKET REQUEST")
