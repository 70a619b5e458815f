"""Deterministic placeholder pictures for generations, edits, variations and streamed partials.

Every picture is a pure function of its `RenderSpec` (plus, for edits/variations, the decoded input
images): a smooth seed-coloured background (or the user's input images), a dark rounded panel with the
prompt and a caption listing the request parameters. No timestamps or metadata are written, so the same
spec always encodes to the same bytes.

Cost is dominated by the encoder: the background is a small luminance field (gradient + soft blobs)
upscaled once and mapped through a seed-derived 256-colour palette, and text is drawn only for what fits.

Encoding is encode.py; text measuring and wrapping, text.py.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from images_emulator.imaging.animation import animate
from images_emulator.imaging.encode import encode
from images_emulator.imaging.text import font, wrap
from images_emulator.imaging.vector import Panel, colours_from, svg_document, svg_with_picture

PARTIAL_GRID = (32, 64, 128)  # cells along the short side for the coarsest..finest partial
PARTIAL_MIN_CELL = (8, 5, 3)  # px
MAX_PROMPT_LINES = 8
VARIATION_FLIPS = (
    None,
    Image.Transpose.FLIP_LEFT_RIGHT,
    Image.Transpose.FLIP_TOP_BOTTOM,
    Image.Transpose.ROTATE_180,
)
RAMP = Image.linear_gradient("L").resize((64, 64), Image.Resampling.BILINEAR)  # read-only
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class RenderSpec:
    """Everything that determines one output picture."""

    model: str
    prompt: str
    width: int
    height: int
    quality: str  # concrete: low|medium|high|standard|hd
    background: str  # "opaque" | "transparent"
    output_format: str  # "png" | "jpeg" | "webp"
    output_compression: int  # 0..100; JPEG/WebP encoder quality (100 = best). Ignored for PNG.
    index: int = 0  # image index inside the response (0-based)
    style: str | None = None  # dall-e-3 vivid/natural, shown in the caption
    kind: str = "generation"  # "generation" | "edit" | "variation"
    inputs_digest: str = ""  # hex digest of input images+mask for edits/variations
    partial: int | None = None  # None = final image; k = k-th partial preview (0-based)
    partial_total: int = 0  # how many partials this stream sends (1..3)
    complexity: str | None = None  # as requested, shown in the caption
    frame_count: int = 1  # gif: frames of the animation
    frame_duration_ms: int = 0  # gif: delay of each frame
    svg_model: str | None = None  # svg: the author model
    svg_effort: str | None = None  # svg: the author's reasoning effort

    def seed(self) -> int:
        """Stable 64-bit seed from every field except `partial`/`partial_total` (sha256, not hash())."""
        fields: list[object] = [
            self.model, self.prompt, self.width, self.height, self.quality, self.background,
            self.output_format, self.output_compression, self.index, self.style, self.kind,
            self.inputs_digest,
        ]  # fmt: skip
        # Fields added later count only when set, so every earlier picture keeps its bytes.
        later = (self.complexity, self.frame_count, self.frame_duration_ms, self.svg_model, self.svg_effort)
        if later != (None, 1, 0, None, None):
            fields.append(list(later))
        blob = json.dumps(fields, ensure_ascii=True).encode("ascii")
        return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big")


def render(
    spec: RenderSpec,
    inputs: Sequence[Image.Image] = (),
    mask: Image.Image | None = None,
    markup: Image.Image | None = None,
) -> bytes:
    """Encoded image bytes (png/jpeg/webp/gif/svg) of exactly spec.width x spec.height."""
    if spec.output_format == "svg":
        return render_svg(spec, inputs)
    return encode_output(render_image(spec, inputs, mask, markup), spec)


def encode_output(picture: Image.Image, spec: RenderSpec) -> bytes:
    """A finished picture (a rendered one, or a fixture image) in `spec`'s output format: a still, an
    animated GIF, or an SVG document that carries the picture."""
    if spec.output_format == "gif":
        return animate(picture, spec.frame_count, spec.frame_duration_ms, font(_marker_font_size(spec)))
    if spec.output_format == "svg":
        png = encode(picture, "png")
        return svg_with_picture(spec.width, spec.height, png, title=_prompt_text(spec), description=_caption(spec))
    return encode(picture, spec.output_format, spec.output_compression)


def _marker_font_size(spec: RenderSpec) -> int:
    return max(8, round(min(spec.width, spec.height) * 0.05))


def render_svg(spec: RenderSpec, inputs: Sequence[Image.Image] = ()) -> bytes:
    """The placeholder as an SVG document: the same layout, colours from the seed (or an edit's input)."""
    rng = random.Random(spec.seed())
    palette = colours_from(inputs[0]) if inputs else ["#{:02x}{:02x}{:02x}".format(*c) for c in _stops(rng)]
    transparent = spec.background == "transparent"
    box = _content_box((spec.width, spec.height), transparent)
    return svg_document(
        width=spec.width,
        height=spec.height,
        seed=spec.seed(),
        box=(box.left, box.top, box.right, box.bottom),
        transparent=transparent,
        palette=palette,
        panel=_panel_layout(box, spec),
        title=_prompt_text(spec),
        description=_caption(spec),
    )


def render_image(
    spec: RenderSpec,
    inputs: Sequence[Image.Image] = (),
    mask: Image.Image | None = None,
    markup: Image.Image | None = None,
) -> Image.Image:
    """The picture before encoding: RGB, or RGBA when the background is transparent."""
    size = (spec.width, spec.height)
    rng = random.Random(spec.seed())
    if spec.kind == "edit" and inputs:
        img = _edit_base(size, rng, inputs, mask, markup)
    elif spec.kind == "variation" and inputs:
        img = _variation_base(size, rng, inputs[0], spec.index)
    else:
        img = _background(size, rng)
    content = _content_box(size, spec.background == "transparent")
    _draw_panel(img, content, spec)
    if spec.background == "transparent":
        img.putalpha(_card_alpha(size, content))
    if spec.partial is not None:
        img = pixelate(img, spec.partial, spec.partial_total)
    return img


# --- background -------------------------------------------------------------------------------------


def _background(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Seed-coloured smooth bands and soft blobs: a small luminance field upscaled once, then
    mapped through a 256-colour palette."""
    w, h = size
    sw, sh = max(8, -(-w // 8)), max(8, -(-h // 8))
    field = _gradient_field((sw, sh), rng)
    blobs = Image.new("L", (sw, sh), 0)
    draw = ImageDraw.Draw(blobs)
    short = min(sw, sh)
    for _ in range(rng.randint(3, 5)):
        cx, cy = rng.uniform(0, sw), rng.uniform(0, sh)
        rx, ry = rng.uniform(0.12, 0.35) * short, rng.uniform(0.12, 0.35) * short
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=rng.randint(40, 95))
    blobs = blobs.filter(ImageFilter.GaussianBlur(short / 14))
    field = ImageChops.add(field, blobs).resize(size, Image.Resampling.BILINEAR)
    field.putpalette(_palette(rng))
    return field.convert("RGB")


def _gradient_field(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A linear 0..160 ramp at a random angle, `size` pixels."""
    ramp = RAMP.rotate(rng.uniform(0, 360), Image.Resampling.BILINEAR)
    ramp = ramp.crop((10, 10, 54, 54))  # the part that stays inside after any rotation
    return ramp.resize(size, Image.Resampling.BILINEAR).point(lambda v: v * 160 // 255)


def _stops(rng: random.Random) -> list[RGB]:
    """4 harmonious colour stops."""
    hue = rng.random()
    step = rng.choice((0.08, 0.12, 0.33, 0.5))
    return [
        _hsv(hue + i * step + rng.uniform(-0.03, 0.03), rng.uniform(0.35, 0.8), rng.uniform(0.45, 0.95))
        for i in range(4)
    ]


def _palette(rng: random.Random) -> bytes:
    """256 RGB entries: 4 harmonious colour stops joined by linear ramps, i.e. soft colour bands."""
    stops = Image.new("RGB", (4, 1))
    for i, colour in enumerate(_stops(rng)):
        stops.putpixel((i, 0), colour)
    return stops.resize((256, 1), Image.Resampling.BILINEAR).tobytes()


def _hsv(h: float, s: float, v: float) -> RGB:
    """HSV (h wraps) to an 8-bit RGB triple."""
    h = (h % 1.0) * 6
    i, f = int(h), h - int(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    r, g, b = ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))[i % 6]
    return round(r * 255), round(g * 255), round(b * 255)


# --- edits and variations ----------------------------------------------------------------------------


def _edit_base(
    size: tuple[int, int],
    rng: random.Random,
    inputs: Sequence[Image.Image],
    mask: Image.Image | None,
    markup: Image.Image | None = None,
) -> Image.Image:
    """First input covering the canvas, the others as thumbnails, the mask's edit area hatched, the
    markup drawn over it and framed."""
    img = _fitted(inputs[0], size)
    lowest_alpha = cast(int, img.getchannel("A").getextrema()[0])
    if lowest_alpha < 255:  # let the background show through transparent input areas
        img = Image.alpha_composite(_background(size, rng).convert("RGBA"), img)
    if markup is not None:
        img = _with_markup(img, _fitted(markup, size))
    img = img.convert("RGB")
    if mask is not None:
        _hatch(img, _edit_area(mask, size))
    _thumbnails(img, inputs[1:])
    return img


def _with_markup(img: Image.Image, markup: Image.Image) -> Image.Image:
    """`markup` (RGBA, the canvas size) composited over `img`, its drawn area framed with a dashed box."""
    img = Image.alpha_composite(img, markup)
    box = markup.getchannel("A").point(lambda a: 255 if a >= 16 else 0).getbbox()
    if box is None:
        return img
    draw = ImageDraw.Draw(img)
    width = max(2, min(img.size) // 200)
    dash = 6 * width
    left, top, right, bottom = box[0], box[1], box[2] - 1, box[3] - 1
    for x in range(left, right, 2 * dash):
        for y in (top, bottom):
            draw.line((x, y, min(x + dash, right), y), fill=(0, 229, 255, 255), width=width)
    for y in range(top, bottom, 2 * dash):
        for x in (left, right):
            draw.line((x, y, x, min(y + dash, bottom)), fill=(0, 229, 255, 255), width=width)
    return img


def _variation_base(size: tuple[int, int], rng: random.Random, src: Image.Image, index: int) -> Image.Image:
    """The input, zoomed, flipped and hue-rotated by `index` (index 0 is recoloured too)."""
    w, h = size
    zoom = 1 + 0.08 * (index % 3) + rng.uniform(0, 0.04)
    big = _fitted(src, (round(w * zoom), round(h * zoom)))
    ox, oy = rng.randint(0, big.width - w), rng.randint(0, big.height - h)
    img = big.crop((ox, oy, ox + w, oy + h))
    flip = VARIATION_FLIPS[index % len(VARIATION_FLIPS)]
    if flip is not None:
        img = img.transpose(flip)
    back = Image.new("RGBA", size, (*_hsv(rng.random(), 0.3, 0.9), 255))
    img = Image.alpha_composite(back, img).convert("RGB")
    return img.convert("RGB", _hue_rotation(100 * (index + 1)))


def _hue_rotation(degrees: float) -> tuple[float, ...]:
    """RGB->RGB matrix rotating hue like CSS `hue-rotate()`; greys stay unchanged."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return (
        0.213 + c * 0.787 - s * 0.213, 0.715 - c * 0.715 - s * 0.715, 0.072 - c * 0.072 + s * 0.928, 0,
        0.213 - c * 0.213 + s * 0.143, 0.715 + c * 0.285 + s * 0.140, 0.072 - c * 0.072 - s * 0.283, 0,
        0.213 - c * 0.213 - s * 0.787, 0.715 - c * 0.715 + s * 0.715, 0.072 + c * 0.928 + s * 0.072, 0,
    )  # fmt: skip


def _to_rgba(img: Image.Image) -> Image.Image:
    """Any Pillow mode (P, LA, I;16, CMYK, 1, ...) as RGBA; unconvertible modes become grey."""
    try:
        if img.mode.startswith(("I", "F")):  # 16/32-bit greyscale: scale the used range to 0..255
            img = img.convert("F")
            high = float(img.getextrema()[1])  # type: ignore[arg-type]  # one band: (low, high)
            img = img.point(lambda v: v * (255 / high if high > 255 else 1)).convert("L")
        return img.convert("RGBA")
    except (ValueError, OSError):
        return Image.new("RGBA", img.size or (1, 1), (128, 128, 128, 255))


def _fitted(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`img` as RGBA covering `size`; common modes are scaled before converting (cheap for big inputs)."""
    if img.mode not in ("RGB", "RGBA", "L", "LA"):
        img = _to_rgba(img)
    return _to_rgba(_cover(img, size))


def _cover(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale and centre-crop `img` so it covers `size` exactly."""
    w, h = size
    iw, ih = max(img.width, 1), max(img.height, 1)
    scale = max(w / iw, h / ih)
    cw, ch = w / scale, h / scale
    box = (max(0.0, (iw - cw) / 2), max(0.0, (ih - ch) / 2), min(iw, (iw + cw) / 2), min(ih, (ih + ch) / 2))
    return img.resize(size, Image.Resampling.BILINEAR, box=box, reducing_gap=2.0)


def _edit_area(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """L image, 255 where the mask is fully transparent (the area to edit), scaled like inputs[0]."""
    if mask.mode in ("RGBA", "LA"):
        alpha = mask.getchannel("A")
    elif mask.mode in ("PA", "La", "RGBa") or "transparency" in mask.info:
        alpha = _to_rgba(mask).getchannel("A")
    else:
        alpha = mask if mask.mode == "L" else _to_rgba(mask).convert("L")
    area = alpha.point([255] + [0] * 255)
    return _cover(area, size).point(lambda v: 255 if v >= 128 else 0)


def _hatch(img: Image.Image, area: Image.Image) -> None:
    """Tint `area` magenta with diagonal white stripes, in place."""
    w, h = img.size
    if area.getbbox() is None:
        return
    overlay = Image.blend(img, Image.new("RGB", img.size, (255, 0, 200)), 0.55)
    draw = ImageDraw.Draw(overlay)
    gap = max(8, min(w, h) // 24)
    for x in range(-h, w, gap):
        draw.line((x, h, x + h, 0), fill=(255, 255, 255), width=max(1, gap // 5))
    img.paste(overlay, (0, 0), area)


def _thumbnails(img: Image.Image, thumbs: Sequence[Image.Image]) -> None:
    """Paste extra input images as a bordered row along the top edge, in place."""
    if not thumbs:
        return
    w, h = img.size
    short = min(w, h)
    margin, gap = max(4, short // 40), max(2, short // 100)
    side = int(min(short * 0.2, (w - 2 * margin) / len(thumbs) - gap))
    border = max(1, side // 30)
    if side < 4:
        return
    back = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    for i, thumb in enumerate(thumbs):
        tile = Image.alpha_composite(back, _fitted(thumb, (side, side)))
        x = margin + i * (side + gap)
        img.paste((255, 255, 255), (x - border, margin - border, x + side + border, margin + side + border))
        img.paste(tile.convert("RGB"), (x, margin))


# --- text panel --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Box:
    left: int
    top: int
    right: int
    bottom: int


def _content_box(size: tuple[int, int], card: bool) -> _Box:
    """The opaque area: the whole canvas, or the central rounded card for transparent pictures."""
    w, h = size
    inset = round(min(w, h) * 0.08) if card else 0
    return _Box(inset, inset, w - inset, h - inset)


def _card_alpha(size: tuple[int, int], box: _Box) -> Image.Image:
    """Alpha channel: 255 inside the rounded card, 0 elsewhere."""
    alpha = Image.new("L", size, 0)
    radius = round(min(size) * 0.06)
    ImageDraw.Draw(alpha).rounded_rectangle((box.left, box.top, box.right - 1, box.bottom - 1), radius, 255)
    return alpha


def _panel_layout(box: _Box, spec: RenderSpec) -> Panel:
    """The panel's font sizes, spacing and wrapped lines (raster pictures and SVG documents alike)."""
    short = min(box.right - box.left, box.bottom - box.top)
    size_p = round(min(max(short / 24, 12), 40))
    size_c = max(10, round(size_p * 0.68))
    margin, pad = max(4, round(short * 0.04)), max(4, round(size_p * 0.6))
    text_w = max(1, box.right - box.left - 2 * (margin + pad))
    lh_p, lh_c = round(size_p * 1.25), round(size_c * 1.3)
    caption = wrap(_caption(spec), size_c, text_w, 3)
    max_height = (box.bottom - box.top) * 0.5 - 2 * pad - len(caption) * lh_c - pad
    max_lines = min(MAX_PROMPT_LINES, max(1, int(max_height // lh_p)))
    prompt = wrap(_prompt_text(spec), size_p, text_w, max_lines)
    return Panel(size_p, size_c, margin, pad, lh_p, lh_c, tuple(prompt), tuple(caption))


def _draw_panel(img: Image.Image, box: _Box, spec: RenderSpec) -> None:
    """Dark translucent rounded panel at the bottom of `box` with the prompt and the caption."""
    layout = _panel_layout(box, spec)
    size_p, size_c, margin, pad = layout.size_p, layout.size_c, layout.margin, layout.pad
    lh_p, lh_c, prompt, caption = layout.lh_p, layout.lh_c, layout.prompt, layout.caption
    height = 2 * pad + len(prompt) * lh_p + pad // 2 + len(caption) * lh_c
    panel = (box.left + margin, box.bottom - margin - height, box.right - margin - 1, box.bottom - margin - 1)
    draw = ImageDraw.Draw(img, "RGBA")  # RGBA fills blend onto RGB pictures
    draw.rounded_rectangle(panel, pad, fill=(12, 14, 22, 190))
    x, y = panel[0] + pad, panel[1] + pad
    for line in prompt:
        draw.text((x, y), line, (255, 255, 255), font(size_p))
        y += lh_p
    y += pad // 2
    for line in caption:
        draw.text((x, y), line, (190, 215, 255), font(size_c))
        y += lh_c


def _caption(spec: RenderSpec) -> str:
    """One line of request parameters; `_wrap` breaks it if the picture is narrow."""
    parts = [
        spec.model, f"{spec.width}x{spec.height}", spec.quality, spec.output_format, spec.background,
        f"#{spec.index}", spec.kind,
    ]  # fmt: skip
    if spec.style:
        parts.append(spec.style)
    if spec.complexity:
        parts.append(f"complexity {spec.complexity}")
    if spec.output_format == "gif":
        parts.append(f"{spec.frame_count} frames of {spec.frame_duration_ms} ms")
    if spec.svg_model:
        parts.append(f"svg by {spec.svg_model} ({spec.svg_effort} effort)")
    if spec.partial is not None:
        parts.append(f"partial {spec.partial + 1}/{max(spec.partial_total, spec.partial + 1)}")
    return " · ".join(parts)


def _prompt_text(spec: RenderSpec) -> str:
    """The prompt, or a short description when there is none (variations)."""
    if spec.prompt.strip():
        return spec.prompt
    return {"variation": "(variation of the input image)", "edit": "(edit)"}.get(spec.kind, "(empty prompt)")


# --- partials and encoding ---------------------------------------------------------------------------


def pixelate(img: Image.Image, partial: int, total: int) -> Image.Image:
    """Coarse preview: the picture averaged over square cells, coarsest for the first partial.

    A stream of n partials uses the last n stages of PARTIAL_GRID, so its last partial is the finest
    stage, never the full picture; cells are at least PARTIAL_MIN_CELL px so small pictures stay coarse.
    """
    total = min(max(total, partial + 1, 1), len(PARTIAL_GRID))
    stage = len(PARTIAL_GRID) - total + min(max(partial, 0), total - 1)
    w, h = img.size
    cell = max(min(w, h) / PARTIAL_GRID[stage], PARTIAL_MIN_CELL[stage])
    small = (max(1, math.ceil(w / cell)), max(1, math.ceil(h / cell)))
    return img.resize(small, Image.Resampling.BOX).resize((w, h), Image.Resampling.NEAREST)
