"""A bounded summary of a request body for the journal, made as the body streams in.

Never a second full parse of the body: a JSON body the endpoint parsed is summarized from what it
parsed (`summarize`); any other body is kept as a short text preview. Multipart bodies are parsed
incrementally as they stream in: text fields are kept (up to FIELD_LIMIT bytes each) and files are
summarized as `{filename, content_type, bytes, width, height, mode}` from their first PEEK_LIMIT
bytes. Every summary fits JOURNAL_BODY_BYTES (UTF-8) and NODE_LIMIT values, so the journal is bounded
by its entry count: `--journal-size` entries of at most JOURNAL_BODY_BYTES of body and the 16 KiB of a
request head (server/connections.py). Fields
that hold a secret (api_key, password...) are masked (harness/redact.py).
"""

from __future__ import annotations

import functools
import io
import json
import math
from typing import Any

from PIL import Image
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from images_emulator.harness.redact import is_secret_field, mask_field, mask_text

JOURNAL_BODY_BYTES = 40 * 1024  # a body's summary, serialized, at most (1000 entries: 40 MiB at most)
PREVIEW_BYTES = 4096  # of a body that is not JSON the endpoint parsed
STRING_LIMIT = 32_000  # the longest prompt; longer strings (data URLs) keep their first 64 characters and length
ITEMS_LIMIT = 64  # longer arrays and objects keep this many items and a note
DEPTH_LIMIT = 8  # deeper values are replaced by a note
# Values kept per summary: a small value costs far more in memory than in JSON (an empty list: 2 bytes
# of JSON, 56 of Python), so the byte cap alone would let 1,000 entries of tiny containers hold a GiB.
NODE_LIMIT = 1000
FIELD_LIMIT = 1024  # multipart text fields
PEEK_LIMIT = 256 * 1024  # bytes kept per file to read its dimensions
HEADER_LIMIT = 8 * 1024  # a multipart part's header line
MAX_PARTS = 100  # parts summarized (the endpoints take at most 100 fields)
MAX_BOUNDARY = 200  # RFC 2046 allows 70: a longer one is not a body worth summarizing


def summarize(value: Any) -> Any:
    """`value` (parsed JSON) bounded for the journal: long strings, long arrays and objects, deep nesting
    and values past the NODE_LIMIT-th cut with a note; numbers JSON cannot carry (NaN, infinities) as text."""
    return _Summary().of(value, 0)


class _Summary:
    def __init__(self) -> None:
        self.nodes = 0

    def of(self, value: Any, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > NODE_LIMIT:
            return "…"
        if isinstance(value, str):
            return f"{value[:64]}…[{len(value)} chars]" if len(value) > STRING_LIMIT else value
        if isinstance(value, float) and not math.isfinite(value):
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        if isinstance(value, list | dict) and depth >= DEPTH_LIMIT:
            return f"…[nested deeper than {DEPTH_LIMIT} levels]"
        if isinstance(value, list):
            kept = [self.of(v, depth + 1) for v in value[:ITEMS_LIMIT]]
            return kept + ([f"…[{len(value)} items]"] if len(value) > ITEMS_LIMIT else [])
        if isinstance(value, dict):
            items = list(value.items())
            kept_items = {
                str(k)[:STRING_LIMIT]: mask_field(v) if is_secret_field(str(k)) else self.of(v, depth + 1)
                for k, v in items[:ITEMS_LIMIT]
            }
            if len(items) > ITEMS_LIMIT:
                kept_items["…"] = f"[{len(items)} keys]"
            return kept_items
        return value


def bounded(summary: Any) -> Any:
    """`summary`, or a preview of it when it serializes to more than JOURNAL_BODY_BYTES."""
    text = json.dumps(summary, ensure_ascii=False, separators=(",", ":"))
    size = len(text.encode("utf-8", "surrogatepass"))
    if size <= JOURNAL_BODY_BYTES:
        return summary
    return {"truncated": True, "summary_bytes": size, "preview": text[:PREVIEW_BYTES]}


def json_summary(parsed: Any) -> Any:
    """The journal's `body` for a JSON body the endpoint parsed."""
    return bounded(summarize(parsed))


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
        self.failed = len(boundary) > MAX_BOUNDARY  # not multipart the app will parse either
        self._part = _Part()
        self._data = bytearray()
        self._parser = MultipartParser(
            boundary[:MAX_BOUNDARY],
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
        grown = getattr(self._part, attr) + data
        if len(grown) > HEADER_LIMIT:
            raise MultipartParseError("a part header is too long for the journal")
        setattr(self._part, attr, grown)

    def _begin(self) -> None:
        self._part = _Part()
        self._data = bytearray()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        part.size += end - start
        limit = PEEK_LIMIT if part.filename is not None else FIELD_LIMIT
        if len(self.fields) >= MAX_PARTS:
            return
        room = limit - len(self._data)
        if room > 0:
            self._data += data[start : min(end, start + room)]

    def _end(self) -> None:
        part = self._part
        if len(self.fields) >= MAX_PARTS:
            return
        if part.filename is None:
            text = bytes(self._data).decode("utf-8", "replace")
            self.fields.append((part.name, mask_field(text) if is_secret_field(part.name) else text))
            return
        summary = {"filename": part.filename, "content_type": part.content_type, "bytes": part.size}
        self.fields.append((part.name, {**summary, **image_facts(bytes(self._data))}))

    def feed(self, chunk: bytes) -> None:
        if self.failed:
            return
        try:
            self._parser.write(chunk)
        except (MultipartParseError, ValueError):
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


@functools.lru_cache(maxsize=64)
def media_and_boundary(content_type: str) -> tuple[str, bytes | None]:
    """A content type's lower-case media type and multipart boundary (clients repeat theirs)."""
    media, options = parse_options_header(content_type)
    return media.decode("latin-1").lower(), options.get(b"boundary")


class BodyCapture:
    """Fed every request body chunk; `summary()` is the journal's `body`."""

    def __init__(self, content_type: str) -> None:
        self.media, boundary = media_and_boundary(content_type)
        self.multipart = MultipartSummary(boundary) if self.media == "multipart/form-data" and boundary else None
        self.preview = bytearray()
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.multipart is not None:
            self.multipart.feed(chunk)
        elif len(self.preview) < PREVIEW_BYTES:
            self.preview += chunk[: PREVIEW_BYTES - len(self.preview)]

    def summary(self, parsed: Any = None) -> Any:
        """The journal's `body`: `parsed` (the JSON the endpoint parsed, if any) summarized, the multipart
        fields, a text preview, or None (no body, or one the journal cannot summarize)."""
        if parsed is not None:
            return json_summary(parsed)
        if self.multipart is not None:
            result = self.multipart.result()
            return bounded(result) if result is not None else None
        if self.size == 0:
            return None
        text = mask_text(bytes(self.preview).decode("utf-8", "replace"))
        return text if self.size <= PREVIEW_BYTES else f"{text}…[{self.size} bytes]"
