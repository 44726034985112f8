"""The bubblewrap sandbox on its own, outside nbgrader: what a kernel inside it can reach.

The hostile-submission tests grade a whole class through it; these check, in seconds, the
parts of its design that do not depend on a notebook: the Python it runs is the grader's own,
wherever that lives (a course cloned under ``/tmp`` included, whose virtual environment the
sandbox's private ``/tmp`` must not hide), and that ``/tmp`` is private and writable.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None or os.geteuid() != 0,
    reason="needs bubblewrap and root (the sandbox switches to a user id of its own)",
)

# Run by a Python whose prefix is the virtual environment under test: prints what the
# sandboxed child reports, or the sandbox's error.
PROBE = textwrap.dedent(
    """
    import subprocess, sys, tempfile
    from pathlib import Path
    from autograder.sandbox import Limits, sandbox_command, sandbox_env

    private = Path(tempfile.mkdtemp(prefix="sandbox-probe-"))
    child = (
        "import sys, pathlib; pathlib.Path('/tmp/mine').write_text('x'); print(sys.prefix);"
        " print(pathlib.Path('/tmp/mine').exists(), pathlib.Path(sys.argv[1]).exists())"
    )
    command = sandbox_command(
        [sys.executable, "-c", child, sys.argv[1]], private, 424242, Limits(), sandbox_env({})
    )
    done = subprocess.run(command, capture_output=True, text=True)
    print(done.returncode)
    print(done.stdout + done.stderr)
    """
)


def probe(python: Path, machine_file: Path) -> list[str]:
    """What a child started in the sandbox by ``python`` says, line by line: its return code,
    its ``sys.prefix``, whether it could write to its ``/tmp`` and whether it sees
    ``machine_file``."""
    done = subprocess.run(
        [str(python), "-c", PROBE, str(machine_file)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_sandbox_runs_the_graders_own_python(tmp_path):
    lines = probe(Path(sys.executable), tmp_path / "absent")
    assert lines[:2] == ["0", sys.prefix], lines


def test_a_virtual_environment_under_tmp_stays_visible(tmp_path):
    # A course cloned under /tmp (as a CI runner may do) has its .venv there too.
    assert tmp_path.resolve().is_relative_to("/tmp"), "pytest's tmp_path is expected in /tmp"
    env_dir = tmp_path / "course" / ".venv"
    venv.create(env_dir, with_pip=False)
    # The new environment borrows this one's packages (jupyter_client, ...) and the course.
    purelib = Path(sysconfig.get_paths(vars={"base": str(env_dir)})["purelib"])
    purelib.joinpath("course.pth").write_text(f"{sysconfig.get_paths()['purelib']}\n{ROOT}\n")
    beside = tmp_path / "course" / "gradebook.db"
    beside.write_text("what the sandbox must not see")
    lines = probe(env_dir / "bin" / "python", beside)
    assert lines[:2] == ["0", str(env_dir)], lines
    # /tmp inside is the sandbox's own: writable, and nothing of the machine's /tmp beyond
    # the environment bound into it.
    assert lines[2] == "True False"


def test_a_virtual_environment_reached_through_a_link_stays_visible(tmp_path):
    # A course folder whose .venv links to another environment: the kernel is started by the
    # link's path, which must lead to the environment inside the sandbox too.
    env_dir = tmp_path / "environments" / "course-env"
    venv.create(env_dir, with_pip=False)
    purelib = Path(sysconfig.get_paths(vars={"base": str(env_dir)})["purelib"])
    purelib.joinpath("course.pth").write_text(f"{sysconfig.get_paths()['purelib']}\n{ROOT}\n")
    link = tmp_path / "course" / ".venv"
    link.parent.mkdir()
    link.symlink_to(env_dir)
    lines = probe(link / "bin" / "python", tmp_path / "absent")
    assert lines[:2] == ["0", str(link)], lines


# Run by the grader's Python with a cell's code: a sandboxed kernel runs it while nothing reads
# its output. Prints, a line each: this process's peak memory in MiB before the cell, the status
# of the cell's reply (None if none came), whether the kernel is alive, why the relay cut it off
# (None if it did not), and the peak after.
RUN_CELL = textwrap.dedent(
    """
    import asyncio, resource, sys, time
    from queue import Empty
    from autograder.sandbox import SandboxedKernelManager

    def peak_mib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

    async def main():
        km = SandboxedKernelManager(warm_start=False, message_bytes=1024 * 1024)
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=120)
            print(peak_mib())
            kc.execute(sys.argv[1])
            reply, deadline = None, time.monotonic() + 60
            while km.cut_off is None and reply is None and time.monotonic() < deadline:
                try:
                    reply = await kc.get_shell_msg(timeout=0.2)
                except Empty:
                    pass
            await asyncio.sleep(2)  # a flood still under way is cut off by now
            print(reply and reply["content"]["status"])
            print(await km.is_alive())
            print(repr(km.cut_off))
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    asyncio.run(main())
    print(peak_mib())
    """
)


def run_cell(code: str) -> dict:
    """What :data:`RUN_CELL` printed for ``code``, by name."""
    done = subprocess.run(
        [sys.executable, "-c", RUN_CELL, code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    names = ["peak_before", "reply", "alive", "cut_off", "peak_after"]
    return dict(zip(names, done.stdout.splitlines(), strict=True))


ONE_PRINT = "print('o' * 300_000_000)"
# 300 parts of 1 MB, all one object in the kernel: cheap for it, 300 MB for a receiver.
MANY_PARTS = """
_k = get_ipython().kernel
_msg = _k.session.msg("stream", {"name": "stdout", "text": "hi"}, parent=_k.get_parent("shell"))
_k.session.send(_k.iopub_socket, _msg, buffers=[b"m" * 1_000_000] * 300)
"""
# 300 replies of 1 MB on the stdin channel, which nothing reads.
UNREAD = """
_k = get_ipython().kernel
for _i in range(300):
    _k.session.send(_k.stdin_socket, "input_request", {"prompt": "m" * 1_000_000},
                    parent=_k.get_parent("shell"), ident=_k._parent_ident["shell"])
"""


@pytest.mark.parametrize(
    "code, reason",
    [
        (ONE_PRINT, "a message of more than 1,048,576 bytes"),
        (MANY_PARTS, "a message of more than 1,048,576 bytes"),
        (UNREAD, "more than 20,971,520 bytes in all"),
    ],
    ids=["one-print", "many-parts", "unread-channel"],
)
def test_a_flood_is_cut_off_before_the_grader_holds_it(code, reason):
    printed = run_cell(code)
    assert (printed["alive"], printed["cut_off"]) == ("False", repr(reason)), printed
    # Hundreds of megabytes sent, and none of them entered this process.
    assert int(printed["peak_after"]) - int(printed["peak_before"]) < 50, printed


def test_output_nobody_reads_does_not_hold_up_the_replies():
    # ZeroMQ stops reading a channel at a thousand unread messages; the relay then keeps that
    # channel's bytes, and the shell channel's reply must still get through.
    printed = run_cell("for i in range(20_000): print(i, flush=True)")
    assert (printed["reply"], printed["alive"], printed["cut_off"]) == ("ok", "True", "None")
