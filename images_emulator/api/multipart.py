"""Parsing multipart/form-data bodies with bounded memory.

Text parts stay in memory (the whole body is capped by `max_body_bytes` and refused with 413 as soon
as it grows past it), files are spooled to temporary files that are deleted when the `async with`
block ends, whatever happens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from images_emulator.api.request_body import body_deadline, limited_stream, within
from images_emulator.contract.errors import ApiError

MAX_FILES = 64  # file parts parsed at all; more than the model's limit (16) gets the array_above_max_length error
MAX_FIELDS = 100  # text parts


@dataclass
class Form:
    """A parsed multipart body: every part in order (text parts as str, file parts as UploadFile)."""

    items: list[tuple[str, str | UploadFile]]

    @property
    def body(self) -> dict[str, Any]:
        """name → value for validation (a repeated name keeps its last value)."""
        return dict(self.items)

    def parts(self, *names: str) -> list[tuple[str, str | UploadFile]]:
        return [(name, value) for name, value in self.items if name in names]


class WholeBodyParser(MultiPartParser):
    """Starlette's parser, which also tells whether the body reached its closing boundary (`--BOUNDARY--`):
    python-multipart ends a body without one silently, dropping the part it was in."""

    closed = False

    def on_end(self) -> None:
        self.closed = True


def unparsable(reason: str) -> ApiError:
    return ApiError(
        400,
        f"Could not parse the multipart/form-data body: {reason} "
        "Send the parameters as multipart/form-data fields and the images as file parts.",
    )


@asynccontextmanager
async def read_form(request: Request, limit: int, timeout: float | None = None) -> AsyncIterator[Form]:
    """The multipart body of `request` (413 past `limit` bytes, 408 after `timeout` seconds); its
    temporary files are deleted when the block exits."""
    parser = WholeBodyParser(
        request.headers,
        limited_stream(request, limit),
        max_files=MAX_FILES,
        max_fields=MAX_FIELDS,
        max_part_size=limit,
    )
    try:
        # the parser closes its temporary files itself when it fails
        form = await within(body_deadline(request, timeout), parser.parse())
    except MultiPartException as exc:
        raise unparsable(exc.message) from exc
    try:
        if not parser.closed:
            raise unparsable("it ended before its closing boundary (a body cut short).")
        yield Form(list(form.multi_items()))
    finally:
        await form.close()
