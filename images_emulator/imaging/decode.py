"""Decoding uploaded images (blocking: call off the event loop), with memory bounded by their count.

Each file is read once to digest it (the render seed needs nothing else of its bytes), refused by its
header when it has too many pixels, decoded fully (truncated data fails here), checked against its
FileRules, and kept as a working copy downscaled to fit WORKING_BOX and turned upright (EXIF
orientation), so what a request holds does not grow with the size of what it sent. A decode larger
than the working box waits for any other one (the process holds one such image at a time) and is
downscaled strip by strip (no second full-size copy).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import threading
from collections.abc import Sequence
from typing import BinaryIO, Protocol

from PIL import Image

from images_emulator.contract import file_rules
from images_emulator.contract.errors import ApiError
from images_emulator.contract.file_rules import MAX_ASPECT_RATIO, MAX_INPUT_PIXELS, EditFileRules, FileRules
from images_emulator.contract.job import EditInputs, InputImage

WORKING_BOX = 2048  # decoded inputs are kept downscaled to fit this box (outputs are at most 1536 px)
MIME_BY_FORMAT = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg", "WEBP": "image/webp"}
EXIF_ORIENTATION = 0x0112
# EXIF orientation → the transpose that shows the image upright (as Pillow's ImageOps.exif_transpose).
ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
SWAPPING = tuple(ORIENTATIONS[k] for k in (5, 6, 7, 8))  # these exchange width and height
CHUNK = 1024 * 1024
STRIP_ROWS = 128  # rows of the working copy made at a time from a larger image
LARGE_DECODES = threading.Lock()  # one image larger than the working box decoded at a time


class Upload(Protocol):
    """An uploaded file as decoding needs it (api.image_parts.FilePart)."""

    @property
    def label(self) -> str: ...  # how messages name it: 'image', 'image[0]', 'images[0]', 'mask'

    @property
    def name(self) -> str: ...

    @property
    def filename(self) -> str: ...

    @property
    def content_type(self) -> str: ...

    def open(self) -> BinaryIO: ...


def decode_edit(
    rules: EditFileRules, images: Sequence[Upload], mask: Upload | None, markup: Upload | None
) -> EditInputs:
    """Decode and check every input image, the mask and the markup of an edit (contract §5.3, §16):
    the mask and the markup must have the first image's size (after EXIF orientation)."""
    inputs = tuple(decode(part, rules.image, index) for index, part in enumerate(images))
    extras: dict[str, InputImage | None] = {}
    for role, part, part_rules in (("mask", mask, rules.mask), ("markup", markup, rules.markup)):
        extra = extras[role] = None if part is None else decode(part, part_rules, 0)
        if extra is not None and extra.size != inputs[0].size:
            raise file_rules.size_mismatch(role, inputs[0].size, extra.size)
    return EditInputs(inputs, extras["mask"], extras["markup"])


def decode(part: Upload, rules: FileRules, index: int) -> InputImage:
    """Read `part` once (digest + size), decode it fully, apply `rules`, keep a bounded working copy."""
    source = part.open()
    source.seek(0)
    digest, size = _digest(source)
    if size >= rules.max_bytes:
        raise file_rules.file_too_large(part.label, size, rules)
    source.seek(0)
    try:
        img = Image.open(source)
    except Image.DecompressionBombError as exc:
        raise file_rules.too_many_pixels(part.label, rules, None) from exc
    except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, ValueError, struct.error...)
        raise file_rules.undecodable(part.label, rules, index) from exc
    try:
        if MIME_BY_FORMAT.get(img.format or "") not in rules.mime_types:
            raise file_rules.undecodable(part.label, rules, index)
        _check_header(part.label, rules, img)
        transpose = ORIENTATIONS.get(img.getexif().get(EXIF_ORIENTATION, 1))
        original = img.size[::-1] if transpose in SWAPPING else img.size
        working = _working_copy(img, part.label, rules)
        if transpose is not None:  # as viewers show it: its shape decides usage and `size=auto`
            working = working.transpose(transpose)
    except ApiError:
        raise
    except Exception as exc:
        raise file_rules.undecodable(part.label, rules, index) from exc
    finally:
        img.close()
    return InputImage(
        name=part.name,
        filename=part.filename,
        content_type=part.content_type,
        data=digest,
        image=working,
        original_size=original,
    )


