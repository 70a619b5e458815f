"""Encoding pictures deterministically (no timestamps, no metadata: the same picture, the same bytes).

* PNG: zlib level 1 with the Z_RLE strategy (Pillow's `compress_type=3`). On these smooth pictures
  it is as fast as level 1 and ~10% smaller; Pillow's default (level 6) is ~1.6x slower for ~15% less.
  A 1024x1024 picture is ~100-150 KB (up to ~350 KB for 1792x1024 full of text). No metadata chunks.
* JPEG: `quality = clamp(output_compression, 1, 100)`, baseline, 4:2:0. Transparent pictures are
  flattened onto white first.
* WebP: always lossy, `quality = clamp(output_compression, 0, 100)` (100 is lossy quality 100, not
  lossless: lossless is ~10x slower and several times larger for these gradients); alpha is stored
  losslessly, so transparent pixels stay exactly alpha 0. `method = WEBP_METHOD`.
"""

from __future__ import annotations

import io

from PIL import Image

PNG_COMPRESS_LEVEL = 1
PNG_ZLIB_STRATEGY = 3  # Z_RLE: as fast as level 1 and ~10% smaller for these smooth pictures
WEBP_METHOD = 2


def encode(img: Image.Image, output_format: str, output_compression: int = 100) -> bytes:
    """Encode deterministically with the options documented in the module docstring."""
    buf = io.BytesIO()
    fmt = output_format.lower()
    if fmt == "jpeg":
        if img.mode != "RGB":
            img = flatten(img)
        img.save(buf, "JPEG", quality=min(max(output_compression, 1), 100))
    elif fmt == "webp":
        quality = min(max(output_compression, 0), 100)
        img.save(buf, "WEBP", quality=quality, method=WEBP_METHOD)
    else:
        img.save(buf, "PNG", compress_level=PNG_COMPRESS_LEVEL, compress_type=PNG_ZLIB_STRATEGY)
    return buf.getvalue()


def flatten(img: Image.Image) -> Image.Image:
    """RGB on white (JPEG, and opaque fixture images)."""
    rgba = img.convert("RGBA")
    back = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(back, rgba).convert("RGB")
