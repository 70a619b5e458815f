"""What image requests returned, for the dashboard: per request id, bounded in bytes, the oldest dropped.

Capturing costs the request nothing but references: the response body as it was sent (the bytes already
produced, base64 and all) and the uploads' bytes. Only when the dashboard (or the CI artifacts) asks is
an exhibit *developed* (api/exhibits.py, off the event loop): the images decoded, thumbnails made, the
response kept without its base64, the raw body let go.

Per process, by design: an exhibit lives in the worker that answered (docs/choices.md).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Picture:
    """One image of an exhibit: returned (`final`, or a stream's `partial`) or uploaded (`upload`)."""

    role: str  # "final" | "partial" | "upload" (an upload's `data` is its thumbnail)
    index: int  # the image's index in the response (an upload's position)
    partial: int | None  # partial_image_index of a stream's preview
    media_type: str
    data: bytes  # the image as the client got (or sent) it
    thumbnail: bytes  # WebP, at most THUMBNAIL_PX on its longer side

    def meta(self) -> dict[str, Any]:
        return {"role": self.role, "index": self.index, "partial": self.partial, "media_type": self.media_type,
                "bytes": len(self.data)}  # fmt: skip


def footprint(image: Any) -> int:
    """The memory a decoded image holds (RGBA at most)."""
    return int(getattr(image, "width", 0)) * int(getattr(image, "height", 0)) * 4


@dataclass
class Exhibit:
    """One request's answer and uploads: raw until developed."""

    content_type: str
    raw: tuple[bytes, ...] = ()  # the response body chunks as sent
    uploads: tuple[Any, ...] = ()  # the decoded uploads (PIL images, the working copies validation made)
    developed: bool = False
    response: Any = None  # the response JSON (a stream: its events) with the base64 left out
    pictures: list[Picture] = field(default_factory=list)

    def size(self) -> int:
        kept = sum(map(len, self.raw)) + 512
        if self.uploads:
            kept += sum(footprint(image) for image in self.uploads)
        if self.pictures:
            kept += sum(len(p.data) + len(p.thumbnail) for p in self.pictures)
        return kept


class Gallery:
    """Exhibits by request id, at most `max_bytes` in all (0 keeps none); thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[Exhibit, int]] = OrderedDict()  # oldest first
        self._size = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def keep(self, request_id: str, exhibit: Exhibit) -> None:
        """Store (or replace) the exhibit of `request_id`, dropping the oldest past the bound; uploads too
        large to fit are let go first (the answer is what the dashboard shows best)."""
        size = exhibit.size()
        if size > self.max_bytes and exhibit.uploads:
            exhibit = replace(exhibit, uploads=())
            size = exhibit.size()
        with self._lock:
            old = self._items.pop(request_id, None)
            if old is not None:
                self._size -= old[1]
            if size > self.max_bytes:
                return
            self._items[request_id] = (exhibit, size)
            self._size += size
            while self._size > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._size -= dropped

    def fits(self, exhibit: Exhibit) -> bool:
        """Whether `exhibit`'s answer alone is within the bound."""
        return 0 < sum(map(len, exhibit.raw)) <= self.max_bytes

    def get(self, request_id: str) -> Exhibit | None:
        with self._lock:
            found = self._items.get(request_id)
            return found[0] if found is not None else None

    def replace(self, request_id: str, exhibit: Exhibit) -> None:
        """Swap in the developed exhibit, if the raw one is still kept (it may have been dropped meanwhile)."""
        with self._lock:
            if request_id not in self._items:
                return
        self.keep(request_id, exhibit)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0

    @property
    def size(self) -> int:
        return self._size
