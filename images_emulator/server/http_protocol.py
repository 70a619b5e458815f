"""uvicorn's h11 protocol with read deadlines, so slow or stalled clients cannot hold a connection forever.

uvicorn times out only idle keep-alive connections (`timeout_keep_alive`, 5 s, armed after a response);
h11 bounds the size of request headers (16 KiB) but not the time they take. Left alone, a client that
opens a connection and sends nothing, or drips its headers a byte at a time, holds its connection for
good. This protocol adds two deadlines (the app itself bounds reading the body: `request_body`):

- headers: a request's headers must be complete within `--header-timeout-seconds` of the connection
  opening (or of the previous response). Else the client gets a 408 in OpenAI's envelope, and the
  connection is closed.
- draining: when the response went out before the whole body came in (a 413, a 408), the rest of the
  body must arrive within `--body-timeout-seconds`; else the connection is closed.

uvicorn's own plain-text 400 for malformed requests is answered in OpenAI's envelope too.
"""

from __future__ import annotations

import asyncio
import functools
import http
import json
import warnings
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from images_emulator.contract.errors import ApiError
from images_emulator.server.settings import Settings

HEADER_TIMEOUT_MESSAGE = "Request timeout: the request headers were not received within {seconds:g} seconds."


@functools.cache
def read_deadlines() -> tuple[float, float]:
    """(header timeout, drain timeout) in seconds, from this process's EMULATOR_* settings."""
    settings = Settings()
    return settings.header_timeout_seconds, settings.body_timeout_seconds


def raw_error_response(error: ApiError) -> bytes:
    """A whole HTTP/1.1 response carrying `error`, that closes the connection (written without h11)."""
    body = json.dumps(error.body()).encode()
    head = (
        f"HTTP/1.1 {error.status} {http.HTTPStatus(error.status).phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class EmulatorH11Protocol(H11Protocol):
    """H11Protocol plus the header and drain deadlines (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout, self.drain_timeout = read_deadlines()
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._arm(None)
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """A malformed request (bad request line, headers over 16 KiB, ...): 400 in OpenAI's envelope."""
        self._arm(None)
        if not self.transport.is_closing():
            self.transport.write(raw_error_response(ApiError(400, msg)))
            self.transport.close()

    def _current_phase(self) -> str | None:
        """`headers` while waiting for a request's headers, `drain` while discarding the rest of a body
        the response did not wait for, else None (the app is working, or the connection is done)."""
        if self.transport is None or self.transport.is_closing():
            return None
        if self.conn.their_state is h11.IDLE:
            return "headers"
        if self.conn.our_state in (h11.DONE, h11.MUST_CLOSE) and self.conn.their_state is h11.SEND_BODY:
            return "drain"
        return None

    def _watch(self) -> None:
        """Arm the deadline of the phase the connection entered; a phase keeps the deadline it started with."""
        phase = self._current_phase()
        if phase == self._phase:
            return
        self._phase = phase
        seconds = {"headers": self.header_timeout, "drain": self.drain_timeout}.get(phase or "")
        self._arm(seconds)

    def _arm(self, seconds: float | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if seconds is not None:
            self._deadline = self.loop.call_later(seconds, self._expired)

    def _expired(self) -> None:
        """The phase's deadline passed: answer 408 if the client had started a request, and close."""
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._phase == "headers" and self.conn.their_state is h11.IDLE and self._has_partial_request():
            error = ApiError(408, HEADER_TIMEOUT_MESSAGE.format(seconds=self.header_timeout), code="request_timeout")
            self.transport.write(raw_error_response(error))
        self.transport.close()

    def _has_partial_request(self) -> bool:
        """Whether bytes of a next request are buffered (an idle keep-alive connection just closes)."""
        return bool(self.conn.trailing_data[0])


HOOKS = ("connection_made", "data_received", "on_response_complete", "connection_lost", "send_400_response")


def protocol_spec() -> str:
    """What uvicorn's `http=` gets: this protocol, or plain `h11` (with a warning) when the installed
    uvicorn no longer has the hooks it overrides (they are uvicorn internals, not public API)."""
    if all(callable(getattr(H11Protocol, hook, None)) for hook in HOOKS):
        return f"{__name__}:EmulatorH11Protocol"
    warnings.warn(
        "images-emulator: this uvicorn's h11 protocol changed; header/drain deadlines are off",
        RuntimeWarning,
        stacklevel=2,
    )
    return "h11"
