"""Placeholder rendering: sizes, formats, determinism, transparency, partials, edits, variations, text."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageStat

from images_emulator.imaging.render import RenderSpec, render
from images_emulator.imaging.text import ELLIPSIS, font, sanitize, text_width, wrap

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "A ginger cat wearing tiny sunglasses on a striped beach chair at sunset"
SIZES = [(256, 256), (512, 512), (1024, 1024), (1024, 1536), (1536, 1024), (1024, 1792), (1792, 1024)]
PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def spec(**overrides: object) -> RenderSpec:
    base = RenderSpec(
        model="gpt-image-1",
        prompt=PROMPT,
        width=256,
        height=256,
        quality="high",
        background="opaque",
        output_format="png",
        output_compression=100,
    )
    return replace(base, **overrides)


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def fraction(img: Image.Image, predicate: object) -> float:
    """Share of pixels (RGB) for which predicate(r, g, b) holds."""
    data = img.convert("RGB").tobytes()
    pixels = zip(data[0::3], data[1::3], data[2::3], strict=True)
    return sum(1 for p in pixels if predicate(*p)) / (img.width * img.height)  # type: ignore[operator]


def top(img: Image.Image, share: float = 0.4) -> Image.Image:
    """The upper part of a picture, away from the text panel at the bottom."""
    return img.crop((0, 0, img.width, int(img.height * share)))


def solid(color: tuple[int, int, int], size: tuple[int, int] = (64, 64)) -> Image.Image:
    return Image.new("RGB", size, color)


# --- sizes, formats, determinism ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_output_has_exact_size_and_format(fmt: str, width: int, height: int) -> None:
    img = decode(render(spec(width=width, height=height, output_format=fmt, output_compression=80)))
    assert img.size == (width, height)
    assert img.format == PIL_FORMATS[fmt]


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_same_spec_renders_identical_bytes(fmt: str) -> None:
    s = spec(output_format=fmt, output_compression=70, index=3, style="vivid")
    assert render(s) == render(s)


def test_rendering_from_many_threads_gives_identical_bytes() -> None:
    s = spec(width=512, height=512)
    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(lambda _: render(s), range(8)))
    assert len(set(outputs)) == 1


def test_seed_is_stable_across_processes() -> None:
    code = (
        "from images_emulator.imaging.render import RenderSpec as R;"
        "print(R('dall-e-3','x \\u00e9',1024,1792,'hd','opaque','png',100,style='vivid').seed())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    out = {subprocess.check_output([sys.executable, "-c", code], cwd=ROOT, env=env, text=True) for _ in range(2)}
    here = RenderSpec("dall-e-3", "x é", 1024, 1792, "hd", "opaque", "png", 100, style="vivid").seed()
    assert out == {f"{here}\n"}
    assert 0 <= here < 2**64


def test_seed_ignores_partial_fields_only() -> None:
    s = spec()
    assert replace(s, partial=1, partial_total=3).seed() == s.seed()
    for change in (
        {"index": 1},
        {"prompt": "x"},
        {"inputs_digest": "ab"},
        {"kind": "edit"},
        {"style": "vivid"},
    ):
        assert replace(s, **change).seed() != s.seed()


def test_different_prompt_gives_different_picture() -> None:
    a, b = render(spec(prompt="a red fox")), render(spec(prompt="a blue whale"))
    assert a != b
    assert ImageStat.Stat(ImageChops.difference(top(decode(a)), top(decode(b)))).mean[0] > 5


def test_different_index_gives_visibly_different_pictures() -> None:
    tops = [top(decode(render(spec(index=i)))) for i in range(4)]
    for i in range(4):
        for j in range(i + 1, 4):
            diff = ImageStat.Stat(ImageChops.difference(tops[i], tops[j])).mean
            assert sum(diff) > 15, (i, j, diff)


# --- transparency and compression ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_transparent_output_has_transparent_and_opaque_pixels(fmt: str) -> None:
    img = decode(render(spec(background="transparent", output_format=fmt, width=512, height=768)))
    assert img.mode == "RGBA"
    alpha = img.getchannel("A").histogram()
    total = img.width * img.height
    assert alpha[0] / total > 0.2  # the area around the card
    assert alpha[255] / total > 0.5  # the card itself
    assert img.getpixel((0, 0))[3] == 0
    assert img.getpixel((256, 384))[3] == 255


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_opaque_output_has_no_transparency(fmt: str) -> None:
    img = decode(render(spec(output_format=fmt)))
    assert img.mode == "RGB"
    assert "transparency" not in img.info


def test_transparent_jpeg_is_flattened_instead_of_failing() -> None:
    img = decode(render(spec(background="transparent", output_format="jpeg")))
    assert img.mode == "RGB"
    assert img.getpixel((0, 0)) > (240, 240, 240)  # flattened on white


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_lower_output_compression_gives_smaller_files(fmt: str) -> None:
    s = spec(output_format=fmt, width=1024, height=1024)
    low = render(replace(s, output_compression=10))
    high = render(replace(s, output_compression=95))
    assert len(low) < len(high)


@pytest.mark.parametrize("compression", [0, 1, 100])
def test_extreme_output_compression_values_encode(compression: int) -> None:
    for fmt in ("jpeg", "webp"):
        assert decode(render(spec(output_format=fmt, output_compression=compression))).size == (256, 256)


def test_png_1024_is_well_under_a_megabyte() -> None:
    assert len(render(spec(width=1024, height=1024, prompt="word " * 7000))) < 600_000


# --- partials ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_partials_have_final_size_and_format_but_differ(fmt: str) -> None:
    final = spec(output_format=fmt, width=1024, height=1536, output_compression=90)
    final_bytes = render(final)
    for k in range(3):
        data = render(replace(final, partial=k, partial_total=3))
        img = decode(data)
        assert (img.size, img.format) == ((1024, 1536), PIL_FORMATS[fmt])
        assert data != final_bytes


def test_transparent_partials_keep_transparency() -> None:
    img = decode(render(spec(background="transparent", partial=0, partial_total=2)))
    assert img.getchannel("A").histogram()[0] > 0.2 * 256 * 256


def detail(data: bytes) -> float:
    """Mean brightness difference between horizontal neighbours: high for sharp text, low for blocks."""
    img = decode(data).convert("L")
    w, h = img.size
    return ImageStat.Stat(ImageChops.difference(img.crop((1, 0, w, h)), img.crop((0, 0, w - 1, h)))).mean[0]


@pytest.mark.parametrize("size", [256, 1024])
def test_each_partial_has_less_detail_than_the_next_and_the_final(size: int) -> None:
    final = spec(width=size, height=size)
    stages = [replace(final, partial=k, partial_total=3) for k in range(3)] + [final]
    details = [detail(render(s)) for s in stages]
    assert details == sorted(details)
    assert len(set(details)) == 4, details


@pytest.mark.parametrize("size", [256, 512, 1792])
@pytest.mark.parametrize("total", [1, 2, 3])
def test_last_partial_is_still_clearly_coarser_than_final(total: int, size: int) -> None:
    final = spec(width=size, height=1024)
    last = replace(final, partial=total - 1, partial_total=total)
    assert detail(render(last)) < detail(render(final)) / 2


# --- edits ----------------------------------------------------------------------------------------------


def edit_spec(**overrides: object) -> RenderSpec:
    return spec(kind="edit", inputs_digest="d1", width=512, height=512, **overrides)


def test_edit_shows_the_input_image() -> None:
    img = decode(render(edit_spec(), [solid((220, 20, 20))]))
    assert fraction(img, lambda r, g, b: r > 180 and g < 60 and b < 60) > 0.5


def test_edit_shows_extra_inputs_as_thumbnails() -> None:
    img = decode(render(edit_spec(), [solid((220, 20, 20)), solid((20, 20, 220)), solid((20, 200, 20))]))
    assert fraction(img, lambda r, g, b: b > 180 and r < 60 and g < 60) > 0.01
    assert fraction(img, lambda r, g, b: g > 160 and r < 60 and b < 60) > 0.01


def test_edit_without_inputs_falls_back_to_a_generated_picture() -> None:
    assert decode(render(edit_spec())).size == (512, 512)


def test_edit_with_transparent_input_shows_background_through_it() -> None:
    clear = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    img = decode(render(edit_spec(), [clear]))
    assert fraction(top(img), lambda r, g, b: r + g + b < 30) < 0.1


def masked_halves(mask: Image.Image) -> tuple[float, float]:
    """Share of magenta-tinted pixels in the left and right halves of the upper picture."""
    img = decode(render(edit_spec(), [solid((220, 20, 20), (200, 200))], mask))
    upper = top(img)
    left = upper.crop((0, 0, 256, upper.height))
    right = upper.crop((256, 0, 512, upper.height))

    def magenta(r: int, g: int, b: int) -> bool:  # the red input tinted magenta, or a white stripe
        return b > 90

    return fraction(left, magenta), fraction(right, magenta)


def test_edit_mask_marks_the_transparent_area() -> None:
    mask = Image.new("RGBA", (200, 200), (0, 0, 0, 255))
    ImageDraw.Draw(mask).rectangle((0, 0, 99, 199), fill=(0, 0, 0, 0))  # left half: edit here
    left, right = masked_halves(mask)
    assert left > 0.5
    assert right < 0.02


def test_edit_mask_without_alpha_uses_black_as_edit_area() -> None:
    mask = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(mask).rectangle((100, 0, 199, 199), fill=0)  # right half: edit here
    left, right = masked_halves(mask)
    assert left < 0.02
    assert right > 0.5


def test_edit_fully_opaque_mask_marks_nothing() -> None:
    left, right = masked_halves(Image.new("RGBA", (200, 200), (0, 0, 0, 255)))
    assert left < 0.02
    assert right < 0.02


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "I;16", "F", "YCbCr", "HSV"])
def test_edit_accepts_input_images_in_any_mode(mode: str) -> None:
    src = Image.new("RGB", (90, 60), (200, 100, 50)).convert(mode)
    mask = Image.new("LA", (90, 60), (0, 0))
    img = decode(render(edit_spec(background="transparent"), [src, src], mask))
    assert img.size == (512, 512)


@pytest.mark.parametrize("size", [(1, 1), (3000, 40), (40, 3000)])
def test_edit_accepts_extreme_input_sizes(size: tuple[int, int]) -> None:
    inputs = [solid((10, 200, 10), size)] * 16
    assert decode(render(edit_spec(), inputs, Image.new("RGBA", (7, 7)))).size == (512, 512)


# --- variations ----------------------------------------------------------------------------------------


def variation(index: int, src: Image.Image) -> Image.Image:
    s = spec(model="dall-e-2", prompt="", kind="variation", inputs_digest="v1", width=512, height=512)
    return decode(render(replace(s, index=index), [src]))


def halves() -> Image.Image:
    """Black left half, white right half."""
    img = Image.new("RGB", (100, 100), (0, 0, 0))
    img.paste((255, 255, 255), (50, 0, 100, 100))
    return img


def test_variations_differ_by_index() -> None:
    tops = [top(variation(i, solid((220, 30, 30)))) for i in range(4)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert sum(ImageStat.Stat(ImageChops.difference(tops[i], tops[j])).mean) > 30


def test_variations_are_recognisably_derived_from_the_input() -> None:
    """Hue shifts keep black and white, and flips/zoom keep the big halves."""
    for i in range(4):
        upper = top(variation(i, halves()))
        assert fraction(upper, lambda r, g, b: max(r, g, b) < 40) > 0.3
        assert fraction(upper, lambda r, g, b: min(r, g, b) > 215) > 0.3


def test_variations_keep_a_solid_input_solid_and_saturated() -> None:
    upper = top(variation(1, solid((220, 30, 30))))
    assert len(upper.getcolors(512 * 512)) < 5
    r, g, b = upper.getpixel((10, 10))
    assert max(r, g, b) - min(r, g, b) > 120


# --- text ------------------------------------------------------------------------------------------------


WEIRD_PROMPTS = [
    "emoji 😀🐱‍👤👍🏽 flags 🇫🇷",
    "עברית ومرحبا بالعالم mixed RTL",
    "NUL\x00in\x00the\x00middle",
    "lone \ud800 surrogate",
    "\udfff\ud800 reversed pair",
    "\ud83d\ude00 surrogate pair written separately",
    "zero\u200bwidth\u200djoiner\u202eRTL-override\ufeffBOM",
    "e\u0301\u0301\u0301 combining Z̴̢̛a̸l̷g̶o̵",
    "\n\t\r\x0b\x0c controls \x1b[31m",
    "   ",
    "",
    "\uffff\ufffe\U0010ffff noncharacters",
    "中文提示词" * 200,
    "😀" * 32000,
    "x" * 32000,
    "a " * 16000,
]


@pytest.mark.parametrize("prompt", WEIRD_PROMPTS)
def test_weird_unicode_prompts_render(prompt: str) -> None:
    for s in (spec(prompt=prompt), spec(prompt=prompt, kind="edit"), spec(prompt=prompt, style=prompt[:50])):
        assert decode(render(s)).size == (256, 256)


def test_sanitize_replaces_what_the_font_cannot_draw() -> None:
    assert sanitize("caf\u00e9 \u2014 na\u00efve") == "cafe - naive"
    assert sanitize("a\x00b\n\tc\u200b") == "a b c"
    assert sanitize("x\ud800y") == "x?y"
    assert sanitize("😀 中") == "? ?"


def test_wrap_truncates_long_prompts_with_an_ellipsis_withintext_width() -> None:
    for text in ("word " * 7000, "x" * 32000, "😀" * 32000):
        lines = wrap(text, 30, 600, 5)
        assert len(lines) == 5
        assert lines[-1].endswith(ELLIPSIS)
        assert all(text_width(line, 30) <= 600 for line in lines)


def test_wrap_keeps_a_short_prompt_whole() -> None:
    lines = wrap(PROMPT, 30, 600, 5)
    assert " ".join(lines) == PROMPT
    assert 1 < len(lines) < 5


def test_wrap_width_matches_pillow_measurement() -> None:
    font27 = font(27)
    assert text_width("Hello, Wörld… AV To", 27) == font27.getlength("Hello, Wörld… AV To")


def test_bundled_font_is_scalable_without_system_fonts() -> None:
    assert isinstance(font(33), ImageFont.FreeTypeFont)
    assert font(33).getbbox("Hg")[3] > font(12).getbbox("Hg")[3]
