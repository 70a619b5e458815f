"""The wire shapes of the OpenAPI document (/docs, /openapi.json) as pydantic models, which schemathesis fuzzes.

Requests are parsed by hand (to answer OpenAI's exact errors), so these models document the
bodies rather than validate them. The request models of the three image endpoints are built from
the Param tables in validation.py and the catalog, so the document cannot drift from what the
validation accepts: a value outside a documented enum, range or type is refused with a 400.
What the document cannot say is which model takes which value (sizes, `n`, per-model
parameters, cross-field rules): a schema-valid request may still get a 400, as from OpenAI.

Imported when the document is first built (api/openapi.complete_document), not at start-up: making these
classes took 0.1 s of every start. Routes name them by their class name.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from images_emulator.api.openapi import STREAM_EVENT_TYPES, unique
from images_emulator.contract.catalog import MODELS, OUTPUT_FORMATS, SVG_EFFORTS, Catalog, ModelSpec
from images_emulator.contract.params import EDIT_PARAMS, GENERATION_PARAMS, JSON_EDIT_PARAMS, VARIATION_PARAMS, Param
from images_emulator.contract.validation import edit_models, variation_models
from images_emulator.harness.fault_kinds import ERROR_KINDS, FAULT_KINDS, MAX_FAULT_SECONDS
from images_emulator.harness.fault_rules import MAX_MATCH_CHARS, MAX_TIMES
from images_emulator.harness.latency import MAX_WAIT_SECONDS

# What each parameter is; which models take it is added from the catalog (`_takers`).
# Concrete qualities a GPT response reports (never `auto`), from every model of the catalog.
QUALITIES_ANSWERED = tuple(
    dict.fromkeys(q for spec in MODELS.values() if spec.is_gpt for q in spec.qualities if q != "auto")
)

DESCRIPTIONS = {
    "prompt": "Text description of the image; the longest prompt is per model (see docs/reference.md).",
    "n": "Number of images.",
    "quality": "Per model; see docs/reference.md. `auto` resolves to a concrete quality.",
    "size": "Per model; see docs/reference.md.",
    "style": "Legacy style of the retired DALL·E models.",
    "response_format": "Legacy parameter of the retired DALL·E models (GPT image models always answer b64_json).",
    "output_format": "GPT image models only.",
    "output_compression": "GPT image models only; jpeg/webp (png needs 100).",
    "background": "GPT image models only; `transparent` needs png or webp.",
    "moderation": "GPT image models only.",
    "stream": "GPT image models only: answer text/event-stream (partial images, then completed).",
    "partial_images": "GPT image models only, with stream.",
    "input_fidelity": "`high` only where the model takes it.",
    "complexity": "Computation spent planning the image (shown in the placeholder's caption).",
    "frame_count": "GIF frames (output_format gif only).",
    "frame_duration_ms": "Delay of each GIF frame: rounded to the nearest 10 ms, capped at 655350.",
    "svg": "The SVG author (output_format svg only).",
    "user": "End-user id (deprecated: `safety_identifier`).",
    "safety_identifier": "End-user id for safety monitoring.",
}


def _enum(values: Iterable[str]) -> Any:
    """`Literal[...]` of `values` (built at run time from the catalog)."""
    return Literal[unique(values)]


def _takers(param: Param, specs: Sequence[ModelSpec], users: Sequence[ModelSpec]) -> str:
    """` Taken by: a, b.` when only some of the endpoint's models take `param`."""
    return f" Taken by: {', '.join(spec.name for spec in users)}." if len(users) < len(specs) else ""


def _param_field(param: Param, specs: Sequence[ModelSpec]) -> tuple[Any, Any]:
    """(annotation, Field) documenting `param` as the models in `specs` accept it."""
    users = [spec for spec in specs if param.supported_by(spec)] or list(specs)
    description = (DESCRIPTIONS.get(param.name) or "") + _takers(param, specs, users)
    constraints: dict[str, Any] = {}
    annotation: Any
    if param.kind in ("enum", "size") and param.values is not None:
        aliases = [alias for spec in users for alias in (param.aliases(spec) if param.aliases else {})]
        values = [*(value for spec in users for value in param.values(spec)), *aliases]
        annotation = _enum(values) if values else str  # no served model takes it: any value is refused
        open_models = [spec.name for spec in users if param.rule is not None and param.rule(spec)]
        if open_models:
            annotation = str | annotation  # open sizes: any WxH the model's rule accepts
            description = f"{description} {', '.join(open_models)}: `auto` or any WxH within its limits."
    elif param.kind == "integer":
        annotation = int
        bounds = [param.bounds(spec) for spec in users] if param.bounds is not None else []
        if bounds:
            constraints = {"ge": min(low for low, _ in bounds)}
            highs = [high for _, high in bounds]
            if None not in highs:
                constraints["le"] = max(high for high in highs if high is not None)
    elif param.kind == "boolean":
        annotation = bool
    elif param.kind == "object":
        annotation = OBJECT_DOCS[param.name]
    else:
        annotation = str
    if param.name == "prompt" and users:
        constraints = {"min_length": 1, "max_length": max(spec.prompt_max for spec in users)}
    if param.required:
        return annotation, Field(..., description=description, **constraints)
    return annotation | None, Field(None, description=description, **constraints)


