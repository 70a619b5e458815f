"""Deadlines for slow and stalled clients, around uvicorn's fast HTTP protocol (httptools).

uvicorn times out only idle keep-alive connections (after a response); nothing bounds how long a
client may take to send a request's head, so a client that opens a connection and sends nothing,
or drips its headers a byte at a time, would hold the connection for good. GuardedProtocol wraps
uvicorn's own protocol (composition, not a subclass: every protocol event is passed on unchanged)
and adds what httptools leaves out: while no request is in progress, the next request's head must
arrive within `--header-timeout-seconds` (a client that sent part of one then gets a 408 in OpenAI's
envelope; an idle connection is closed) and within HEAD_LIMIT bytes (h11's 16 KiB: httptools would
buffer a head without end); a request httptools cannot parse gets its 400 in the envelope too. The
app says when a request starts (with its body's declared length) and when its response's last byte is
sent (`request_started` / `response_done`, found by the client's address): the bytes received after
that request's body are the next request's, whose head is looked for in them (pipelining, or a client
that starts its next request before the answer is done). The body's own deadline, and draining a body
the response did not wait for, are the app's (api/request_body.py, server/asgi.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http
import json
import os
from collections.abc import Mapping
from typing import Any

from uvicorn.config import HTTP_PROTOCOLS
from uvicorn.importer import import_from_string

from images_emulator.contract.errors import ApiError
from images_emulator.harness.context import new_request_id

INNER_PROTOCOL = "httptools"  # the fast parser (C), as `--http httptools` names it
HEADER_TIMEOUT_MESSAGE = "Request timeout: the request headers were not received within {seconds:g} seconds."
HEAD_LIMIT = 16 * 1024
HEAD_TOO_LARGE_MESSAGE = f"Bad request: the request headers are larger than {HEAD_LIMIT // 1024} KiB."
HEAD_END = b"\r\n\r\n"
OPENAI_VERSION = b"2020-10-01"
WORKER_HEADER = "x-emulator-worker"  # the pid of the process that answered (tells workers and replicas apart)

HELD_HEAD_LIMIT = 16 * 1024  # a write this small is held back for the write after it (a response's head)
JOINED_LIMIT = 64 * 1024  # a held head and a body up to this size leave as one joined bytes; beyond, as two buffers
RECENT_BYTES = HEAD_LIMIT + len(HEAD_END)  # kept of what a connection received: a next request's whole head fits

# This process's open connections by client address (host, port): how the app finds a request's one.
_open: dict[tuple[str, int], GuardedProtocol] = {}


@functools.cache
def header_timeout() -> float:
    """`--header-timeout-seconds` of this process (read once: every worker has the same settings)."""
    from images_emulator.server.settings import Settings

    return Settings().header_timeout_seconds


def raw_error_response(error: ApiError) -> bytes:
    """A whole HTTP/1.1 response carrying `error`, that closes the connection (written without a parser),
    with the headers every answer carries (server/asgi.py)."""
    body = json.dumps(error.body(), separators=(",", ":")).encode()  # compact, as every other answer
    head = (
        f"HTTP/1.1 {error.status} {http.HTTPStatus(error.status).phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        f"x-request-id: {new_request_id()}\r\n"
        f"openai-version: {OPENAI_VERSION.decode()}\r\n"
        f"{WORKER_HEADER}: {os.getpid()}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def _address(peer: Any) -> tuple[str, int] | None:
    if isinstance(peer, tuple | list) and len(peer) >= 2:
        return str(peer[0]), int(peer[1])
    return None


def connection_of(scope: Mapping[str, Any]) -> GuardedProtocol | None:
    """The connection a request came on (None in process, or on a unix socket)."""
    client = _address(scope.get("client"))
    return _open.get(client) if client is not None else None


class CoalescingTransport:
    """The connection's transport as uvicorn's protocol sees it: a response's head and its body leave in one write.

    uvicorn writes the head when the app starts its response and the body right after, in the same turn of the
    loop: two send calls and two TCP segments for every response. A small write is held until the next one, or
    until the end of the loop's turn (a streamed response's head does not wait for its first event)."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is None:
            if len(data) <= HELD_HEAD_LIMIT:
                self._held = bytes(data)
                self._loop.call_soon(self.flush)
            else:
                self._transport.write(data)
            return
        self._held = None
        if len(data) <= JOINED_LIMIT:
            self._transport.write(held + data)
        else:
            self._transport.writelines((held, data))

    def writelines(self, chunks: Any) -> None:
        self.flush()
        self._transport.writelines(chunks)

    def flush(self) -> None:
        """Send what is held (if the connection is still open)."""
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._held or b"")

    def is_closing(self) -> bool:  # asked on every request: not through __getattr__
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:  # everything else is the transport's own
        return getattr(self._transport, name)


