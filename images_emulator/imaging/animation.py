"""Animated GIFs (`output_format: "gif"`): the still placeholder, and a marker orbiting over it.

The picture is quantized to a palette once; each frame is a copy of it with the marker (a ring with
the frame number) drawn in reserved palette entries at the next point of a circle, so the frames differ
(Pillow stores only the changed rectangle of each frame) and the animation loops smoothly. No dithering,
no timestamps: the same request gives the same bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

COLOURS = 253  # palette entries for the picture; 253-254 are the marker, 255 the transparent pixel
MARKER_FILL, MARKER_TEXT, TRANSPARENT = 253, 254, 255
MARKER_RGB = ((255, 214, 10), (20, 20, 28))  # a yellow ring, dark digits
ALPHA_CUTOFF = 128  # GIF transparency is one bit: pixels below this alpha become transparent


PALETTE_SAMPLE = 256  # the palette is chosen on a 256x256 sample: 3x cheaper than on 1024x1024, as good here


def quantized(picture: Image.Image) -> Image.Image:
    """`picture` (RGB or RGBA) as a P image: up to COLOURS colours, then the marker's, then transparency."""
    rgb = picture.convert("RGB")
    sample = rgb.resize((PALETTE_SAMPLE, PALETTE_SAMPLE), Image.Resampling.NEAREST)
    chosen = sample.quantize(COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    indexed = rgb.quantize(palette=chosen, dither=Image.Dither.NONE)
    palette = (indexed.getpalette() or [])[: 3 * COLOURS]
    palette += [0] * (3 * COLOURS - len(palette))
    indexed.putpalette([*palette, *MARKER_RGB[0], *MARKER_RGB[1], 0, 0, 0])
    if picture.mode == "RGBA":
        clear = picture.getchannel("A").point(lambda a: 255 if a < ALPHA_CUTOFF else 0)
        indexed.paste(TRANSPARENT, (0, 0), clear)
    return indexed


def marker_position(size: tuple[int, int], frame: int, frames: int) -> tuple[float, float, float]:
    """(x, y, radius) of the marker in `frame` of `frames`: evenly spaced on a circle around the centre."""
    width, height = size
    radius = max(3.0, min(width, height) * 0.06)
    orbit = min(width, height) * 0.28
    angle = 2 * math.pi * frame / frames - math.pi / 2
    return width / 2 + orbit * math.cos(angle), height * 0.4 + orbit * 0.6 * math.sin(angle), radius


def frames_of(base: Image.Image, frames: int, font: ImageFont.FreeTypeFont) -> list[Image.Image]:
    """`frames` copies of the P image `base`, each with the marker at its own place."""
    result = []
    for frame in range(frames):
        image = base.copy()
        x, y, r = marker_position(base.size, frame, frames)
        draw = ImageDraw.Draw(image)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=MARKER_FILL)
        draw.text((x, y), str(frame + 1), fill=MARKER_TEXT, font=font, anchor="mm")
        result.append(image)
    return result


def encode_gif(frames: Sequence[Image.Image], duration_ms: int, transparent: bool) -> bytes:
    """An infinitely looping GIF of `frames`, each shown `duration_ms` (a multiple of 10)."""
    buf = io.BytesIO()
    options = {"transparency": TRANSPARENT, "disposal": 2} if transparent else {}
    frames[0].save(
        buf, "GIF", save_all=True, append_images=list(frames[1:]), duration=duration_ms, loop=0, **options
    )
    return buf.getvalue()


def animate(picture: Image.Image, frames: int, duration_ms: int, font: ImageFont.FreeTypeFont) -> bytes:
    """The animated GIF of a still `picture` (RGB, or RGBA for a transparent background)."""
    base = quantized(picture)
    return encode_gif(frames_of(base, frames, font), duration_ms, picture.mode == "RGBA")
