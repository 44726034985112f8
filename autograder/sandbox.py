"""A bubblewrap sandbox for every kernel that runs a learner's submission.

A submission is arbitrary Python run by the instructor. Its kernel starts inside ``bwrap``
(Debian's ``bubblewrap``) and sees:

- the system read-only (``/usr``, ``/etc``), the Python installation and the course's virtual
  environment read-only, and the ``resnet_ref`` package read-only at ``/opt/course`` — what a
  learner already has, and nothing else of the course folder: no gradebook, no ``solutions/``,
  no other submission, no instructor configuration;
- a private, size-limited scratch folder as its working directory and home, and a private
  ``/tmp``, both gone when the kernel stops;
- no network (a network namespace of its own) and only its own processes (a PID namespace).

It runs as a user id of its own (never root), with limits on memory, processes, CPU time and
file size. The kernel talks to the grader over Unix sockets in a private folder bound into the
sandbox, since it has no network to listen on, and everything it sends passes a relay that
bounds it (:mod:`autograder.kernel_relay`).

Kernels start warm by default: a :class:`KernelTemplate`, one sandbox per grading process that
has imported torch and ``resnet_ref`` once, forks each kernel into namespaces, a user id and
limits of its own, so that it sees what a cold kernel in its own sandbox sees
(:mod:`autograder.kernel_template`). ``SandboxedKernelManager.warm_start = False`` starts every
kernel cold instead, in a new sandbox.
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib.util
import json
import os
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, Type

from .kernel_relay import KernelRelay

BWRAP = "bwrap"
MiB = 1024 * 1024
TEMPLATE_SCRIPT = Path(__file__).with_name("kernel_template.py")
TEMPLATE_IN_SANDBOX = "/opt/grader/kernel_template.py"


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create a sandbox on this machine."""


def bwrap_path() -> str:
    """The ``bwrap`` executable, or a :class:`SandboxUnavailable` that says how to get it."""
    found = shutil.which(BWRAP)
    if not found:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, so submissions cannot be sandboxed: install it"
            " (Debian/Ubuntu: apt-get install bubblewrap), or grade unsandboxed on purpose with"
            " `python3 course.py autograde ASSIGNMENT --unsandboxed`"
        )
    return found


@dataclass(frozen=True)
class Limits:
    """What one sandboxed kernel may use."""

    memory_bytes: int = 4096 * MiB  # heap and anonymous memory (RLIMIT_DATA)
    processes: int = 256  # processes and threads of the sandbox's user (RLIMIT_NPROC)
    cpu_seconds: int = 1800  # CPU time of each process (RLIMIT_CPU)
    file_bytes: int = 64 * MiB  # the largest file it may write (RLIMIT_FSIZE)
    scratch_bytes: int = 512 * MiB  # the working folder, /tmp and /dev/shm, each


def resnet_ref_folder() -> Path:
    """The ``resnet_ref`` package the grader itself would import (found without importing it)."""
    spec = importlib.util.find_spec("resnet_ref")
    if spec is None or spec.origin is None:
        raise SandboxUnavailable("resnet_ref is not importable here: run python3 course.py setup")
    return Path(spec.origin).resolve().parent


def _parents(path: Path) -> list[Path]:
    return [p for p in reversed(path.parents) if p != Path("/")]