class GuardedProtocol(asyncio.Protocol):
    """uvicorn's httptools protocol, with the head deadline (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.inner: asyncio.Protocol = import_from_string(HTTP_PROTOCOLS[INNER_PROTOCOL])(*args, **kwargs)
        self.loop = kwargs.get("_loop") or asyncio.get_event_loop()
        self.timeout = header_timeout()
        self.transport: asyncio.Transport | None = None
        self.address: tuple[str, int] | None = None
        self.in_progress = 0  # requests the app is working on
        # The request being received or worked on, as the bytes tell (heads are found here, not by the app's timing):
        self.head_bytes = 0  # bytes of its head received so far
        self.head_seen = False  # its head's end arrived: what follows is its body (and any pipelined request)
        self.head_tail = b""  # the last bytes received, for an end split across reads
        self.body_bytes = 0  # bytes received after its head's end (a pipelined next request's too)
        self.body_length: int | None = None  # its body's declared length, once its app began (None: chunked)
        self.unsure = False  # where its head began is not known: its body is not known complete, nor its end
        self.recent = b""  # the last RECENT_BYTES received: where a pipelined next request's head is found
        self.deadline: asyncio.TimerHandle | None = None
        self.lost: asyncio.Future[None] = self.loop.create_future()  # done when the connection is gone
        self.send_400 = getattr(self.inner, "send_400_response", None)
        if self.send_400 is not None:  # uvicorn's answer to an unparsable request is plain text
            self.inner.send_400_response = self._unparsable

    # --- asyncio.Protocol, passed on -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # the protocol writes through the coalescing transport, as uvicorn's does (uvloop's are not asyncio's classes)
        self.transport = CoalescingTransport(transport, self.loop)  # type: ignore[arg-type,assignment]
        self.address = _address(transport.get_extra_info("peername"))
        if self.address is not None:
            _open[self.address] = self
        self.inner.connection_made(self.transport)  # type: ignore[arg-type]
        self._arm()

    def data_received(self, data: bytes) -> None:
        self.recent = data[-RECENT_BYTES:] if len(data) >= RECENT_BYTES else (self.recent + data)[-RECENT_BYTES:]
        if self.head_seen:
            self.body_bytes += len(data)
        elif self.in_progress:
            pass  # the request worked on came after a chunked body: where its head ended is not known
        elif not self._take_head(data):
            return
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if not self.lost.done():
            self.lost.set_result(None)
        if self.address is not None and _open.get(self.address) is self:
            del _open[self.address]
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    # --- what the app tells -------------------------------------------------------------------------

    def request_started(self, body_length: int | None) -> bool:
        """The app began a request whose body declares `body_length` bytes (0 without a body, None when chunked);
        whether that whole body has already arrived (then reading it needs no deadline)."""
        self.in_progress += 1
        self._disarm()
        self.body_length = body_length
        return self.head_seen and not self.unsure and body_length is not None and self.body_bytes >= body_length

    def body_begun(self) -> bool:
        """Whether any byte of the body of the request in progress has arrived (True when not known)."""
        return not self.head_seen or self.unsure or self.body_bytes > 0

    def response_done(self) -> None:
        """The request's response went out whole (or the request ended without one). Bytes that came after its
        body are the next request's: its head is looked for in them, and a head begun there but unfinished
        gets its deadline. (An idle keep-alive connection is closed by uvicorn's keep-alive timer, 5 s.)"""
        self.in_progress = max(0, self.in_progress - 1)
        if self.in_progress:
            return
        after = None  # how many bytes came after its body, when known
        if self.head_seen and not self.unsure and self.body_length is not None:
            after = self.body_bytes - self.body_length
        self.head_bytes, self.head_seen, self.head_tail, self.body_bytes, self.body_length = 0, False, b"", 0, None
        self.unsure = False
        if after is None:  # a chunked body's end is not known: what follows is taken for a new head
            self.recent = b""
            return
        if not 0 <= after <= len(self.recent):
            # Its body is still coming (an answer that did not wait for it), or more came after it than a head may
            # hold (a next request on its way): what follows counts as a body until the next response is done.
            self.head_seen = self.unsure = True
            self.recent = b""
            return
        self.recent = self.recent[len(self.recent) - after :]  # only the next request's bytes are kept
        if after:
            self._take_head(self.recent)

    async def cut(self, wait: float) -> None:
        """Close the connection in the middle of a response (the `disconnect` fault): what was written goes
        out, then the end. Returns once the connection is gone (within `wait` seconds), so that when the app
        returns uvicorn sees a client that went away, not an app that left its response unfinished (an error
        it logs)."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.lost), wait)

    # --- the head's size ----------------------------------------------------------------------------

    def _take_head(self, data: bytes) -> bool:
        """Counts `data` into the next request's head while no request is worked on: refused past HEAD_LIMIT
        (False), on the clock while unfinished (uvicorn's keep-alive timer stopped at its first byte)."""
        if not self._head_within_limit(data):
            self._refuse(ApiError(400, HEAD_TOO_LARGE_MESSAGE))
            return False
        if not self.head_seen and self.deadline is None:
            self._arm()
        return True

    def _head_within_limit(self, data: bytes) -> bool:
        """Counts `data` into the head being received; False once it passes HEAD_LIMIT unfinished."""
        window = self.head_tail + data
        end = window.find(HEAD_END)
        if end >= 0:
            self.head_seen = True
            self.body_bytes = len(window) - end - len(HEAD_END)
            return self.head_bytes - len(self.head_tail) + end <= HEAD_LIMIT
        self.head_bytes += len(data)
        self.head_tail = window[-(len(HEAD_END) - 1) :]
        return self.head_bytes <= HEAD_LIMIT

    def _unparsable(self, message: str) -> None:
        if self.in_progress and self.send_400 is not None:  # mid-request: uvicorn's own handling
            self.send_400(message)
            return
        self._refuse(ApiError(400, f"Bad request: {message}"))

    def _refuse(self, error: ApiError) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(raw_error_response(error))
            transport.close()

    # --- the deadline ---------------------------------------------------------------------------------

    def _arm(self) -> None:
        self._disarm()
        self.deadline = self.loop.call_later(self.timeout, self._expired)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _expired(self) -> None:
        self.deadline = None
        transport = self.transport
        if self.in_progress or transport is None or transport.is_closing():
            return
        if self.head_bytes:  # a request began and stalled: say so before closing
            message = HEADER_TIMEOUT_MESSAGE.format(seconds=self.timeout)
            transport.write(raw_error_response(ApiError(408, message, code="request_timeout")))
        transport.close()