def _digest(source: BinaryIO) -> tuple[bytes, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.digest(), size


def _check_header(label: str, rules: FileRules, img: Image.Image) -> None:
    """Header-level rules (nothing decoded yet): pixel count, aspect ratio, square, mode."""
    width, height = img.size
    if width < 1 or height < 1 or width * height > MAX_INPUT_PIXELS:
        raise file_rules.too_many_pixels(label, rules, (width, height))
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise file_rules.bad_dimensions(label, rules, f"an aspect ratio of at most {MAX_ASPECT_RATIO}:1", img.size)
    if rules.square and width != height:
        raise file_rules.bad_dimensions(label, rules, "an image with equal width and height", img.size)
    if rules.modes and img.mode not in rules.modes:
        raise file_rules.bad_mode(label, rules, img.mode)


def _working_copy(img: Image.Image, label: str, rules: FileRules) -> Image.Image:
    """Fully decode `img` and return a detached copy in a common mode that fits WORKING_BOX (checking,
    for a markup, that it has a fully transparent pixel at full resolution)."""
    width, height = img.size
    scale = min(1.0, WORKING_BOX / max(width, height))
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    if img.format in ("JPEG", "MPO") and scale < 1:
        img.draft(img.mode, target)  # JPEG decodes at 1/2, 1/4 or 1/8 scale directly: less memory
    with _decoding(width * height):
        img.load()  # the whole file really decoded: truncated or corrupt data fails here
        if img.size == target:
            out = _common_mode(img)
            if rules.transparent_pixels and not _has_transparent_pixel(out):
                raise file_rules.no_transparent_pixel(label, rules)
            return out.copy() if out is img else out
        out, transparent = _shrink(img, target)
    if rules.transparent_pixels and not transparent:
        raise file_rules.no_transparent_pixel(label, rules)
    return out


def _decoding(pixels: int) -> contextlib.AbstractContextManager[object]:
    """Decoding `pixels`: an image larger than the working box waits for any other such decode, so a
    process holds at most one large decoded image (50 Mpx RGBA: 200 MB) whatever the concurrency."""
    return LARGE_DECODES if pixels > WORKING_BOX * WORKING_BOX else contextlib.nullcontext()


def _shrink(img: Image.Image, target: tuple[int, int]) -> tuple[Image.Image, bool]:
    """`img` in its common mode, resized to `target` strip by strip (Pillow's resize of an RGBA image
    makes a premultiplied copy of all of it first: 200 MB more for 50 Mpx), and whether it has a
    fully transparent pixel at full resolution."""
    width, height = img.size
    rows = height / target[1]
    out: Image.Image | None = None
    transparent = False
    for top in range(0, target[1], STRIP_ROWS):
        bottom = min(target[1], top + STRIP_ROWS)
        first, last = top * rows, bottom * rows
        crop_top, crop_bottom = max(0, int(first) - 2), min(height, math.ceil(last) + 2)  # 2 rows of context
        strip = _common_mode(img.crop((0, crop_top, width, crop_bottom)))
        transparent = transparent or _has_transparent_pixel(strip)
        box = (0.0, first - crop_top, float(width), last - crop_top)
        part = strip.resize((target[0], bottom - top), Image.Resampling.BILINEAR, box=box)
        if out is None:
            out = Image.new(part.mode, target)
        out.paste(part, (0, top))
    assert out is not None
    return out, transparent


def _has_transparent_pixel(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA") and img.getchannel("A").getextrema()[0] == 0


def _common_mode(img: Image.Image) -> Image.Image:
    """1/L/LA/RGB/RGBA as they are; palette and premultiplied modes to RGBA; 16/32-bit grey to L."""
    if img.mode in ("1", "L", "LA", "RGB", "RGBA"):
        return img
    if img.mode.startswith(("I", "F")):
        grey = img.convert("F")
        high = grey.getextrema()[1]
        factor = 255 / high if isinstance(high, (int, float)) and high > 255 else 1
        return grey.point(lambda v: v * factor).convert("L")
    if img.mode in ("P", "PA", "La", "RGBa") or "transparency" in img.info:
        return img.convert("RGBA")
    return img.convert("RGB")
