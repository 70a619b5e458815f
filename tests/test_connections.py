"""The transport under uvicorn's protocol: a response's head and body leave the server in one write."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from images_emulator.server.connections import HELD_HEAD_LIMIT, JOINED_LIMIT, CoalescingTransport
from images_emulator.testing.process import EmulatorProcess


class RecordingTransport:
    """Stands in for uvloop's transport: records what is sent, in send calls."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.sent.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        self.write(b"".join(chunks))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> str:
        return f"extra {name}"


async def test_a_head_and_the_body_after_it_leave_in_one_send() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    for body in (b'{"ok": true}', b"x" * (JOINED_LIMIT + 1)):
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(body)
        assert inner.sent[-1] == b"HTTP/1.1 200 OK\r\n\r\n" + body
    assert len(inner.sent) == 2
    await asyncio.sleep(0)
    assert len(inner.sent) == 2, "nothing left held to send again"


async def test_a_head_alone_leaves_at_the_end_of_the_loops_turn() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    assert inner.sent == [] and transport.get_write_buffer_size() > 0
    await asyncio.sleep(0)
    assert inner.sent == [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"]


async def test_a_large_write_is_not_held_and_close_sends_what_is_held_first() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"y" * (HELD_HEAD_LIMIT + 1))
    assert len(inner.sent) == 1
    transport.write(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
    transport.close()
    assert inner.sent[-1] == b"HTTP/1.1 408 Request Timeout\r\n\r\n" and inner.closed
    await asyncio.sleep(0)
    assert len(inner.sent) == 2, "the end of the turn sends nothing after close"
    assert transport.get_extra_info("peername") == "extra peername"


def test_a_raw_client_reads_the_head_and_the_body_in_its_first_read(server: EmulatorProcess) -> None:
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for _ in range(3):  # keep-alive: every response on the connection
            sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
            first = sock.recv(65536)
            assert first.startswith(b"HTTP/1.1 200 OK\r\n")
            assert first.endswith(b'"state":"ok"}}'), first
