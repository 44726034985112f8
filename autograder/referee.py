"""The referee: the grader's own process decides the checks of every graded kernel.

:class:`Referee` listens on a Unix socket that only the kernel being graded can reach (it
lies in the sandbox's private folder) and runs each check the kernel sends
(:func:`resnet_ref.grading.referee.judge`): the reference, the random inputs and the
comparison stay here, and the kernel only runs the learner's code on what it is given.

It also keeps the record of what each test cell checked. The executor tells it which cell
runs (:meth:`Referee.begin_cell`); every check that arrives meanwhile is written to that cell.
Grading a notebook takes two runs of it:

1. the instructor's solution, once per notebook and autograde command: its record is the
   *expectation*, the checks each test cell makes, in order;
2. each submission: a test cell earns its points only if the referee saw every expected check,
   with the expected arguments, and each passed (:func:`shortfall`). A cell that never
   reached the referee, skipped a check, swallowed a failure or sent other arguments than the
   test asks for earns nothing, whatever its own output says. While a submission is graded
   the referee runs no request the solution did not make (in a test cell: not the very one
   expected next), so a kernel cannot make it build a huge module or probe at will.

Checks that are not refereed (assignment-specific helpers, plain ``assert`` lines) still run in
the kernel and count as nbgrader counts them; :data:`resnet_ref.grading.checks.REFEREED`
lists the refereed ones.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from resnet_ref.grading.checks import REFEREED
from resnet_ref.grading.referee import Channel, judge, send_verdict


@dataclass
class Record:
    """One check as the referee saw it: the request as it came and whether it passed."""

    request: str
    passed: bool
    message: str


class Referee:
    """Listens at ``path`` in a thread and keeps each cell's :class:`Record` list."""

    def __init__(
        self,
        path: Path,
        owner: int | None = None,
        timeout: float = 120.0,
        expected: dict[str, list[Record]] | None = None,
    ):
        self.path = path
        self.timeout = timeout
        self.expected = expected  # None: recording the solution, every request runs
        self.known = {r.request for found in (expected or {}).values() for r in found}
        self.records: dict[str, list[Record]] = {}
        self._cell: str | None = None
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        if owner is not None:  # the sandbox's user connects to it
            os.chown(path, owner, owner)
        os.chmod(path, 0o600)
        self._server.listen(4)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def begin_cell(self, key: str) -> None:
        """Checks from now on belong to the cell ``key``."""
        with self._lock:
            self._cell = key
            self.records[key] = []

    def end_cell(self) -> list[Record]:
        """The records of the cell that ran; later checks belong to no cell."""
        with self._lock:
            key, self._cell = self._cell, None
            return list(self.records.get(key, []))

    def close(self) -> None:
        """Stop listening."""
        self._server.close()
        self.path.unlink(missing_ok=True)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return  # closed
            with self._lock:
                cell = self._cell
            with connection:
                connection.settimeout(self.timeout)
                channel = Channel(connection)
                verdict = None
                try:
                    text, verdict = judge(
                        channel, REFEREED, lambda r, cell=cell: self._admit(cell, r)
                    )
                    record = Record(text, verdict.passed is True, verdict.message)
                except Exception as error:  # a broken or hostile kernel: the check fails
                    record = Record("", False, f"the check broke off ({type(error).__name__})")
                # Recorded before the kernel learns the verdict and its cell can end.
                with self._lock:
                    if cell is not None and cell in self.records:
                        self.records[cell].append(record)
                if verdict is not None:
                    try:
                        send_verdict(channel, verdict)
                    except OSError:
                        pass

    def _admit(self, cell: str | None, request: str) -> str | None:
        if self.expected is None:
            return None
        with self._lock:
            done = len(self.records.get(cell, [])) if cell is not None else 0
        wanted = self.expected.get(cell) if cell is not None else None
        if wanted:
            if done < len(wanted) and wanted[done].request == request:
                return None
            return "not the check this test cell makes next"
        if request in self.known:
            return None
        return "while grading, only the assignment's own tests are checked"


def shortfall(expected: list[Record], got: list[Record]) -> str | None:
    """Why a test cell whose solution made the checks ``expected`` earns nothing with the
    checks ``got``; ``None`` when it earns its points."""
    for number, (want, record) in enumerate(zip(expected, got, strict=False), start=1):
        if record.request != want.request:
            return (
                f"check {number} of this cell is not the one the test asks for"
                " (its arguments or its name were changed)"
            )
        if not record.passed:
            return f"check {number} of this cell failed: {record.message}"
    if len(got) < len(expected):
        return (
            f"only {len(got)} of the {len(expected)} checks of this cell reached the grader"
            " (was the test cell changed, or an error swallowed?)"
        )
    if len(got) > len(expected):
        return f"this cell made {len(got)} checks where the test makes {len(expected)}"
    return None
