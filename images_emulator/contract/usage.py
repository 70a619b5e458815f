"""Token usage for GPT image models (contract §7 shapes, §8 accounting). Pure, data-driven functions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from images_emulator.contract.catalog import SVG_REASONING_TOKENS, ModelSpec
from images_emulator.contract.job import Job
from images_emulator.contract.tokenizer import count_tokens

FIT_BOX = 2048  # input images are first fitted (downscaled only) into 2048x2048
TILE = 512  # ...then scaled so the shortest side is 512px and counted in 512px tiles
BASE_IMAGE_TOKENS = 65
TOKENS_PER_TILE = 129
HIGH_FIDELITY_SQUARE = 4096
HIGH_FIDELITY_OBLONG = 6144
PARTIAL_IMAGE_TOKENS = 100  # contract §8.2: "each partial image will incur an additional 100 ... tokens"
INPUT_FIDELITIES = ("low", "high")


def output_image_tokens(spec: ModelSpec, quality: str, size: str) -> int:
    """Output tokens for one image at a concrete `quality` and `size` (contract §8.1, per model)."""
    return spec.output_tokens_for(quality, size)


def _round_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, ties to even (exact, no floats)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient


def _is_squareish(width: int, height: int) -> bool:
    """Aspect ratio (long/short) nearer 1:1 than 3:2, i.e. at most 1.25 (5:4 itself is square)."""
    long_side, short_side = max(width, height), min(width, height)
    return 4 * long_side <= 5 * short_side


def input_image_tokens(width: int, height: int, input_fidelity: str = "low") -> int:
    """Input tokens for one edit input image of `width` x `height` pixels (contract §8.3).

    1. Fit within 2048x2048 keeping the aspect ratio (downscale only).
    2. Scale (up or down) so the shortest side is 512px.
    3. tokens = 65 + 129 * (number of 512px tiles, partial tiles counted).
    Each step rounds sides to whole pixels, to nearest with ties to even (min 1px). The real
    capture 1024x1025 -> 194 (512x512.5 -> 512x512, one tile) rules out ceil and ties-up; rounding
    (not flooring) at step 1 keeps e.g. 6000x2000 at 3 tiles like any other 3:1 image.
    `input_fidelity="high"` adds 4096 when the original image is closer to square than to 3:2
    (long/short <= 1.25, so 5:4 counts as square) and 6144 otherwise (portrait or landscape).
    Measured for gpt-image-1 only; assumed for 1.5/mini (UNVERIFIED).
    """
    if width < 1 or height < 1:
        raise ValueError(f"image dimensions must be positive, got {width}x{height}")
    if input_fidelity not in INPUT_FIDELITIES:
        raise ValueError(f"input_fidelity must be one of {INPUT_FIDELITIES}, got {input_fidelity!r}")
    long_side, short_side = max(width, height), min(width, height)
    if long_side > FIT_BOX:
        short_side = max(1, _round_div(short_side * FIT_BOX, long_side))
        long_side = FIT_BOX
    long_side = _round_div(long_side * TILE, short_side)  # short side becomes TILE: one tile across
    tiles = -(-long_side // TILE)
    tokens = BASE_IMAGE_TOKENS + TOKENS_PER_TILE * tiles
    if input_fidelity == "high":
        tokens += HIGH_FIDELITY_SQUARE if _is_squareish(width, height) else HIGH_FIDELITY_OBLONG
    return tokens


def image_usage(
    spec: ModelSpec,
    *,
    prompt: str,
    quality: str,
    size: str,
    n: int,
    input_images: Sequence[tuple[int, int]] = (),
    input_fidelity: str = "low",
    partial_images: int = 0,
    frames: int = 1,
    with_output_details: bool = True,
) -> dict[str, Any] | None:
    """The `usage` object for a request, or None for models without token usage (dall-e).

    Shaped like `ImageGenUsage` (or `ImagesUsage` with `with_output_details=False`, for stream
    events). `input_images` are the (width, height) of edit inputs; `partial_images` is the number of
    partial images actually sent per image (each adds 100 output tokens). Output tokens scale
    with `n`; input tokens are counted once regardless of `n` (UNVERIFIED choice, contract §8.1).
    A model whose edit rules fix the input fidelity (gpt-image-2: always high) ignores `input_fidelity`.
    """
    if not spec.usage:
        return None
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if partial_images < 0:
        raise ValueError(f"partial_images must not be negative, got {partial_images}")
    if spec.edits is not None and spec.edits.fixed_input_fidelity is not None:
        input_fidelity = spec.edits.fixed_input_fidelity
    text_tokens = count_tokens(prompt)
    image_tokens = sum(input_image_tokens(w, h, input_fidelity) for w, h in input_images)
    output_per_image = output_image_tokens(spec, quality, size) * frames
    output_tokens = output_per_image * n + PARTIAL_IMAGE_TOKENS * partial_images * n
    input_tokens = text_tokens + image_tokens
    usage: dict[str, Any] = {
        "input_tokens": input_tokens,
        "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
        "output_tokens": output_tokens,
    }
    if with_output_details:
        usage["output_tokens_details"] = {"image_tokens": output_tokens, "text_tokens": 0}
    usage["total_tokens"] = input_tokens + output_tokens
    return usage


def job_usage(job: Job, partial_images: int = 0, *, with_output_details: bool = True) -> dict[str, Any] | None:
    """`image_usage` for a validated job (its prompt, inputs and resolved quality/size)."""
    return image_usage(
        job.spec,
        prompt=job.prompt,
        quality=job.quality,
        size=job.size,
        n=job.n,
        input_images=[upload.size for upload in job.inputs],
        input_fidelity=job.input_fidelity,
        partial_images=partial_images,
        frames=job.frame_count,
        with_output_details=with_output_details,
    )


SVG_BYTES_PER_TOKEN = 4


def svg_usage(job: Job, document: bytes) -> dict[str, Any] | None:
    """`svg_usage` of an SVG job (None for other formats): the author reads the prompt and the reference
    image (counted like an input image at low fidelity) and writes the document (one token per 4 bytes)
    after reasoning (SVG_REASONING_TOKENS by effort). A documented rule: OpenAI publishes none."""
    if job.svg is None:
        return None
    reasoning = SVG_REASONING_TOKENS[job.svg.effort or "medium"]
    input_tokens = count_tokens(job.prompt) + input_image_tokens(job.width, job.height)
    output_tokens = -(-len(document) // SVG_BYTES_PER_TOKEN) + reasoning
    return {
        "input_tokens": input_tokens,
        "model": job.svg.model,
        "output_tokens": output_tokens,
        "reasoning_tokens": reasoning,
        "total_tokens": input_tokens + output_tokens,
    }