def bwrap_command(
    private: Path, limits: Limits, env: dict[str, str], extra: list[str]
) -> list[str]:
    """The ``bwrap`` command line of a sandbox as the module's docstring describes, up to the
    command it runs.

    ``private`` is a folder bound read-write at the same path (a kernel's connection file and
    sockets); ``env`` the only environment variables the sandbox gets; ``extra`` more ``bwrap``
    options.
    """
    read_only = [Path("/usr"), Path("/etc")]
    for prefix in (sys.base_prefix, sys.prefix):
        path = Path(prefix).resolve()
        if not any(path.is_relative_to(p) for p in read_only):
            read_only.append(path)
    scratch = str(limits.scratch_bytes)
    # The private /tmp comes first: mounted after the binds, it would hide any of them that
    # lives under /tmp (a course cloned there, its virtual environment with it).
    args = [bwrap_path(), "--perms", "01777", "--size", scratch, "--tmpfs", "/tmp"]
    # bwrap creates missing parent folders readable by root only: make them 0755 first.
    made = {Path("/tmp")}
    for path in [*read_only, Path("/opt/course/resnet_ref")]:
        for parent in _parents(path):
            if parent not in made and parent not in read_only:
                made.add(parent)
                args += ["--perms", "0755", "--dir", str(parent)]
    for path in read_only:
        args += ["--ro-bind", str(path), str(path)]
    for name in ("lib", "lib64", "bin", "sbin"):
        if Path("/usr", name).exists():
            args += ["--symlink", f"usr/{name}", f"/{name}"]
    # An environment reached through a link (a course whose .venv links to another) is named
    # by that link in the kernel's command line: the same link leads to it in the sandbox.
    for prefix in (sys.base_prefix, sys.prefix):
        link = Path(os.path.abspath(prefix))
        if link != link.resolve() and not any(link.is_relative_to(p) for p in read_only):
            for parent in _parents(link):
                if parent not in made and not any(parent.is_relative_to(p) for p in read_only):
                    made.add(parent)
                    args += ["--perms", "0755", "--dir", str(parent)]
            args += ["--symlink", str(link.resolve()), str(link)]
    args += [
        *["--ro-bind", str(resnet_ref_folder()), "/opt/course/resnet_ref"],
        *["--proc", "/proc", "--dev", "/dev"],
        *["--perms", "0777", "--size", scratch, "--tmpfs", "/scratch"],
        *["--perms", "01777", "--size", scratch, "--tmpfs", "/dev/shm"],
        *["--bind", str(private), str(private)],
        *["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"],
        "--die-with-parent",
        *["--chdir", "/scratch", "--clearenv"],
    ]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    return args + extra


def sandbox_command(
    command: list[str], private: Path, uid: int, limits: Limits, env: dict[str, str]
) -> list[str]:
    """``command`` wrapped in bwrap, prlimit and setpriv as the module's docstring describes."""
    # Only setpriv, below, needs these: it gives them up when it switches to the sandbox's user.
    caps = ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return bwrap_command(private, limits, env, caps) + [
        "--",
        "prlimit",
        f"--data={limits.memory_bytes}",
        f"--nproc={limits.processes}",
        f"--cpu={limits.cpu_seconds}",
        f"--fsize={limits.file_bytes}",
        "--core=0",
        "--",
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--",
        *command,
    ]


