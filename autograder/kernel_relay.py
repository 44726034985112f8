"""What a sandboxed kernel sends the grader, bounded before the grader holds it.

ZeroMQ hands a message to the program only once every part of it has arrived, and it keeps the
messages of a channel nobody reads (nbclient never reads stdin or heartbeat replies) until a
thousand are queued. A kernel could therefore make the grading process hold gigabytes (one huge
``print``, a message of a thousand parts, a thousand big messages on an unread channel) before
any count of its outputs saw a byte. So the grader's sockets never connect to the kernel's: they
connect to a :class:`KernelRelay` in the grading process, which passes the bytes on both ways
and reads the frames of what the kernel sends (ZMTP 3, ZeroMQ's wire protocol). A message larger
than ``message_bytes``, or more than ``total_bytes`` in all, cuts every connection at once and
calls ``on_cut``, which stops the kernel.
"""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

GREETING = 64  # bytes of a ZMTP 3 greeting: signature, version, mechanism, filler
MORE, LONG = 0x01, 0x02  # a frame's flags: more parts follow; its size takes 8 bytes
CHUNK = 64 * 1024
BACKLOG = 1024 * 1024  # bytes read from one end and not yet written to the other, at most


class Cut(Exception):
    """The kernel sent what the relay does not pass on; the message says what it sent."""


class FrameCounter:
    """Follows the frames of one stream a kernel sends, and sizes its messages."""

    def __init__(self, message_bytes: int):
        self.message_bytes = message_bytes
        self.greeting = b""
        self.header = b""  # the flags and size of the frame being read, as far as they came
        self.body_left = 0  # bytes of the frame's body still to come
        self.message = 0  # bytes of the message being read, its earlier parts included

    def feed(self, data: bytes) -> None:
        """Account for the next bytes of the stream; raise :class:`Cut` past the limit."""
        at = 0
        while at < len(data):
            if len(self.greeting) < GREETING:
                taken = data[at : at + GREETING - len(self.greeting)]
                self.greeting += taken
                at += len(taken)
                # Frames are read as ZMTP 3 with no encryption (what the kernel's ZeroMQ
                # speaks): a peer that claims another version or mechanism frames otherwise,
                # and without the signature ZeroMQ reads the stream as version 1.
                signature = len(self.greeting) < 10 or (
                    self.greeting[0] == 0xFF and self.greeting[9] & 0x01
                )
                if not signature or (len(self.greeting) > 10 and self.greeting[10] != 3):
                    raise Cut("bytes that are not ZeroMQ messages (ZMTP 3)")
                if len(self.greeting) == GREETING and self.greeting[12:16] != b"NULL":
                    raise Cut("ZeroMQ messages with a security mechanism")
            elif self.body_left:
                taken = min(self.body_left, len(data) - at)
                self.body_left -= taken
                at += taken
            else:
                self.header += data[at : at + 1]
                at += 1
                if len(self.header) == (9 if self.header[0] & LONG else 2):
                    self._frame(self.header[0], int.from_bytes(self.header[1:], "big"))
                    self.header = b""

    def _frame(self, flags: int, size: int) -> None:
        # Commands (the handshake, pings) count as messages of their own: no command of a
        # kernel's is large, and a message with a security mechanism would be one.
        self.message += size
        if self.message > self.message_bytes:
            raise Cut(f"a message of more than {self.message_bytes:,} bytes")
        self.body_left = size
        if not flags & MORE:
            self.message = 0


@dataclass(eq=False)
class Side:
    """One socket of a relayed connection: the grader's or the kernel's end."""

    sock: socket.socket
    counter: FrameCounter | None = None  # on the kernel's end: what it sends is counted
    peer: Side | None = None
    outbox: bytearray = field(default_factory=bytearray)  # read from the peer, to write here
    events: int = 0  # what the selector waits for on it


