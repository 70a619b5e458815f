"""Per-model capabilities: the single source of truth for validation, defaults, usage and docs.

Adding a model is adding one `ModelSpec` to `MODELS`. Tuples keep the order OpenAI uses when it
lists supported values in error messages.
"""

from __future__ import annotations

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
    array_allowed: bool = True  # False: an `image[]` part is an invalid_type error
    default_size: str = "auto"


@dataclass(frozen=True)
class ModelSpec:
    """Everything the emulator knows about one image model."""

    name: str
    family: Family
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
    edits: EditRules | None = None
    variations: bool = False
    # Concrete quality that `auto` resolves to (GPT models), documented in the README.
    auto_quality: str = "high"

    @property
    def is_gpt(self) -> bool:
        return self.family == "gpt-image"


def _gpt_image(name: str, *, input_fidelity: bool) -> ModelSpec:
    return ModelSpec(
        name=name,
        family="gpt-image",
        sizes=GPT_SIZES,
        qualities=GPT_QUALITIES,
        prompt_max=32000,
        default_size="auto",
        output_formats=("png", "webp", "jpeg"),
        backgrounds=("transparent", "opaque", "auto"),
        moderations=("auto", "low"),
        streaming=True,
        usage=True,
        output_tokens=GPT_IMAGE_OUTPUT_TOKENS,
        edits=EditRules(
            max_images=16,
            max_bytes=50 * 1024 * 1024,
            mime_types=GPT_MIME_TYPES,
            sizes=GPT_SIZES,
            qualities=GPT_QUALITIES,
            input_fidelity=input_fidelity,
        ),
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
