"""Rules that turn `auto` and omitted values into the concrete ones the response reports."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from images_emulator.contract.catalog import (
    GIF_DEFAULT_FRAME_MS,
    GIF_DEFAULT_FRAMES,
    GIF_MAX_FRAME_MS,
    SVG_DEFAULT_EFFORT,
    ModelSpec,
)
from images_emulator.contract.endpoints import Endpoint
from images_emulator.contract.job import InputImage, Job, SvgOptions

PORTRAIT_WORDS = re.compile(r"\b(portrait|vertical|tall|poster|phone wallpaper)\b", re.IGNORECASE)
LANDSCAPE_WORDS = re.compile(
    r"\b(landscape|horizontal|wide|widescreen|panorama|panoramic|banner)\b", re.IGNORECASE
)
TRANSPARENT_WORDS = re.compile(r"\b(transparent|no background|cut-?out|sticker)\b", re.IGNORECASE)


def _dims(size: str) -> tuple[int, int]:
    width, height = size.split("x")
    return int(width), int(height)


def resolve_size(
    requested: str | None,
    sizes: tuple[str, ...],
    default: str,
    prompt: str,
    input_size: tuple[int, int] | None,
) -> str:
    """`auto`: the size closest to the first input image's shape, else by words in the prompt, else square."""
    size = requested or default
    if size != "auto":
        return size
    concrete = [s for s in sizes if s != "auto"]
    if input_size is not None:
        ratio = input_size[0] / input_size[1]
        return min(concrete, key=lambda s: abs(_dims(s)[0] / _dims(s)[1] - ratio))
    if PORTRAIT_WORDS.search(prompt):
        wanted = "portrait"
    elif LANDSCAPE_WORDS.search(prompt):
        wanted = "landscape"
    else:
        wanted = "square"
    for s in concrete:
        width, height = _dims(s)
        shape = "square" if width == height else "portrait" if height > width else "landscape"
        if shape == wanted:
            return s
    return concrete[0]


def resolve_quality(requested: str | None, spec: ModelSpec, qualities: tuple[str, ...]) -> str:
    quality = requested or spec.default_quality
    return spec.auto_quality if quality == "auto" and "auto" in qualities else quality


def resolve_background(requested: str | None, prompt: str, output_format: str, backgrounds: tuple[str, ...]) -> str:
    """`auto`: transparent when the model offers it, the prompt asks for it and the format has alpha,
    else opaque."""
    background = requested or "auto"
    if background != "auto":
        return background
    if "transparent" in backgrounds and output_format != "jpeg" and TRANSPARENT_WORDS.search(prompt):
        return "transparent"
    return "opaque"


def gif_frame_ms(requested: int) -> int:
    """The encoded delay: rounded to the nearest 10 ms (GIF counts centiseconds, halves up), capped."""
    return min((requested + 5) // 10 * 10, GIF_MAX_FRAME_MS)


def resolve_svg(requested: SvgOptions | None, spec: ModelSpec) -> SvgOptions:
    """The SVG author: the requested one, else the image model itself; the effort, else the default."""
    requested = requested or SvgOptions()
    return SvgOptions(requested.model or spec.name, requested.effort or SVG_DEFAULT_EFFORT)


def safety_identifier(values: Mapping[str, Any]) -> str | None:
    """A non-empty `safety_identifier`, else the deprecated `user` when non-empty (PY-NEW)."""
    return values.get("safety_identifier") or values.get("user") or None


def build_job(
    endpoint: Endpoint,
    spec: ModelSpec,
    values: Mapping[str, Any],
    *,
    sizes: tuple[str, ...] | None = None,
    qualities: tuple[str, ...] | None = None,
    default_size: str | None = None,
    inputs: tuple[InputImage, ...] = (),
    mask: InputImage | None = None,
    markup: InputImage | None = None,
) -> Job:
    """A Job with every default applied and every `auto` resolved (sizes/qualities default to generations')."""
    prompt = values.get("prompt", "")
    output_format = values.get("output_format", "png")
    gif = output_format == "gif"
    return Job(
        endpoint=endpoint,
        spec=spec,
        prompt=prompt,
        n=values.get("n", 1),
        size=resolve_size(
            values.get("size"),
            sizes or spec.sizes,
            default_size or spec.default_size,
            prompt,
            inputs[0].size if inputs else None,
        ),
        quality=resolve_quality(values.get("quality"), spec, qualities or spec.qualities),
        response_format=values.get("response_format", spec.default_response_format or "b64_json"),
        output_format=output_format,
        output_compression=values.get("output_compression", 100),
        background=resolve_background(values.get("background"), prompt, output_format, spec.backgrounds)
        if spec.backgrounds
        else "opaque",
        style=values.get("style", spec.default_style),
        moderation=values.get("moderation", "auto"),
        stream=values.get("stream", False),
        partial_images=values.get("partial_images", 0),
        input_fidelity=values.get("input_fidelity", "low"),
        safety_identifier=safety_identifier(values),
        complexity=values.get("complexity"),
        frame_count=values.get("frame_count", GIF_DEFAULT_FRAMES) if gif else 1,
        frame_duration_ms=gif_frame_ms(values.get("frame_duration_ms", GIF_DEFAULT_FRAME_MS)) if gif else 0,
        svg=resolve_svg(values.get("svg"), spec) if output_format == "svg" else None,
        inputs=inputs,
        mask=mask,
        markup=markup,
    )