class KernelRelay:
    """Unix sockets in a folder of the grader's, one per channel of a kernel, whose connections
    are passed on to the kernel's own sockets (``ipc`` transport) with what comes back bounded.

    The grader's sockets connect to ``f"{relay.ip}-{port}"`` where they would have connected to
    ``f"{kernel_ip}-{port}"``. No socket ever blocks the relay: each connection has its own
    backlog, so a channel nobody reads stops only itself, never the others.
    """

    def __init__(
        self,
        kernel_ip: str,
        ports: list[int],
        message_bytes: int,
        total_bytes: int,
        on_cut: Callable[[str], None],
    ):
        self.kernel_ip, self.message_bytes, self.total_bytes = kernel_ip, message_bytes, total_bytes
        self.on_cut = on_cut
        self.cut: str | None = None  # why the relay cut the kernel off, once it has
        self.received = 0
        # Not in the kernel's private folder, which the sandbox shows the kernel.
        self.folder = Path(tempfile.mkdtemp(prefix="kernel-relay-"))
        self.ip = str(self.folder / "relay")
        self.selector = selectors.DefaultSelector()
        self.ends: set[Side] = set()  # every open end, watched or not
        self.wake_read, self.wake_write = os.pipe()
        self.selector.register(self.wake_read, selectors.EVENT_READ)
        for port in ports:
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(f"{self.ip}-{port}")
            listener.listen()
            self.selector.register(listener, selectors.EVENT_READ, port)
        self.closed = False
        self.thread = threading.Thread(target=self._serve, name="kernel-relay", daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop relaying, close every socket and remove the folder."""
        if not self.closed:
            self.closed = True
            os.write(self.wake_write, b"x")
            self.thread.join()
            os.close(self.wake_read)
            os.close(self.wake_write)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _serve(self) -> None:
        try:
            while not self.closed:
                for key, events in self.selector.select():
                    if isinstance(key.data, Side):
                        self._relay(key.data, events)
                    elif key.data is not None:
                        self._accept(key.fileobj, key.data)
        except Cut as reason:
            self.cut = str(reason)
            self.on_cut(self.cut)
        finally:
            for key in list(self.selector.get_map().values()):
                if isinstance(key.fileobj, socket.socket):
                    key.fileobj.close()
            for end in self.ends:
                end.sock.close()
            self.selector.close()

    def _accept(self, listener: socket.socket, port: int) -> None:
        grader = Side(listener.accept()[0])
        kernel = Side(
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), FrameCounter(self.message_bytes)
        )
        try:
            kernel.sock.connect(f"{self.kernel_ip}-{port}")
        except OSError:  # the kernel has not bound it yet: ZeroMQ connects again shortly
            kernel.sock.close()
            grader.sock.close()
            return
        grader.peer, kernel.peer = kernel, grader
        for side in (grader, kernel):
            self.ends.add(side)
            side.sock.setblocking(False)
            self._watch(side, selectors.EVENT_READ)

    def _relay(self, side: Side, events: int) -> None:
        """Read what ``side`` sent into its peer's outbox, write ``side``'s own outbox."""
        try:
            if events & selectors.EVENT_READ:
                data = side.sock.recv(CHUNK)
                if not data:
                    raise ConnectionError("closed")
                if side.counter is not None:
                    self.received += len(data)
                    if self.received > self.total_bytes:
                        raise Cut(f"more than {self.total_bytes:,} bytes in all")
                    side.counter.feed(data)
                side.peer.outbox += data
                # Written at once, as far as the peer takes it: a message crosses the relay in
                # one turn of the loop, not two.
                del side.peer.outbox[: side.peer.sock.send(side.peer.outbox)]
            if events & selectors.EVENT_WRITE:
                del side.outbox[: side.sock.send(side.outbox)]
        except BlockingIOError:
            pass
        except OSError:  # one end closed or failed: so does the other
            for end in (side, side.peer):
                self._watch(end, 0)
                end.sock.close()
                self.ends.discard(end)
            return
        for end in (side, side.peer):
            # An end reads only while its peer's outbox is short, and waits to write while its
            # own outbox holds anything.
            wanted = selectors.EVENT_READ if len(end.peer.outbox) < BACKLOG else 0
            self._watch(end, wanted | (selectors.EVENT_WRITE if end.outbox else 0))

    def _watch(self, end: Side, events: int) -> None:
        """Have the selector wait for ``events`` on ``end`` (none: not wait on it at all)."""
        if events == end.events:
            return
        if events and end.events:
            self.selector.modify(end.sock, events, end)
        elif events:
            self.selector.register(end.sock, events, end)
        else:
            self.selector.unregister(end.sock)
        end.events = events
