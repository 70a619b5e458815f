"""Text for placeholders: Pillow's bundled font, what it can draw, and word wrapping by real glyph widths."""

from __future__ import annotations

import functools
import io
import threading
import unicodedata

from PIL import ImageFont

ELLIPSIS = "…"
FALLBACKS = {
    "\u2013": "-",
    "\u2014": "-",
    "\u2012": "-",
    "\u2212": "-",
    "\u2022": "·",
    "\u201a": ",",
    "\u201e": "“",
}
MIN_ADVANCE_EM = 0.17  # narrowest glyph of the bundled font ("'" is 0.18 em): bounds what can fit

FontT = ImageFont.FreeTypeFont


def wrap(text: str, size: int, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap at font `size` into at most `max_lines` lines, ending with … if cut.

    Only a prefix that could possibly fit is sanitized and measured, so 32k-char prompts are cheap.
    Widths are sums of cached per-character advances (exact: the BASIC layout does not kern).
    """
    budget = max_lines * (int(width / (size * MIN_ADVANCE_EM)) + 1)
    clean = sanitize(text[: budget * 2])
    truncated = len(text) > budget * 2 or len(clean) > budget
    words = clean[:budget].split()
    space = advance(size, " ")
    lines: list[str] = []
    line, line_w, i = "", 0.0, 0
    while i < len(words) and len(lines) < max_lines:
        word_w = text_width(words[i], size)
        if line and line_w + space + word_w <= width:
            line, line_w, i = f"{line} {words[i]}", line_w + space + word_w, i + 1
        elif line:
            lines.append(line)
            line, line_w = "", 0.0
        elif word_w <= width:
            line, line_w, i = words[i], word_w, i + 1
        else:  # a word longer than a whole line: hard break
            n = fit_chars(words[i], size, width, least=1)
            lines.append(words[i][:n])
            words[i] = words[i][n:]
    if line and len(lines) < max_lines:
        lines.append(line)
        line = ""
    cut = truncated or bool(line) or i < len(words)
    if not lines:
        return [""]
    if cut:
        n = fit_chars(lines[-1], size, width - advance(size, ELLIPSIS), least=0)
        lines[-1] = lines[-1][:n].rstrip() + ELLIPSIS
    return lines


def text_width(text: str, size: int) -> float:
    """Rendered width of single-line `text` in pixels."""
    return sum(advance(size, ch) for ch in text)


def fit_chars(text: str, size: int, width: float, least: int) -> int:
    """The largest n >= `least` such that text[:n] fits in `width`."""
    total = 0.0
    for n, ch in enumerate(text):
        total += advance(size, ch)
        if total > width:
            return max(n, least)
    return len(text)


@functools.lru_cache(maxsize=16384)
def advance(size: int, ch: str) -> float:
    return font(size).getlength(ch)


def sanitize(text: str) -> str:
    """Drawable single-line text: lone surrogates, controls and glyphs the font lacks are replaced,
    accents are stripped (é -> e), whitespace runs collapse to one space."""
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return " ".join("".join(drawable(ch) for ch in text).split())


@functools.lru_cache(maxsize=8192)
def drawable(ch: str) -> str:
    """`ch` itself if the bundled font has it, else an ASCII fallback, a space, nothing or "?"."""
    category = unicodedata.category(ch)
    if category in ("Cc", "Zs", "Zl", "Zp"):
        return " "
    if category == "Cf":
        return ""
    if has_glyph(ch):
        return ch
    if ch in FALLBACKS:
        return FALLBACKS[ch]
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if base and base != ch and all(has_glyph(c) for c in base):
        return base
    return "?"


@functools.lru_cache(maxsize=8192)
def has_glyph(ch: str) -> bool:
    """Whether the bundled font draws `ch` with something other than its missing-glyph box."""
    mask = font(20).getmask(ch)
    return (mask.size, bytes(mask)) != notdef_signature()


@functools.cache
def notdef_signature() -> tuple[tuple[int, int], bytes]:
    mask = font(20).getmask("\ue000")  # private-use: never in the font
    return mask.size, bytes(mask)


_fonts = threading.local()


def font(size: int) -> FontT:
    """Pillow's bundled Aileron at `size` px with the BASIC layout (same output with or without raqm).

    One instance per thread: FreeType faces must not be used from two threads at once.
    """
    cache: dict[int, FontT] = _fonts.__dict__.setdefault("by_size", {})
    loaded = cache.get(size)
    if loaded is None:
        bundled = ImageFont.load_default(size=size)
        if not isinstance(bundled, ImageFont.FreeTypeFont):  # Pillow without FreeType: bitmap font
            raise RuntimeError("Pillow was built without FreeType support")
        loaded = ImageFont.truetype(io.BytesIO(bundled.font_bytes), size, layout_engine=ImageFont.Layout.BASIC)
        cache[size] = loaded
    return loaded
