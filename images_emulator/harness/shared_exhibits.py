"""The answers of edits and variations, kept in a shared store so that any worker's dashboard shows them.

A generation another worker answered is drawn again from its journal entry (api/exhibits.redrawn); an
edit's or a variation's images come from its uploads, which are not journaled. So with a shared store
(SQLite, Redis) the answer as sent is written there too, for EXHIBIT_TTL seconds, before the response's
last byte (so a client that has its answer can look at it on any worker), when it fits the gallery's
bound; uploads stay with the worker that answered. When that worker develops the exhibit (the dashboard's
first look), it shares the uploads' previews too, by their index: a page listed by that worker may fetch
its thumbnails from another.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from images_emulator.harness.gallery import Exhibit, Picture
from images_emulator.harness.store import Backend, StoreUnavailable

log = logging.getLogger("images_emulator")
EXHIBIT_TTL = 600.0
KEY_PREFIX = "exhibit:"
PICTURE_PREFIX = "exhibit-picture:"


async def share(store: Backend, request_id: str, exhibit: Exhibit) -> None:
    """Write `exhibit`'s answer to `store` (a shared store only)."""
    if store.kind == "memory" or not exhibit.raw:
        return
    try:
        await store.blob_put(KEY_PREFIX + request_id, _framed(exhibit.content_type, *exhibit.raw), EXHIBIT_TTL)
    except StoreUnavailable:
        raise
    except Exception as exc:  # a dashboard nicety: never the answer's problem
        log.warning("could not share the answer of %s with the other workers: %s", request_id, exc)


async def shared(store: Backend, request_id: str) -> Exhibit | None:
    """The answer another worker shared, raw (to develop), or None."""
    if store.kind == "memory":
        return None
    data = await store.blob_get(KEY_PREFIX + request_id)
    if data is None:
        return None
    content_type, body = _unframed(data)
    return Exhibit(content_type, raw=(body,))


async def share_uploads(store: Backend, request_id: str, pictures: Sequence[Picture]) -> None:
    """Write the upload previews among a developed exhibit's `pictures`, by their index (a shared store only)."""
    if store.kind == "memory":
        return
    for index, shown in enumerate(pictures):
        if shown.role == "upload":
            await store.blob_put(_picture_key(request_id, index), _framed(shown.media_type, shown.data), EXHIBIT_TTL)


async def shared_upload(store: Backend, request_id: str, index: int) -> Picture | None:
    """The upload preview at `index` that the worker which answered `request_id` shared, or None."""
    if store.kind == "memory":
        return None
    data = await store.blob_get(_picture_key(request_id, index))
    if data is None:
        return None
    media_type, preview = _unframed(data)
    return Picture("upload", index, None, media_type, preview, preview)


def _picture_key(request_id: str, index: int) -> str:
    return f"{PICTURE_PREFIX}{request_id}:{index}"


def _framed(media_type: str, *chunks: bytes) -> bytes:
    """A stored value: the media type, a newline, then the bytes."""
    return b"".join((media_type.encode("latin-1"), b"\n", *chunks))


def _unframed(data: bytes) -> tuple[str, bytes]:
    """(media type, bytes) of a value `_framed` made."""
    media_type, _, body = data.partition(b"\n")
    return media_type.decode("latin-1"), body
