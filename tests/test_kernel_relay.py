"""The relay's reading of ZMTP frames, on streams made here byte by byte.

``tests/test_sandbox.py`` floods a real sandboxed kernel's relay three ways; these check the
frame arithmetic those floods rely on, including streams that a kernel replacing its own
sockets could send to mislead it.
"""

import pytest

from autograder.kernel_relay import GREETING, Cut, FrameCounter

LIMIT = 1000


def greeting(version: int = 3, mechanism: bytes = b"NULL") -> bytes:
    """A ZMTP greeting: signature, version, mechanism (padded to 20 bytes), as-server, filler."""
    signature = b"\xff" + bytes(8) + b"\x7f"
    return signature + bytes([version, 0]) + mechanism.ljust(20, b"\0") + bytes(32)


def frame(body: bytes, more: bool = False, long: bool = False) -> bytes:
    """One frame: flags, size in 1 byte (or 8 when ``long`` or past 255), body."""
    long = long or len(body) > 255
    flags = (0x01 if more else 0) | (0x02 if long else 0)
    return bytes([flags]) + len(body).to_bytes(8 if long else 1, "big") + body


def fed(*chunks: bytes, one_byte_at_a_time: bool = False) -> FrameCounter:
    """A counter that has read ``chunks``, as they come or a byte at a time."""
    counter = FrameCounter(LIMIT)
    data = b"".join(chunks)
    for piece in [data[i : i + 1] for i in range(len(data))] if one_byte_at_a_time else chunks:
        counter.feed(piece)
    return counter


def test_the_greeting_is_the_ZMTP_3_size():
    assert len(greeting()) == GREETING


@pytest.mark.parametrize("one_byte_at_a_time", [False, True])
def test_messages_within_the_limit_pass_however_the_bytes_arrive(one_byte_at_a_time):
    parts = [frame(b"a" * 200, more=True), frame(b"b" * 300, more=True, long=True)]
    stream = [greeting(), *parts, frame(b"c" * 400), frame(b"d" * 900)]
    counter = fed(*stream, one_byte_at_a_time=one_byte_at_a_time)
    assert (counter.message, counter.body_left, counter.header) == (0, 0, b"")


@pytest.mark.parametrize("one_byte_at_a_time", [False, True])
def test_a_message_is_sized_over_all_its_parts(one_byte_at_a_time):
    parts = [frame(b"a" * 200, more=True) for _ in range(5)] + [frame(b"b")]
    with pytest.raises(Cut, match="a message of more than 1,000 bytes"):
        fed(greeting(), *parts, one_byte_at_a_time=one_byte_at_a_time)


def test_a_long_frame_is_cut_from_its_size_before_its_body_arrives():
    with pytest.raises(Cut):
        fed(greeting(), frame(b"", long=True)[:1] + (10**9).to_bytes(8, "big"))


@pytest.mark.parametrize(
    "start",
    [
        greeting(version=2),
        greeting(version=1),
        b"\x01\x00" + bytes(70),
        b"\x00" + greeting()[1:],  # version 3 in its place, but no signature: ZMTP 1.0
        greeting()[:9] + b"\x00" + greeting()[10:],
    ],
    ids=["version-2", "version-1", "no-signature", "no-leading-ff", "no-trailing-7f"],
)
def test_a_stream_framed_another_way_is_cut(start):
    with pytest.raises(Cut, match="not ZeroMQ messages"):
        fed(start)


def test_an_encrypted_stream_is_cut():
    with pytest.raises(Cut, match="security mechanism"):
        fed(greeting(mechanism=b"CURVE"))
