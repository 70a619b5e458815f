"""Small previews of encoded images, for the dashboard (blocking: run off the event loop)."""

from __future__ import annotations

import io

from PIL import Image, ImageOps

THUMBNAIL_PX = 160  # the longer side
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
SVG = "image/svg+xml"


def media_type(data: bytes) -> str:
    """The media type of an encoded image (SVG by its text), or application/octet-stream."""
    head = data[:512].lstrip()
    if head.startswith(b"<?xml") or head.startswith(b"<svg"):
        return SVG
    try:
        with Image.open(io.BytesIO(data)) as img:
            return MEDIA_TYPES.get(img.format or "", "application/octet-stream")
    except Exception:
        return "application/octet-stream"


def small(img: Image.Image) -> bytes:
    """`img` as a WebP at most THUMBNAIL_PX on its longer side."""
    copy = img.convert("RGBA")
    copy.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    copy.save(out, "WEBP", quality=80, method=2)
    return out.getvalue()


def thumbnail(data: bytes) -> bytes:
    """A WebP at most THUMBNAIL_PX on its longer side (an SVG is its own preview: a browser scales it);
    b"" for bytes Pillow cannot read."""
    if media_type(data) == SVG:
        return data
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.seek(0)  # an animation's first frame
            upright = ImageOps.exif_transpose(img).convert("RGBA")
    except Exception:
        return b""
    return small(upright)
