"""The connection under uvicorn's protocol: a response's head and body leave in one write; a body's arrival is known."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from images_emulator.server.connections import HELD_HEAD_LIMIT, JOINED_LIMIT, CoalescingTransport, GuardedProtocol
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


class PeerTransport(RecordingTransport):
    """A recording transport with a peer address, paused and resumed as uvicorn's protocol asks."""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass


def guarded_protocol(loop: asyncio.AbstractEventLoop) -> GuardedProtocol:
    """uvicorn's real protocol inside ours, on a recording transport, with an app that never answers."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(3600)

    config = uvicorn.Config(app, log_level="warning")
    protocol = GuardedProtocol(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    protocol.connection_made(PeerTransport())  # type: ignore[arg-type]
    return protocol


HEAD = b"POST /v1/images/generations HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n"


async def test_the_connection_knows_when_a_requests_whole_body_has_arrived() -> None:
    protocol = guarded_protocol(asyncio.get_running_loop())
    protocol.data_received(HEAD[:20])
    protocol.data_received(HEAD[20:] + b"01234")
    assert not protocol.request_started(10), "half the body is here"
    protocol.data_received(b"56789")
    protocol.response_done()
    protocol.data_received(HEAD.replace(b"10", b"3") + b"abc" + HEAD)  # a whole request, and the next pipelined
    assert protocol.request_started(3)
    protocol.response_done()
    assert not protocol.request_started(10), "the pipelined request's head is in, its body is not"
    protocol.data_received(b"0123456789")
    protocol.response_done()
    protocol.data_received(HEAD.replace(b"POST", b"GET").replace(b"content-length: 10\r\n", b""))
    assert protocol.request_started(0), "no body to wait for"
    protocol.connection_lost(None)


async def test_a_head_that_began_while_a_response_was_under_way_gets_its_deadline_when_it_is_done() -> None:
    protocol = guarded_protocol(asyncio.get_running_loop())
    protocol.data_received(HEAD + b"0123456789")
    protocol.request_started(10)
    protocol.data_received(HEAD[:30])  # the next head begins (a stream's client, pipelining) and stalls
    assert protocol.deadline is None, "no head deadline while a request is worked on"
    protocol.response_done()
    assert protocol.deadline is not None, "the unfinished head is on the clock once the response is done"
    protocol.connection_lost(None)


async def test_a_pipelined_heads_end_split_across_a_response_is_found() -> None:
    protocol = guarded_protocol(asyncio.get_running_loop())
    big = HEAD.replace(b"10", b"24000")
    protocol.data_received(HEAD + b"0123456789" + big[:-2])  # the next head, all but its last 2 bytes
    protocol.request_started(10)
    protocol.response_done()
    protocol.data_received(big[-2:] + b"x" * 24_000)  # its end, then a body larger than any head may be
    assert not protocol.transport.is_closing(), "not taken for a head over 16 KiB"  # type: ignore[union-attr]
    assert protocol.request_started(24_000)
    protocol.connection_lost(None)