def sandbox_env(environ: dict[str, str]) -> dict[str, str]:
    """The environment of a sandboxed kernel: a fixed few variables, none of the instructor's."""
    bin_folder = str(Path(sys.prefix) / "bin")
    env = {
        "PATH": f"{bin_folder}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/scratch",
        "PYTHONPATH": "/opt/course",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/scratch/.matplotlib",
        "IPYTHONDIR": "/scratch/.ipython",
        "JUPYTER_RUNTIME_DIR": "/scratch/.jupyter",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    # What the notebooks read: nbgrader's flag (exploring cells shrink) and thread counts.
    for key in ("NBGRADER_EXECUTION", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if key in environ:
            env[key] = environ[key]
    return env


class KernelTemplate:
    """A warm template (:mod:`autograder.kernel_template`) in a sandbox of its own, which forks
    the kernels of this grading process; :meth:`shared` keeps one per process.

    A kernel takes its environment, limits and scratch folders from its request, not from the
    template, so one template serves every kernel of the process.
    """

    _running: KernelTemplate | None = None
    _lock = threading.Lock()

    @classmethod
    def shared(cls) -> KernelTemplate:
        """This process's template, started if need be."""
        with cls._lock:
            template = cls._running
            # A template dies with the thread that started it (bwrap's --die-with-parent).
            if template is None or template.process.poll() is not None:
                if template is not None:
                    template.stop()
                template = cls._running = cls(sandbox_env(os.environ))
        return template

    def __init__(self, env: dict[str, str], start_timeout: float = 300):
        # Kernels find their own private folders in this one, and nothing else: the template's
        # socket is root's, and each private folder its kernel's user's.
        self.folder = Path(tempfile.mkdtemp(prefix="kernel-template-"))
        self.folder.chmod(0o711)
        self.socket = self.folder / "template.sock"
        log = self.folder / "template.log"
        # The template mounts the kernels' fresh folders and switches them to their users.
        caps = ["--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        # Its own scratch folders hold nothing: each kernel mounts fresh ones of its size.
        command = bwrap_command(
            self.folder,
            Limits(),
            env,
            ["--ro-bind", str(TEMPLATE_SCRIPT), TEMPLATE_IN_SANDBOX, *caps, "--"],
        )
        command += [sys.executable, TEMPLATE_IN_SANDBOX, "serve", str(self.socket)]
        with open(log, "wb") as errors:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors)
        atexit.register(self.stop)
        ready, deadline = b"", time.monotonic() + start_timeout
        while not ready.endswith(b"\n") and time.monotonic() < deadline:
            if select.select([self.process.stdout], [], [], 1)[0]:
                chunk = os.read(self.process.stdout.fileno(), 64)
                if not chunk:
                    break
                ready += chunk
        self.process.stdout.close()
        if ready.strip() != b"ready":
            problem = log.read_text(errors="replace").strip().splitlines()[-5:]
            self.stop()
            raise SandboxUnavailable(
                "the warm kernel template did not start"
                f" ({'; '.join(problem) or 'no message'}); grade with cold kernels instead:"
                " --SandboxedKernelManager.warm_start=False"
            )

    def kernel_command(self, connection_file: str, uid: int, limits: Limits, env: dict) -> list:
        """The command that asks this template for a kernel, and lives as long as it does."""
        request = {
            "connection_file": connection_file,
            "uid": uid,
            "env": env,
            "limits": dataclasses.asdict(limits),
        }
        # -I: nothing of the course's folders on the client's path.
        return [sys.executable, "-I", str(TEMPLATE_SCRIPT), "connect", str(self.socket)] + [
            json.dumps(request)
        ]

    def stop(self) -> None:
        """Stop the template (its kernels go with it) and remove its folder."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


class PromptKernelClient(AsyncKernelClient):
    """A kernel client that is ready as soon as the kernel has answered on both channels.

    jupyter_client's ``wait_for_ready`` ends by listening to IOPub until it has been quiet
    for 0.2 s, to drop the kernel's start-up messages: idle time for every notebook graded.
    nbclient reads on IOPub only the messages of the cell it runs, so those can stay.
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Return once the kernel has answered a kernel_info request on the shell channel and
        IOPub carries its messages; raise if it dies or ``timeout`` seconds pass first."""
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:  # the kernel's status about this request shows that IOPub is connected
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass  # not yet: ask again
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start inside the sandbox, one fresh user id each."""

    client_factory = Type(PromptKernelClient, klass=AsyncKernelClient)

    memory_bytes = Integer(Limits.memory_bytes, help="RLIMIT_DATA of the kernel").tag(config=True)
    processes = Integer(Limits.processes, help="RLIMIT_NPROC of the kernel").tag(config=True)
    cpu_seconds = Integer(Limits.cpu_seconds, help="RLIMIT_CPU of the kernel").tag(config=True)
    file_bytes = Integer(Limits.file_bytes, help="RLIMIT_FSIZE of the kernel").tag(config=True)
    scratch_bytes = Integer(Limits.scratch_bytes, help="size of its scratch folders").tag(
        config=True
    )
    # ContainedExecute sets it to its output limit: one message larger than the whole allowance
    # is a flood, and the relay keeps it out of the grader's memory.
    message_bytes = Integer(64 * MiB, help="bytes of the largest message the kernel may send")
    warm_start = Bool(
        True,
        help="Fork each kernel from a template that has imported torch and resnet_ref"
        " (autograder/kernel_template.py) rather than start it cold in a sandbox of its own",
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Ids above any real account's, drawn afresh, so that no two sandboxes share one and
        # one sandbox's processes do not count against another's limit.
        self.sandbox_uid = 200_000 + secrets.randbelow(1_000_000_000)
        self.template = None
        if self.warm_start:
            self.template = KernelTemplate.shared()
        within = self.template.folder if self.template else None
        self.private = Path(tempfile.mkdtemp(prefix="sandboxed-kernel-", dir=within))
        os.chown(self.private, self.sandbox_uid, self.sandbox_uid)
        self.transport = "ipc"
        self.connection_file = str(self.private / "kernel.json")
        self.ip = str(self.private / "kernel-ipc")
        self.referee_socket = self.private / "referee.sock"
        self.relay: KernelRelay | None = None

    @property
    def cut_off(self) -> str | None:
        """Why the relay cut the kernel off and stopped it (it sent too much), or None."""
        return self.relay.cut if self.relay else None

    def client(self, **kwargs) -> PromptKernelClient:
        """A client of the kernel whose sockets connect to the relay."""
        return super().client(ip=self.relay.ip, **kwargs)

    def _make_url(self, channel: str) -> str:
        # This manager's own socket (control, for interrupts and shutdown) goes through the
        # relay too; the connection file, which the kernel reads, keeps the kernel's paths.
        return f"ipc://{self.relay.ip}-{getattr(self, f'{channel}_port')}"

    def limits(self) -> Limits:
        """The limits this manager's traits set."""
        return Limits(
            self.memory_bytes,
            self.processes,
            self.cpu_seconds,
            self.file_bytes,
            self.scratch_bytes,
        )

    def format_kernel_cmd(self, extra_arguments=None) -> list[str]:
        """The kernel's command line, wrapped in the sandbox."""
        command = super().format_kernel_cmd(extra_arguments)
        # The kernel reads the connection file (and its key) as the sandbox's user.
        os.chown(self.connection_file, self.sandbox_uid, self.sandbox_uid)
        env = sandbox_env(dict(os.environ))
        # The referee's socket lies in the private folder too (autograder/referee.py). (Its
        # variable is imported here: importing resnet_ref imports torch, which the processes
        # that only use this module's other parts, autograde's among them, do without.)
        from resnet_ref.grading.referee import REFEREE_SOCKET

        env[REFEREE_SOCKET] = str(self.referee_socket)
        if self.template is not None:
            return self.template.kernel_command(
                self.connection_file, self.sandbox_uid, self.limits(), env
            )
        return sandbox_command(command, self.private, self.sandbox_uid, self.limits(), env)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        # The kernel's own console chatter is not the instructor's business.
        kw["stdout"] = kw["stderr"] = subprocess.DEVNULL
        await super()._async_launch_kernel(kernel_cmd, **kw)
        channels = ("shell", "iopub", "stdin", "control", "hb")
        self.relay = KernelRelay(
            self.ip,
            [getattr(self, f"{channel}_port") for channel in channels],
            self.message_bytes,
            # Besides its counted outputs, a kernel sends a few hundred bytes of headers per
            # message, and replies on the other channels: far below this, unless it floods.
            4 * self.message_bytes + 16 * MiB,
            self._stop_flooding,
        )

    def _stop_flooding(self, reason: str) -> None:
        process = getattr(self.provisioner, "process", None)
        if process is not None and process.poll() is None:
            process.kill()  # bwrap: the sandbox and every process in it go with it

    async def interrupt_kernel(self) -> None:
        """Ask the kernel to interrupt itself: a SIGINT sent from here would stop bwrap, and the
        sandbox with it."""
        self._connect_control_socket()
        self.session.send(self._control_socket, self.session.msg("interrupt_request", content={}))

    async def _async_finish_shutdown(self, waittime=None, pollinterval=0.1, restart=False):
        # Every shutdown waits here for the kernel's process to end, which takes milliseconds
        # (the sandbox's kernel ends with the process): look every 10 ms rather than 100.
        await super()._async_finish_shutdown(waittime, min(pollinterval, 0.01), restart)

    async def cleanup_resources(self, restart: bool = False) -> None:
        """Remove the private folder with the connection file and sockets."""
        await super().cleanup_resources(restart)
        if not restart:
            shutil.rmtree(self.private, ignore_errors=True)
            if self.relay is not None:
                self.relay.close()
