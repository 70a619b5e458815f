"""A bounded copy of a request body as the app reads it, summarized for the journal.

JSON (and other) bodies are kept up to TEE_LIMIT bytes. Multipart bodies are parsed incrementally as
they stream in: text fields are kept (up to FIELD_LIMIT bytes each) and files are summarized as
`{filename, content_type, bytes, width, height, mode}` from their first PEEK_LIMIT bytes, so memory
stays bounded whatever the upload size.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

from PIL import Image
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

TEE_LIMIT = 32 * 1024 * 1024  # JSON bodies larger than this are not journaled
STRING_LIMIT = 64 * 1024  # longer JSON strings (e.g. data URLs) are shortened in the journal
FIELD_LIMIT = 64 * 1024  # multipart text fields
PEEK_LIMIT = 256 * 1024  # bytes kept per file to read its dimensions


DEPTH_LIMIT = 32  # deeper JSON values are replaced by a note, so the journal always renders


def shorten(value: Any, depth: int = 0) -> Any:
    """`value` with strings over STRING_LIMIT cut to their first 64 characters and a length note, and
    arrays/objects nested deeper than DEPTH_LIMIT replaced by a note."""
    if isinstance(value, str) and len(value) > STRING_LIMIT:
        return f"{value[:64]}…[{len(value)} chars]"
    if isinstance(value, list | dict) and depth >= DEPTH_LIMIT:
        return f"…[nested deeper than {DEPTH_LIMIT} levels]"
    if isinstance(value, list):
        return [shorten(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: shorten(v, depth + 1) for k, v in value.items()}
    return value


def _finite_float(text: str) -> float | str:
    """JSON numbers too large for a float (1e400) stay text: the journal must render as strict JSON."""
    value = float(text)
    return value if math.isfinite(value) else text


def parse_json_value(raw: bytes | bytearray) -> Any:
    """A request body as JSON for the journal: NaN/Infinity literals (which Python's parser accepts)
    kept as strings. Raises ValueError or RecursionError (nesting beyond the parser's limit)."""
    return json.loads(raw, parse_constant=str, parse_float=_finite_float)


def image_facts(head: bytes) -> dict[str, Any]:
    """width, height and mode of an image from its first bytes (None when Pillow cannot tell)."""
    try:
        with Image.open(io.BytesIO(head)) as img:
            return {"width": img.width, "height": img.height, "mode": img.mode}
    except Exception:
        return {"width": None, "height": None, "mode": None}


class _Part:
    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.field = b""
        self.value = b""
        self.name = ""
        self.filename: str | None = None
        self.content_type: str | None = None
        self.size = 0

    def header_done(self) -> None:
        self.headers[self.field.decode("latin-1").lower()] = self.value.decode("latin-1")
        self.field = self.value = b""

    def headers_done(self) -> None:
        _, options = parse_options_header(self.headers.get("content-disposition", ""))
        self.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        self.filename = filename.decode("utf-8", "replace") if filename is not None else None
        self.content_type = self.headers.get("content-type")


class MultipartSummary:
    """Incremental multipart parser keeping only fields and file summaries."""

    def __init__(self, boundary: bytes) -> None:
        self.fields: list[tuple[str, Any]] = []
        self.failed = False
        self._part = _Part()
        self._data = bytearray()
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_header_field": lambda d, s, e: self._grow("field", d[s:e]),
                "on_header_value": lambda d, s, e: self._grow("value", d[s:e]),
                "on_header_end": lambda: self._part.header_done(),
                "on_headers_finished": lambda: self._part.headers_done(),
                "on_part_data": self._part_data,
                "on_part_end": self._end,
            },
        )

    def _grow(self, attr: str, data: bytes) -> None:
        setattr(self._part, attr, getattr(self._part, attr) + data)

    def _begin(self) -> None:
        self._part = _Part()
        self._data = bytearray()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        part.size += end - start
        limit = PEEK_LIMIT if part.filename is not None else FIELD_LIMIT
        room = limit - len(self._data)
        if room > 0:
            self._data += data[start : min(end, start + room)]

    def _end(self) -> None:
        part = self._part
        if part.filename is None:
            self.fields.append((part.name, bytes(self._data).decode("utf-8", "replace")))
            return
        summary = {"filename": part.filename, "content_type": part.content_type, "bytes": part.size}
        self.fields.append((part.name, {**summary, **image_facts(bytes(self._data))}))

    def feed(self, chunk: bytes) -> None:
        if self.failed:
            return
        try:
            self._parser.write(chunk)
        except MultipartParseError:
            self.failed = True

    def result(self) -> dict[str, Any] | None:
        """Fields by name; names ending in `[]` and repeated names map to lists."""
        if self.failed:
            return None
        body: dict[str, Any] = {}
        for name, value in self.fields:
            if name.endswith("[]"):
                body.setdefault(name, []).append(value)
            elif name in body:
                previous = body[name]
                body[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                body[name] = value
        return body


class BodyCapture:
    """Fed every request body chunk; `summary()` is the journal's `body`."""

    def __init__(self, content_type: str) -> None:
        media, options = parse_options_header(content_type)
        self.media = media.decode("latin-1").lower()
        boundary = options.get(b"boundary")
        self.multipart = MultipartSummary(boundary) if self.media == "multipart/form-data" and boundary else None
        self.raw = bytearray()
        self.size = 0
        self.overflow = False

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.multipart is not None:
            self.multipart.feed(chunk)
        elif len(self.raw) + len(chunk) <= TEE_LIMIT:
            self.raw += chunk
        else:
            self.overflow = True

    def summary(self) -> Any:
        """JSON value, multipart fields, text, or None (no body, too large or unreadable)."""
        if self.multipart is not None:
            return self.multipart.result()
        if self.size == 0 or self.overflow:
            return None
        try:
            return shorten(parse_json_value(self.raw))
        except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError), or too deep
            return shorten(bytes(self.raw[:STRING_LIMIT]).decode("utf-8", "replace"))
