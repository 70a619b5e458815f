"""Per-model capabilities: the single source of truth for validation, defaults, usage and docs.

Adding a model is adding one `ModelSpec` to `MODELS`. Tuples keep the order OpenAI uses when it
lists supported values in error messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Family = Literal["dall-e", "gpt-image"]

# Output image tokens per image, contract §8.1 (gpt-image-1, -1.5; -1-mini assumed the same).
GPT_IMAGE_OUTPUT_TOKENS: MappingProxyType[tuple[str, str], int] = MappingProxyType(
    {
        ("low", "1024x1024"): 272,
        ("low", "1024x1536"): 408,
        ("low", "1536x1024"): 400,
        ("medium", "1024x1024"): 1056,
        ("medium", "1024x1536"): 1584,
        ("medium", "1536x1024"): 1568,
        ("high", "1024x1024"): 4160,
        ("high", "1024x1536"): 6240,
        ("high", "1536x1024"): 6208,
    }
)

# gpt-image-2 output image tokens (contract §8.1): a community-derived formula (UNVERIFIED as official)
# that reproduces the official calculator's 1024x1024/high=7024, 1536x1024/high=5488, 1024x1024/low=196.
GPT_IMAGE_2_QUALITY_FACTORS: MappingProxyType[str, int] = MappingProxyType({"low": 16, "medium": 48, "high": 96})

_WXH = re.compile(r"([1-9][0-9]{0,8})x([1-9][0-9]{0,8})")  # bounded: int() refuses huge digit strings


def parse_size(size: str) -> tuple[int, int] | None:
    """(width, height) of a `WxH` string (positive decimal integers of ≤ 9 digits, no spaces), else None."""
    match = _WXH.fullmatch(size)
    return (int(match[1]), int(match[2])) if match else None


def gpt_image_2_output_tokens(quality: str, size: str) -> int:
    """Output image tokens of one gpt-image-2 image (contract §8.1 formula); ValueError if not computable."""
    factor = GPT_IMAGE_2_QUALITY_FACTORS.get(quality)
    dims = parse_size(size)
    if factor is None or dims is None:
        raise ValueError(f"quality {quality!r} / size {size!r}")
    width, height = dims
    long_side, short_side = max(dims), min(dims)
    scaled = (2 * factor * short_side + long_side) // (2 * long_side)
    return (factor * scaled * (2_000_000 + width * height) + 3_999_999) // 4_000_000


@dataclass(frozen=True)
class SizeRule:
    """An open `size`: `auto` or any `WxH` within these bounds (gpt-image-2, contract §3)."""

    multiple: int
    max_edge: int
    max_ratio: int
    min_pixels: int
    max_pixels: int

    def problem(self, size: str) -> str | None:
        """None when `size` is accepted, else why not (the sentence after `Invalid value: '...'.`)."""
        if size == "auto":
            return None
        dims = parse_size(size)
        if dims is None:
            return "Size must be 'auto' or WIDTHxHEIGHT in pixels, e.g. '1024x1024'."
        width, height = dims
        long_side, short_side = max(dims), min(dims)
        if width % self.multiple or height % self.multiple:
            return f"Width and height must be multiples of {self.multiple}."
        if long_side > self.max_edge:
            return f"The longest edge must be at most {self.max_edge} pixels."
        if long_side > self.max_ratio * short_side:
            return f"The ratio of the longest to the shortest edge must be at most {self.max_ratio}:1."
        if not self.min_pixels <= width * height <= self.max_pixels:
            return (
                f"The total number of pixels must be between {self.min_pixels:,} and {self.max_pixels:,}, "
                f"but got {width * height:,}."
            )
        return None

    def describe(self) -> str:
        """One line for the README table."""
        return (
            f"`auto` or any `WxH`: multiples of {self.multiple}, edge ≤ {self.max_edge}, "
            f"ratio ≤ {self.max_ratio}:1, {self.min_pixels:,}–{self.max_pixels:,} pixels"
        )


GPT_IMAGE_2_SIZE_RULE = SizeRule(multiple=16, max_edge=3840, max_ratio=3, min_pixels=655_360, max_pixels=8_294_400)

GPT_SIZES = ("1024x1024", "1024x1536", "1536x1024", "auto")
GPT_QUALITIES = ("low", "medium", "high", "auto")
GPT_MIME_TYPES = ("image/jpeg", "image/png", "image/webp")


@dataclass(frozen=True)
class EditRules:
    """What `/v1/images/edits` accepts for a model (contract §5)."""

    max_images: int
    max_bytes: int
    mime_types: tuple[str, ...]
    sizes: tuple[str, ...]
    qualities: tuple[str, ...]
    square_png_with_alpha: bool = False  # dall-e-2: square PNG, alpha unless a mask is given
    input_fidelity: bool = False
    # Inputs always processed at this fidelity, whatever the request says (gpt-image-2: "high", §8.3).
    fixed_input_fidelity: str | None = None
    array_allowed: bool = True  # False: an `image[]` part is an invalid_type error
    default_size: str = "auto"


@dataclass(frozen=True)
class ModelSpec:
    """Everything the emulator knows about one image model."""

    name: str
    family: Family
    # Enum models: the accepted sizes. With a `size_rule`: the sizes `auto` resolves among (and examples).
    sizes: tuple[str, ...]
    qualities: tuple[str, ...]
    prompt_max: int
    n_max: int = 10
    default_size: str = "1024x1024"
    default_quality: str = "auto"
    # Accepted silently and mapped, but not listed in error messages (e.g. dall-e `auto`).
    quality_aliases: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    styles: tuple[str, ...] = ()
    default_style: str | None = None
    response_formats: tuple[str, ...] = ()
    default_response_format: str | None = None
    output_formats: tuple[str, ...] = ()
    backgrounds: tuple[str, ...] = ()
    moderations: tuple[str, ...] = ()
    streaming: bool = False
    usage: bool = False
    revised_prompt: bool = False
    output_tokens: MappingProxyType[tuple[str, str], int] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # Output tokens from (quality, size) instead of the `output_tokens` table (gpt-image-2).
    output_token_formula: Callable[[str, str], int] | None = None
    # Open sizes (generations and edits): checked by this rule instead of the `sizes` enum.
    size_rule: SizeRule | None = None
    edits: EditRules | None = None
    variations: bool = False
    # Concrete quality that `auto` resolves to (GPT models), documented in the README.
    auto_quality: str = "high"

    @property
    def is_gpt(self) -> bool:
        return self.family == "gpt-image"

    def output_tokens_for(self, quality: str, size: str) -> int:
        """Output image tokens for one image at a concrete `quality` and `size` (contract §8.1)."""
        try:
            if self.output_token_formula is not None:
                return self.output_token_formula(quality, size)
            return self.output_tokens[(quality, size)]
        except (KeyError, ValueError):
            raise ValueError(
                f"no output token count for model {self.name!r}, quality {quality!r}, size {size!r}"
            ) from None


def _gpt_image(
    name: str,
    *,
    input_fidelity: bool,
    fixed_input_fidelity: str | None = None,
    backgrounds: tuple[str, ...] = ("transparent", "opaque", "auto"),
    size_rule: SizeRule | None = None,
    output_token_formula: Callable[[str, str], int] | None = None,
) -> ModelSpec:
    return ModelSpec(
        name=name,
        family="gpt-image",
        sizes=GPT_SIZES,
        qualities=GPT_QUALITIES,
        prompt_max=32000,
        default_size="auto",
        output_formats=("png", "webp", "jpeg"),
        backgrounds=backgrounds,
        moderations=("auto", "low"),
        streaming=True,
        usage=True,
        output_tokens=MappingProxyType({}) if output_token_formula else GPT_IMAGE_OUTPUT_TOKENS,
        output_token_formula=output_token_formula,
        size_rule=size_rule,
        edits=EditRules(
            max_images=16,
            max_bytes=50 * 1024 * 1024,
            mime_types=GPT_MIME_TYPES,
            sizes=GPT_SIZES,
            qualities=GPT_QUALITIES,
            input_fidelity=input_fidelity,
            fixed_input_fidelity=fixed_input_fidelity,
        ),
    )


def _gpt_image_2(name: str) -> ModelSpec:
    """gpt-image-2 (contract §3): open sizes, no transparent background (guide), inputs always at
    high fidelity and no `input_fidelity` parameter, formula-based output tokens."""
    return _gpt_image(
        name,
        input_fidelity=False,
        fixed_input_fidelity="high",
        backgrounds=("opaque", "auto"),
        size_rule=GPT_IMAGE_2_SIZE_RULE,
        output_token_formula=gpt_image_2_output_tokens,
    )


_MODEL_LIST: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="dall-e-2",
        family="dall-e",
        sizes=("256x256", "512x512", "1024x1024"),
        qualities=("standard",),
        quality_aliases=MappingProxyType({"auto": "standard"}),
        default_quality="standard",
        prompt_max=1000,
        response_formats=("url", "b64_json"),
        default_response_format="url",
        edits=EditRules(
            max_images=1,
            max_bytes=4 * 1024 * 1024,
            mime_types=("image/png",),
            sizes=("256x256", "512x512", "1024x1024"),
            qualities=("standard",),
            square_png_with_alpha=True,
            array_allowed=False,
            default_size="1024x1024",
        ),
        variations=True,
    ),
    ModelSpec(
        name="dall-e-3",
        family="dall-e",
        sizes=("1024x1024", "1024x1792", "1792x1024"),
        qualities=("standard", "hd"),
        quality_aliases=MappingProxyType({"auto": "standard"}),
        default_quality="standard",
        prompt_max=4000,
        n_max=1,
        styles=("vivid", "natural"),
        default_style="vivid",
        response_formats=("url", "b64_json"),
        default_response_format="url",
        revised_prompt=True,
    ),
    _gpt_image("gpt-image-1", input_fidelity=True),
    _gpt_image("gpt-image-1-mini", input_fidelity=False),
    _gpt_image("gpt-image-1.5", input_fidelity=True),
    _gpt_image_2("gpt-image-2"),
    _gpt_image_2("gpt-image-2-2026-04-21"),
)

MODELS: MappingProxyType[str, ModelSpec] = MappingProxyType({m.name: m for m in _MODEL_LIST})

# Contract §2: generations default to dall-e-2 unless a GPT-only parameter is used; which GPT
# model is then chosen is UNVERIFIED (documented in the README).
DEFAULT_GENERATION_MODEL = "dall-e-2"
DEFAULT_GENERATION_GPT_MODEL = "gpt-image-1"
DEFAULT_EDIT_MODEL = "gpt-image-1.5"
VARIATION_MODEL = "dall-e-2"
# `/v1/images/variations` input (contract §6): a square PNG smaller than 4 MB; alpha not required.
VARIATION_MAX_BYTES = 4 * 1024 * 1024
VARIATION_MIME_TYPES = ("image/png",)


def get_model(name: str) -> ModelSpec | None:
    """The spec for `name`, or None when the emulator does not know the model."""
    return MODELS.get(name)