def _model_field(names: Sequence[str], required: bool) -> tuple[Any, Any]:
    """`model`: any string (unknown models are refused), the served names suggested."""
    if not names:
        return str | None, Field(None, description="No model is served on this API date.")
    description = f"One of {', '.join(names)}."
    if required:
        return str | _enum(names), Field(..., description=description)
    return str | _enum(names) | None, Field(None, description=description)


def request_model(
    name: str,
    catalog: Catalog,
    params: Sequence[Param],
    models: Sequence[str],
    doc: str,
    *,
    model_required: bool = False,
    **extra_fields: tuple[Any, Any],
) -> type[BaseModel]:
    """A pydantic model documenting one request body: `model`, then the Param table's fields."""
    specs = [catalog.models[model] for model in models]
    fields: dict[str, Any] = {"model": _model_field(models, model_required)}
    fields.update({param.name: _param_field(param, specs) for param in params})
    fields.update(extra_fields)
    return create_model(name, __config__=ConfigDict(extra="forbid"), __doc__=doc, **fields)


class SvgReasoning(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effort: _enum(SVG_EFFORTS) | None = None  # type: ignore[valid-type]


class Svg(BaseModel):
    """The SVG author: `model` (any non-empty name) and its reasoning effort. Requires output_format=svg."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1)
    reasoning: SvgReasoning | None = None


OBJECT_DOCS: dict[str, type[BaseModel]] = {"svg": Svg}


class ImageRef(BaseModel):
    """Exactly one of `image_url` (a base64 data URL) or `file_id`."""

    model_config = ConfigDict(extra="forbid")
    image_url: str | None = Field(
        None, max_length=20_971_520, description="data: URL (remote URLs are not fetched: 400)."
    )
    file_id: str | None = Field(None, description="Not supported by the emulator (400).")


@functools.lru_cache(maxsize=8)
def request_models(catalog: Catalog) -> tuple[type[BaseModel], ...]:
    """The request bodies of the three image endpoints as the API takes them on `catalog.day`."""
    required = catalog.rules.generation_default is None
    default = "`model` is required." if required else f"Without `model`: {catalog.rules.generation_default}."
    return (
        request_model(
            "CreateImageRequest",
            catalog,
            GENERATION_PARAMS,
            tuple(catalog.models),
            f"application/json. {default}",
            model_required=required,
        ),
        request_model(
            "CreateImageEditRequest",
            catalog,
            EDIT_PARAMS,
            edit_models(catalog, json=False),
            "multipart/form-data. `image`: one file, or (GPT image models) up to 16 files, as repeated `image` or "
            "`image[]` parts; `mask`: a PNG the size of the first image.",
            model_required=catalog.rules.edit_default is None,
            image=(
                bytes | list[bytes],
                Field(description="PNG/JPEG/WebP file(s).", json_schema_extra={"format": "binary"}),
            ),
            mask=(bytes | None, Field(None, json_schema_extra={"format": "binary"})),
            markup=(
                bytes | None,
                Field(None, description="A PNG with transparent pixels, the first image's size; not with `mask`.",
                      json_schema_extra={"format": "binary"}),
            ),
        ),
        request_model(
            "EditImageJsonRequest",
            catalog,
            JSON_EDIT_PARAMS,
            edit_models(catalog, json=True),
            "application/json edits (GPT image models): images as base64 data URLs.",
            model_required=catalog.rules.edit_default is None,
            images=(list[ImageRef], Field(min_length=1, max_length=16)),
            mask=(ImageRef | None, Field(None)),
            markup=(ImageRef | None, Field(None)),
        ),
        request_model(
            "CreateImageVariationRequest",
            catalog,
            VARIATION_PARAMS,
            variation_models(catalog),
            "multipart/form-data: one square PNG smaller than 4 MB (the endpoint retired on 2026-05-12: 404).",
            image=(bytes, Field(json_schema_extra={"format": "binary"})),
        ),
    )


class InputTokensDetails(BaseModel):
    text_tokens: int
    image_tokens: int


class OutputTokensDetails(BaseModel):
    image_tokens: int
    text_tokens: int


class ImageGenUsage(BaseModel):
    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails | None = None
    total_tokens: int


class Image(BaseModel):
    b64_json: str | None = None
    url: str | None = None
    revised_prompt: str | None = None


class SvgUsage(BaseModel):
    """Token usage of the SVG author, separate from the image's `usage`."""

    input_tokens: int
    model: str
    output_tokens: int
    reasoning_tokens: int
    total_tokens: int


class ImagesResponse(BaseModel):
    created: int
    data: list[Image]
    background: Literal["transparent", "opaque"] | None = None
    output_format: _enum(OUTPUT_FORMATS) | None = None  # type: ignore[valid-type]
    quality: _enum(QUALITIES_ANSWERED) | None = None  # type: ignore[valid-type]
    # OpenAI's spec lists the three fixed sizes; open-size models report the concrete WxH they were asked for.
    size: str | None = None
    safety_identifier: str | None = Field(None, description="`safety_identifier`, else `user`, when non-empty.")
    svg_usage: SvgUsage | None = None
    usage: ImageGenUsage | None = None


class ImageStreamEvent(BaseModel):
    """The JSON `data:` of one image event of a stream (`image_generation.*` or `image_edit.*`)."""

    type: _enum(STREAM_EVENT_TYPES)  # type: ignore[valid-type]
    b64_json: str
    created_at: int
    size: str
    quality: str
    background: str
    output_format: str
    partial_image_index: int | None = None
    usage: ImageGenUsage | None = None
    safety_identifier: str | None = None


class Error(BaseModel):
    """All four keys are always present; some errors add more (e.g. `moderation_details`)."""

    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    error: Error


class StreamError(BaseModel):
    """The JSON `data:` of an `error` frame: a failure after the stream started (then it ends)."""

    type: Literal["error"]
    error: Error


# --- admin / test harness -------------------------------------------------------------------------------

class FaultMatch(BaseModel):
    """Which requests a rule fires on (all given keys must match)."""

    model_config = ConfigDict(extra="forbid")
    path: str | None = Field(
        None,
        description="`/v1/images/edits`, `images/edits` or `edits`.",
        pattern=r"^\s*/*(v1/)?(images/)?(generations|edits|variations)/*\s*$",
    )
    model: str | None = Field(None, max_length=MAX_MATCH_CHARS)
    prompt_contains: str | None = Field(
        None, max_length=MAX_MATCH_CHARS, description="Case-insensitive substring of the prompt."
    )


class FaultRuleRequest(BaseModel):
    """`POST /__emulator/faults` body."""

    # `error` only on a stream_error (harness/fault_rules.carried)
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "if": {"properties": {"fault": {"not": {"const": "stream_error"}}}},
            "then": {"properties": {"error": {"enum": [None]}}},  # not `type: null`: ReDoc warns of it
        },
    )
    fault: _enum(FAULT_KINDS)  # type: ignore[valid-type]
    times: int = Field(1, ge=1, le=MAX_TIMES, description="How many matching requests it fires on.")
    match: FaultMatch | None = None
    retry_after: float | None = Field(None, ge=0, le=MAX_FAULT_SECONDS, description="Seconds (retry-after).")
    should_retry: bool | None = Field(None, description="Sends x-should-retry.")
    hold_seconds: float | None = Field(None, ge=0, le=MAX_WAIT_SECONDS, description="timeout: how long to hold.")
    error: _enum(ERROR_KINDS) | None = Field(None, description="stream_error only: the error the frame carries.")  # type: ignore[valid-type]


