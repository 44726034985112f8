"""What the kernel relay costs a graded notebook: cells run through it against cells run with the
grader's sockets connected to the kernel's directly, side by side in one run.

Each round starts a sandboxed kernel (cold, as ``--cold`` grading does) both ways, in turn, and
times ``--cells`` cells that each print one line, waiting for every cell's reply and its outputs
as nbclient does: the relay's cost is per message, and a cell that prints little is where it
shows most. Prints the median seconds per cell of each and their ratio (relay / direct; 1.0 is
no cost). A measurement, not a test: it exits 0 whatever the ratio.

    .venv/bin/python benchmarks/bench_kernel_relay.py [--cells 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.sandbox import SandboxedKernelManager  # noqa: E402


class DirectKernelManager(SandboxedKernelManager):
    """The sandboxed kernel, with the grader's sockets connected to the kernel's own: no relay."""

    def client(self, **kwargs):
        """jupyter_client's own client, on the kernel's sockets."""
        return super(SandboxedKernelManager, self).client(**kwargs)

    def _make_url(self, channel: str) -> str:
        return f"ipc://{self.ip}-{getattr(self, f'{channel}_port')}"


async def seconds_per_cell(manager_class: type, cells: int) -> float:
    """Start a kernel with ``manager_class``, run ``cells`` one-line cells, return the mean time
    of one cell, its reply and all its outputs."""
    km = manager_class(warm_start=False)
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=120)
        started = time.perf_counter()
        for cell in range(cells):
            msg_id = kc.execute(f"print({cell})")
            while True:
                msg = await kc.get_iopub_msg(timeout=30)
                if (
                    msg["parent_header"].get("msg_id") == msg_id
                    and msg["msg_type"] == "status"
                    and msg["content"]["execution_state"] == "idle"
                ):
                    break
            await kc.get_shell_msg(timeout=30)
        return (time.perf_counter() - started) / cells
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)


async def main(cells: int, rounds: int) -> None:
    """Time both ways, alternating which goes first, and print the medians and their ratio."""
    times: dict[str, list[float]] = {"direct": [], "relay": []}
    contenders = [("direct", DirectKernelManager), ("relay", SandboxedKernelManager)]
    for round_ in range(rounds):
        for name, manager_class in contenders if round_ % 2 == 0 else contenders[::-1]:
            times[name].append(await seconds_per_cell(manager_class, cells))
    direct, relay = (statistics.median(times[name]) for name in ("direct", "relay"))
    print(f"{cells} one-line cells per kernel, {rounds} rounds, median seconds per cell:")
    print(f"  direct {direct * 1000:.2f} ms   relay {relay * 1000:.2f} ms")
    print(f"  relay / direct = {relay / direct:.3f} ({(relay - direct) * 1e6:+.0f} µs per cell)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=300, help="cells per kernel (300)")
    parser.add_argument("--rounds", type=int, default=5, help="kernels started each way (5)")
    options = parser.parse_args()
    asyncio.run(main(options.cells, options.rounds))
