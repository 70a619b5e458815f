"""SVG documents (`output_format: "svg"`): the placeholder drawn as vector shapes and text.

A well-formed SVG 1.1 document of exactly the requested width and height: a seed-coloured gradient
with soft blobs (or, for a transparent background, a rounded card), the dark panel with the prompt and
the caption, and the prompt and the request parameters in `<title>` / `<desc>` for tools that read
them. Text is escaped for XML (characters XML 1.0 cannot carry become U+FFFD); numbers are rounded to
two decimals; nothing depends on the clock, so the same request gives the same bytes.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

# Characters XML 1.0 cannot carry (controls but tab/LF/CR, surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
FONT_FAMILY = "Aileron, Helvetica, Arial, sans-serif"


def xml_text(text: str) -> str:
    """`text` escaped for XML character data (as xml.sax.saxutils.escape, which imports urllib.request: 60 ms
    of start-up here)."""
    return _NOT_XML.sub("\ufffd", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _n(value: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _hex(rgb: Sequence[int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb[:3])


@dataclass(frozen=True)
class Panel:
    """The text panel's font sizes (px), spacing and wrapped lines."""

    size_p: int  # prompt
    size_c: int  # caption
    margin: int
    pad: int
    lh_p: int  # line heights
    lh_c: int
    prompt: tuple[str, ...]
    caption: tuple[str, ...]

    @property
    def height(self) -> int:
        return 2 * self.pad + len(self.prompt) * self.lh_p + self.pad // 2 + len(self.caption) * self.lh_c


def colours_from(image: Image.Image) -> list[str]:
    """Four gradient colours that summarize `image` (its corners, averaged): an edit's SVG keeps its palette."""
    small = image.convert("RGB").resize((2, 2), Image.Resampling.BOX)
    return [_hex(small.getpixel(xy)) for xy in ((0, 0), (1, 0), (1, 1), (0, 1))]  # type: ignore[arg-type]


def _lines(lines: Sequence[str], x: int, top: int, size: int, line_height: int, fill: str) -> str:
    """`<text>` elements, one per line, the first line's top at `top` (SVG places text by its baseline)."""
    return "".join(
        f'<text x="{x}" y="{top + i * line_height + round(size * 0.9)}" font-size="{size}" fill="{fill}">'
        f"{xml_text(line)}</text>"
        for i, line in enumerate(lines)
    )


def svg_document(
    *,
    width: int,
    height: int,
    seed: int,
    box: tuple[int, int, int, int],
    transparent: bool,
    palette: Sequence[str],
    panel: Panel,
    title: str,
    description: str,
) -> bytes:
    """The UTF-8 bytes of one SVG placeholder: the picture area `box` (the card when `transparent`),
    filled from four `palette` colours, with `panel` at its bottom."""
    rng = random.Random(seed)
    short = min(width, height)
    stops = "".join(
        f'<stop offset="{_n(i / (len(palette) - 1))}" stop-color="{colour}"/>' for i, colour in enumerate(palette)
    )
    angle = rng.uniform(0, 360)
    blobs = "".join(
        f'<ellipse cx="{_n(rng.uniform(0, width))}" cy="{_n(rng.uniform(0, height))}" '
        f'rx="{_n(rng.uniform(0.12, 0.35) * short)}" ry="{_n(rng.uniform(0.12, 0.35) * short)}" '
        f'fill="#ffffff" fill-opacity="{_n(rng.uniform(0.12, 0.3))}"/>'
        for _ in range(rng.randint(3, 5))
    )
    left, top, right, bottom = box
    radius = round(short * 0.06) if transparent else 0
    area = f'x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" rx="{radius}"'
    px, py = left + panel.margin, bottom - panel.margin - panel.height
    top = py + panel.pad
    caption_top = top + len(panel.prompt) * panel.lh_p + panel.pad // 2
    text = _lines(panel.prompt, px + panel.pad, top, panel.size_p, panel.lh_p, "#ffffff")
    text += _lines(panel.caption, px + panel.pad, caption_top, panel.size_c, panel.lh_c, "#bed7ff")
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">\n'
        f"<title>{xml_text(title)}</title>\n<desc>{xml_text(description)}</desc>\n"
        f'<defs><linearGradient id="bg" gradientTransform="rotate({_n(angle)} 0.5 0.5)">{stops}</linearGradient>'
        '<filter id="soft" x="-50%" y="-50%" width="200%" height="200%">'
        f'<feGaussianBlur stdDeviation="{_n(short / 14)}"/></filter>'
        f'<clipPath id="area"><rect {area}/></clipPath></defs>\n'
        f'<g clip-path="url(#area)"><rect {area} fill="url(#bg)"/><g filter="url(#soft)">{blobs}</g></g>\n'
        f'<rect x="{px}" y="{py}" width="{right - panel.margin - px}" height="{panel.height}" rx="{panel.pad}" '
        'fill="#0c0e16" fill-opacity="0.75"/>\n'
        f'<g font-family="{xml_text(FONT_FAMILY)}">{text}</g>\n'
        "</svg>\n"
    )
    return document.encode("utf-8")


def svg_with_picture(width: int, height: int, png: bytes, *, title: str, description: str) -> bytes:
    """An SVG document that shows a raster picture (a fixture image), embedded as a PNG data URL."""
    data = base64.b64encode(png).decode("ascii")
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">\n'
        f"<title>{xml_text(title)}</title>\n<desc>{xml_text(description)}</desc>\n"
        f'<image x="0" y="0" width="{width}" height="{height}" href="data:image/png;base64,{data}" '
        f'xlink:href="data:image/png;base64,{data}"/>\n'
        "</svg>\n"
    )
    return document.encode("utf-8")
