"""The models and the API rules as of a date: the single source of truth for validation, defaults,
usage, latency and docs.

Every model has a release date and, once announced, a shutdown date (each with its source). The
emulator is the API *as of a date* (`--api-date`): `catalog_as_of(day)` is the view every request
uses, with the models served that day (their dated revisions applied) and the API-wide rules of that
day. Adding a model is adding one `ModelSpec` to `_MODEL_LIST`. Tuples keep the order OpenAI uses
when it lists supported values in error messages.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any, Literal

Family = Literal["dall-e", "gpt-image"]

# The day of the newest official SDK this catalog mirrors (openai-python 3.57.0, 2026-11-19): the
# default `--api-date`, so one release of the emulator answers the same on every day.
CATALOG_DATE = date(2026, 11, 19)

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
# xhigh and max (the 2.5 models) are unpublished: 1.5x and 2x high's factor (a documented choice).
GPT_IMAGE_2_QUALITY_FACTORS: MappingProxyType[str, int] = MappingProxyType(
    {"low": 16, "medium": 48, "high": 96, "xhigh": 144, "max": 192}
)

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


# Why an open size is refused, in the order the rule checks (errors.py words each one).
SizeProblem = Literal["format", "multiple", "edge", "ratio", "too_small", "too_large"]


@dataclass(frozen=True)
class SizeRule:
    """An open `size`: `auto` or any `WxH` within these bounds (gpt-image-2, contract §3, §16)."""

    multiple: int
    max_edge: int
    max_ratio: int
    min_pixels: int
    max_pixels: int

    def check(self, size: str) -> SizeProblem | None:
        """None when `size` is accepted, else the first bound it breaks."""
        if size == "auto":
            return None
        dims = parse_size(size)
        if dims is None:
            return "format"
        width, height = dims
        long_side, short_side = max(dims), min(dims)
        if width % self.multiple or height % self.multiple:
            return "multiple"
        if long_side > self.max_edge:
            return "edge"
        if long_side > self.max_ratio * short_side:
            return "ratio"
        if width * height < self.min_pixels:
            return "too_small"
        if width * height > self.max_pixels:
            return "too_large"
        return None

    def describe(self) -> str:
        """One line for the README table."""
        return (
            f"`auto` or any `WxH`: multiples of {self.multiple}, edge ≤ {self.max_edge}, "
            f"ratio ≤ {self.max_ratio}:1, {self.min_pixels:,}–{self.max_pixels:,} pixels"
        )


GPT_IMAGE_2_SIZE_RULE = SizeRule(multiple=16, max_edge=3840, max_ratio=3, min_pixels=655_360, max_pixels=8_294_400)

@dataclass(frozen=True)
class OutputFormat:
    """What an `output_format` allows besides the image itself (PY-NEW `output_format`, `frame_count`, `svg`)."""

    name: str
    media_type: str
    streaming: bool = True  # `stream: true` and `partial_images` > 0
    compression: bool = True  # an explicit `output_compression`
    mask: bool = True  # an edit `mask`
    n_max: int | None = None  # None: the model's own `n` bound


OUTPUT_FORMATS: MappingProxyType[str, OutputFormat] = MappingProxyType(
    {
        f.name: f
        for f in (
            OutputFormat("png", "image/png"),
            OutputFormat("jpeg", "image/jpeg"),
            OutputFormat("webp", "image/webp"),
            # "GIF output does not support streaming, partial images, masks, or custom output compression."
            OutputFormat("gif", "image/gif", streaming=False, compression=False, mask=False),
            # "SVG generation requires n=1 and does not support streaming, partial images, ... or output_compression."
            OutputFormat("svg", "image/svg+xml", streaming=False, compression=False, n_max=1),
        )
    }
)
RASTER_FORMATS = ("png", "webp", "jpeg")

# GIF (PY-NEW `frame_count`, `frame_duration_ms`): 2-16 frames (default 9), 200 ms each by default,
# rounded to the nearest 10 ms (GIF stores centiseconds) and capped at 655,350 ms (65,535 cs).
GIF_FRAMES = (2, 16)
GIF_DEFAULT_FRAMES = 9
GIF_DEFAULT_FRAME_MS = 200
GIF_MAX_FRAME_MS = 655_350

# SVG authoring (PY-NEW `svg.reasoning.effort`); omitted effort: the author's default (`medium`, a choice).
SVG_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
SVG_DEFAULT_EFFORT = "medium"
# Reasoning tokens of the SVG author by effort (unpublished: the emulator's rule, README).
SVG_REASONING_TOKENS = MappingProxyType(
    {"none": 0, "minimal": 64, "low": 256, "medium": 1024, "high": 4096, "xhigh": 8192, "max": 16384}
)

COMPLEXITIES = ("low", "medium", "high")  # PY-NEW `complexity`

GPT_SIZES = ("1024x1024", "1024x1536", "1536x1024", "auto")
GPT_QUALITIES = ("low", "medium", "high", "auto")
GPT_2_5_QUALITIES = ("low", "medium", "high", "xhigh", "max", "auto")  # PY-NEW `quality` docstring
GPT_MIME_TYPES = ("image/jpeg", "image/png", "image/webp")
ALL_BACKGROUNDS = ("transparent", "opaque", "auto")

# Realistic generation seconds for one 1024x1024 image, by concrete quality (`--latency realistic`).
# UNVERIFIED rough public observations; gpt-image-2's are reported figures (contract §16).
GPT_IMAGE_1_LATENCY = MappingProxyType({"low": 10.0, "medium": 25.0, "high": 50.0})
GPT_IMAGE_2_LATENCY = MappingProxyType({"low": 10.0, "medium": 48.0, "high": 126.0})
GPT_IMAGE_2_5_LATENCY = MappingProxyType({**GPT_IMAGE_2_LATENCY, "xhigh": 170.0, "max": 230.0})


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
    markup: bool = False  # a `markup` PNG overlaid on the first image (PY-NEW: "Supports GPT Image 2.5")


@dataclass(frozen=True)
class VariationRules:
    """What `/v1/images/variations` accepts for a model (contract §6): a square image of these types."""

    max_bytes: int
    mime_types: tuple[str, ...]


@dataclass(frozen=True)
class Revision:
    """Fields of a ModelSpec (or of ApiRules) that changed on `since`; `source` says who said so."""

    since: date
    changes: Mapping[str, Any]
    source: str


@dataclass(frozen=True)
class ModelSpec:
    """Everything the emulator knows about one image model."""

    name: str
    family: Family
    released: date
    shutdown: date | None  # None: no shutdown announced
    # Enum models: the accepted sizes. With a `size_rule`: the sizes `auto` resolves among (and examples).
    sizes: tuple[str, ...]
    qualities: tuple[str, ...]  # () = the model takes no `quality` parameter at all
    prompt_max: int
    n_max: int = 10
    default_size: str = "1024x1024"
    default_quality: str = "auto"
    # Accepted silently and mapped, but not listed in error messages (dall-e-3 `auto`).
    quality_aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    styles: tuple[str, ...] = ()
    default_style: str | None = None
    response_formats: tuple[str, ...] = ()
    default_response_format: str | None = None
    output_formats: tuple[str, ...] = ()
    complexities: tuple[str, ...] = ()  # `complexity` values; () = the model takes no `complexity`
    backgrounds: tuple[str, ...] = ()
    moderations: tuple[str, ...] = ()
    streaming: bool = False
    usage: bool = False
    revised_prompt: bool = False
    # Azure's answers carry per-image `prompt_filter_results` / `content_filter_results` (its spec's
    # dall-e-3 example; its gpt-image-1 edits example has none).
    azure_filter_results: bool = False
    output_tokens: MappingProxyType[tuple[str, str], int] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # Output tokens from (quality, size) instead of the `output_tokens` table (gpt-image-2).
    output_token_formula: Callable[[str, str], int] | None = None
    # Open sizes (generations and edits): checked by this rule instead of the `sizes` enum.
    size_rule: SizeRule | None = None
    edits: EditRules | None = None
    variations: VariationRules | None = None
    # Concrete quality that `auto` resolves to (GPT models), documented in the README.
    auto_quality: str = "high"
    # Realistic seconds for one 1024x1024 image by concrete quality (see GPT_IMAGE_1_LATENCY).
    latency: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    # What changed for this model after its release, oldest first.
    revisions: tuple[Revision, ...] = ()

    @property
    def is_gpt(self) -> bool:
        return self.family == "gpt-image"

    def served_on(self, day: date) -> bool:
        """Served from its release date until the day before its shutdown."""
        return self.released <= day and (self.shutdown is None or day < self.shutdown)

    def as_of(self, day: date) -> ModelSpec:
        """This spec with every revision dated on or before `day` applied."""
        spec = self
        for revision in self.revisions:
            if revision.since <= day:
                spec = replace(spec, **revision.changes)
        return spec

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
    released: date,
    shutdown: date | None,
    input_fidelity: bool,
    latency: Mapping[str, float],
    qualities: tuple[str, ...] = GPT_QUALITIES,
    fixed_input_fidelity: str | None = None,
    backgrounds: tuple[str, ...] = ALL_BACKGROUNDS,
    size_rule: SizeRule | None = None,
    output_token_formula: Callable[[str, str], int] | None = None,
    output_formats: tuple[str, ...] = RASTER_FORMATS,
    complexities: tuple[str, ...] = (),
    markup: bool = False,
    revisions: tuple[Revision, ...] = (),
) -> ModelSpec:
    return ModelSpec(
        name=name,
        family="gpt-image",
        released=released,
        shutdown=shutdown,
        sizes=GPT_SIZES,
        qualities=qualities,
        prompt_max=32000,
        default_size="auto",
        output_formats=output_formats,
        complexities=complexities,
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
            qualities=qualities,
            input_fidelity=input_fidelity,
            fixed_input_fidelity=fixed_input_fidelity,
            markup=markup,
        ),
        latency=latency,
        revisions=revisions,
    )


# gpt-image-2's transparent background: refused by the image-generation guide at launch, "in preview"
# from the docs of 2026-08-25 on (PY-NEW `background` docstring).
GPT_IMAGE_2_TRANSPARENCY = Revision(
    date(2026, 8, 25),
    MappingProxyType({"backgrounds": ALL_BACKGROUNDS}),
    "developers.openai.com image-generation guide, 2026-08-25: transparent backgrounds in preview",
)


def _gpt_image_2_family(
    name: str,
    *,
    released: date,
    qualities: tuple[str, ...] = GPT_QUALITIES,
    backgrounds: tuple[str, ...] = ALL_BACKGROUNDS,
    open_sizes: bool = True,
    latency: Mapping[str, float] = GPT_IMAGE_2_LATENCY,
    output_formats: tuple[str, ...] = RASTER_FORMATS,
    complexities: tuple[str, ...] = (),
    markup: bool = False,
    revisions: tuple[Revision, ...] = (),
) -> ModelSpec:
    """gpt-image-2 and its successors (contract §3, §16): inputs always at high fidelity and no
    `input_fidelity` parameter, formula-based output tokens, open sizes where the SDK lists them."""
    return _gpt_image(
        name,
        released=released,
        shutdown=None,
        input_fidelity=False,
        fixed_input_fidelity="high",
        qualities=qualities,
        backgrounds=backgrounds,
        size_rule=GPT_IMAGE_2_SIZE_RULE if open_sizes else None,
        output_token_formula=gpt_image_2_output_tokens,
        latency=latency,
        output_formats=output_formats,
        complexities=complexities,
        markup=markup,
        revisions=revisions,
    )


DALL_E_RETIRED = date(2026, 5, 12)  # PY-NEW `image_model.py`: "This model was retired on May 12, 2026."
LEGACY_SHUTDOWN = date(2026, 12, 1)  # DEP: gpt-image-1-mini, gpt-image-1.5 (+snapshot), chatgpt-image-latest

_MODEL_LIST: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="dall-e-2",
        family="dall-e",
        released=date(2022, 11, 3),  # DALL·E API public beta announcement, 2022-11-03
        shutdown=DALL_E_RETIRED,
        sizes=("256x256", "512x512", "1024x1024"),
        # No `quality` at all: the real API refuses even `standard` (langchain-community #106/#177/#183).
        qualities=(),
        default_quality="standard",
        prompt_max=1000,
        response_formats=("url", "b64_json"),
        default_response_format="url",
        edits=EditRules(
            max_images=1,
            max_bytes=4 * 1024 * 1024,
            mime_types=("image/png",),
            sizes=("256x256", "512x512", "1024x1024"),
            qualities=(),
            square_png_with_alpha=True,
            array_allowed=False,
            default_size="1024x1024",
        ),
        # contract §6: a square PNG smaller than 4 MB; alpha not required.
        variations=VariationRules(max_bytes=4 * 1024 * 1024, mime_types=("image/png",)),
        latency=MappingProxyType({"standard": 5.0}),
    ),
    ModelSpec(
        name="dall-e-3",
        family="dall-e",
        released=date(2023, 11, 6),  # OpenAI DevDay, 2023-11-06: DALL·E 3 in the API
        shutdown=DALL_E_RETIRED,
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
        azure_filter_results=True,
        latency=MappingProxyType({"standard": 12.0, "hd": 20.0}),
    ),
    _gpt_image(
        "gpt-image-1",
        released=date(2025, 4, 23),  # PY v1.75.0, 2025-04-23
        shutdown=date(2026, 10, 23),  # PY-NEW: "GPT Image 1 was shut down on October 23, 2026."
        input_fidelity=True,
        latency=GPT_IMAGE_1_LATENCY,
    ),
    _gpt_image(
        "gpt-image-1-mini",
        released=date(2025, 10, 6),  # PY v2.1.0, 2025-10-06
        shutdown=LEGACY_SHUTDOWN,
        input_fidelity=False,
        latency=MappingProxyType({"low": 5.0, "medium": 10.0, "high": 20.0}),
    ),
    _gpt_image(
        "gpt-image-1.5",
        released=date(2025, 12, 16),  # PY v2.12.0, 2025-12-16
        shutdown=LEGACY_SHUTDOWN,
        input_fidelity=True,
        latency=MappingProxyType({"low": 6.0, "medium": 15.0, "high": 30.0}),
    ),
    _gpt_image(
        "gpt-image-1.5-2025-12-16",  # the snapshot named on the deprecations page (DEP)
        released=date(2025, 12, 16),
        shutdown=LEGACY_SHUTDOWN,
        input_fidelity=True,
        latency=MappingProxyType({"low": 6.0, "medium": 15.0, "high": 30.0}),
    ),
    _gpt_image(
        "chatgpt-image-latest",  # PY v2.34.0, 2026-05-05: "same input constraints" as the GPT models
        released=date(2026, 5, 5),
        shutdown=LEGACY_SHUTDOWN,
        input_fidelity=True,  # gpt-image-1.5's rules (a documented choice)
        latency=MappingProxyType({"low": 6.0, "medium": 15.0, "high": 30.0}),
    ),
    _gpt_image_2_family(  # the snapshot date is the release date
        "gpt-image-2",
        released=date(2026, 4, 21),
        backgrounds=("opaque", "auto"),
        revisions=(GPT_IMAGE_2_TRANSPARENCY,),
    ),
    _gpt_image_2_family(
        "gpt-image-2-2026-04-21",
        released=date(2026, 4, 21),
        backgrounds=("opaque", "auto"),
        revisions=(GPT_IMAGE_2_TRANSPARENCY,),
    ),
    # PY-NEW: open sizes, xhigh/max, opaque and transparent backgrounds, markup; released with the 2026-09-08
    # snapshots.
    *(
        _gpt_image_2_family(
            name,
            released=date(2026, 9, 8),
            qualities=GPT_2_5_QUALITIES,
            latency=GPT_IMAGE_2_5_LATENCY,
            markup=True,
        )
        for name in (
            "gpt-image-2.5-sunburst",
            "gpt-image-2.5-sunburst-2026-09-08",
            "gpt-image-2.5-flare",
            "gpt-image-2.5-flare-2026-09-08",
        )
    ),
    # 2026-11-04 (3P): the standard sizes only (PY-NEW lists open sizes for gpt-image-2 and 2.5 alone);
    # GIF, SVG and `complexity` as third parties report them (PY-NEW: "a model that supports the format").
    *(
        _gpt_image_2_family(
            name,
            released=date(2026, 11, 4),
            open_sizes=False,
            output_formats=(*RASTER_FORMATS, "gif", "svg"),
            complexities=COMPLEXITIES,
        )
        for name in ("gpt-image-2.6-sunburst", "gpt-image-2.6-flare")
    ),
)

MODELS: MappingProxyType[str, ModelSpec] = MappingProxyType({m.name: m for m in _MODEL_LIST})


@dataclass(frozen=True)
class ApiRules:
    """What the API as a whole does on a date (not per model). The defaults are the oldest API."""

    # The model a request without `model` gets; None: `model` is required.
    generation_default: str | None = "dall-e-2"
    # ...when a GPT-only parameter is set (contract §2: which GPT model is UNVERIFIED).
    generation_gpt_default: str | None = "gpt-image-1"
    edit_default: str | None = "dall-e-2"
    edit_gpt_default: str | None = "gpt-image-1"  # ...when a GPT-only parameter is set (contract §2, edits row)
    variations: bool = True  # the `/v1/images/variations` endpoint answers
    # Today's wording: unknown model 400 `image_generation_user_error`, size errors `Invalid size '...'`.
    user_error_wording: bool = False
    # `response_format: null` counts as sent (unknown_parameter on GPT models) instead of omitted.
    null_response_format_refused: bool = False


API_REVISIONS: tuple[Revision, ...] = (
    Revision(
        date(2025, 12, 16),
        MappingProxyType({"edit_default": "gpt-image-1.5", "edit_gpt_default": None}),
        "contract §2: edits default to gpt-image-1.5 (S 2026-05; the emulator's choice from 1.5's release)",
    ),
    Revision(
        DALL_E_RETIRED,
        MappingProxyType(
            {
                "generation_default": None,
                "generation_gpt_default": None,
                "edit_default": None,
                "variations": False,
                "user_error_wording": True,
                "null_response_format_refused": True,
            }
        ),
        "PY-NEW: dall-e retired, 'Specify a model explicitly', variations 'retired and no longer available'; "
        "3P captures of the live API's 400s since 2026-08",
    ),
)


@dataclass(frozen=True, eq=False)  # one instance per day (catalog_as_of): hashed by identity
class Catalog:
    """The API as of `day`: the models served that day (revisions applied, catalog order) and its rules."""

    day: date
    models: Mapping[str, ModelSpec]
    rules: ApiRules

    def model(self, name: str) -> ModelSpec | None:
        """The spec for `name`, or None when no such model is served on this day."""
        return self.models.get(name)

    def retired(self) -> tuple[str, ...]:
        """Models whose shutdown date has passed on this day (they answer like unknown names)."""
        return tuple(spec.name for spec in MODELS.values() if spec.shutdown is not None and spec.shutdown <= self.day)


@functools.lru_cache(maxsize=64)
def catalog_as_of(day: date) -> Catalog:
    """The catalog view for `day` (cached: every request of a day shares one)."""
    models = {name: spec.as_of(day) for name, spec in MODELS.items() if spec.served_on(day)}
    rules = ApiRules()
    for revision in API_REVISIONS:
        if revision.since <= day:
            rules = replace(rules, **revision.changes)
    return Catalog(day, MappingProxyType(models), rules)


def parse_api_date(value: str) -> date | None:
    """The date an `--api-date` value names: None for `today` (follow the clock), else YYYY-MM-DD from the first
    model's release on. ValueError for anything else."""
    text = value.strip().lower()
    if text == "today":
        return None
    problem = f"api-date must be 'today' or a date YYYY-MM-DD (e.g. 2026-05-01), not {value!r}"
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(problem)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(problem) from None
    first = min(MODELS.values(), key=lambda spec: spec.released)
    if day < first.released:
        raise ValueError(f"api-date {value} is before the Images API's first model ({first.name}, {first.released})")
    return day


def api_day(fixed: date | None) -> date:
    """The date the emulator answers as: `fixed`, or (for `today`) the current UTC date."""
    return fixed if fixed is not None else datetime.now(UTC).date()