class FaultRule(BaseModel):
    id: str
    fault: str
    times: int
    remaining: int
    match: dict[str, str]
    session: str | None
    retry_after: float | None = None
    should_retry: bool | None = None
    hold_seconds: float | None = None
    error: str | None = None


class FaultList(BaseModel):
    data: list[FaultRule]
    kinds: dict[str, str] = Field(description="Fault kind → what it does.")


class JournalEntry(BaseModel):
    id: str = Field(description="The x-request-id the client saw.")
    method: str
    path: str
    query: str = Field(description="The query string as sent (Azure's `api-version`), '' when none.")
    status: int | None = Field(description="null while in flight.")
    body: Any = Field(description="JSON body, or multipart fields with files summarized; null if unread.")
    received_at: str
    duration_ms: float | None
    session: str | None
    fault: str | None
    headers: dict[str, str] = Field(description="Request headers, the API key masked.")


class JournalPage(BaseModel):
    data: list[JournalEntry]


class Deleted(BaseModel):
    deleted: int


class ResetResult(BaseModel):
    requests: int
    faults: int


class StoreState(BaseModel):
    kind: Literal["memory", "sqlite", "redis"]
    url: str = Field(description="As configured, without a password.")
    state: Literal["ok", "unreachable"]


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(description="`degraded`: the store is unreachable; images still work.")
    store: StoreState


DOC_MODELS: tuple[type[BaseModel], ...] = (
    ImagesResponse,
    ImageStreamEvent,
    ErrorResponse,
    StreamError,
    FaultRuleRequest,
    FaultRule,
    FaultList,
    JournalPage,
    Deleted,
    ResetResult,
    Health,
)

