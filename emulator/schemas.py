"""Wire shapes for the OpenAPI document (/docs, /openapi.json), which schemathesis fuzzes.

Requests are parsed by hand (to answer OpenAI's exact errors), so these models document the
bodies rather than validate them. The request models of the three image endpoints are built from
the Param tables in validation.py and the catalog, so the document cannot drift from what the
validation accepts: a value outside a documented enum, range or type is refused with a 400.
What the document cannot say is which model takes which value (sizes, `n`, per-model
parameters, cross-field rules): a schema-valid request may still get a 400, as from OpenAI.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from .catalog import MODELS, VARIATION_MIME_TYPES, ModelSpec
from .faults import ERROR_KINDS, FAULT_KINDS, MAX_FAULT_SECONDS
from .validation import (
    EDIT_PARAMS,
    GENERATION_PARAMS,
    JSON_EDIT_PARAMS,
    VARIATION_PARAMS,
    Param,
    edit_models,
    variation_models,
)

SECURITY_SCHEME = "ApiKeyAuth"

DESCRIPTIONS = {
    "prompt": "Text description of the image. Up to 32000 chars (GPT), 4000 (dall-e-3), 1000 (dall-e-2).",
    "n": "Number of images (dall-e-3: 1).",
    "quality": "Per model; see the README table. `auto` on dall-e means `standard`.",
    "size": "Per model; see the README table.",
    "style": "dall-e-3 only.",
    "response_format": "dall-e only (GPT image models always answer b64_json).",
    "output_format": "GPT image models only.",
    "output_compression": "GPT image models only; jpeg/webp (png needs 100).",
    "background": "GPT image models only; `transparent` needs png or webp (not on gpt-image-2).",
    "moderation": "GPT image models only.",
    "stream": "GPT image models only: answer text/event-stream (partial images, then completed).",
    "partial_images": "GPT image models only, with stream.",
    "input_fidelity": "`high` on gpt-image-1 and gpt-image-1.5 only.",
    "user": "End-user id (recorded, not used).",
    "safety_identifier": "End-user id (recorded, not used).",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _enum(values: Iterable[str]) -> Any:
    """`Literal[...]` of `values` (built at run time from the catalog)."""
    return Literal[_unique(values)]  # type: ignore[valid-type]


def _param_field(param: Param, specs: Sequence[ModelSpec]) -> tuple[Any, Any]:
    """(annotation, Field) documenting `param` as the models in `specs` accept it."""
    users = [spec for spec in specs if param.supported_by(spec)] or list(specs)
    description = DESCRIPTIONS.get(param.name)
    constraints: dict[str, Any] = {}
    annotation: Any
    if param.kind == "enum" and param.values is not None:
        aliases = [alias for spec in users for alias in (param.aliases(spec) if param.aliases else {})]
        annotation = _enum([*(value for spec in users for value in param.values(spec)), *aliases])
        if param.rule is not None and any(param.rule(spec) for spec in users):
            annotation = str | annotation  # open (gpt-image-2 sizes: any WxH its rule accepts)
            description = f"{description} gpt-image-2: `auto` or any WxH within its limits."
    elif param.kind == "integer":
        annotation = int
        if param.bounds is not None:
            bounds = [param.bounds(spec) for spec in users]
            constraints = {"ge": min(low for low, _ in bounds), "le": max(high for _, high in bounds)}
    elif param.kind == "boolean":
        annotation = bool
    else:
        annotation = str
    if param.name == "prompt":
        constraints = {"min_length": 1, "max_length": max(spec.prompt_max for spec in users)}
    if param.required:
        return annotation, Field(..., description=description, **constraints)
    return annotation | None, Field(None, description=description, **constraints)


def _model_field(names: Sequence[str]) -> tuple[Any, Any]:
    """`model`: any string (unknown models are answered 404 or 400), the catalog's names suggested."""
    return str | _enum(names) | None, Field(None, description=f"One of {', '.join(names)}.")


def request_model(
    name: str,
    params: Sequence[Param],
    models: Sequence[str],
    doc: str,
    **extra_fields: tuple[Any, Any],
) -> type[BaseModel]:
    """A pydantic model documenting one request body: `model`, then the Param table's fields."""
    specs = [MODELS[model] for model in models]
    fields: dict[str, Any] = {"model": _model_field(models)}
    fields.update({param.name: _param_field(param, specs) for param in params})
    fields.update(extra_fields)
    return create_model(name, __config__=ConfigDict(extra="forbid"), __doc__=doc, **fields)


class ImageRef(BaseModel):
    """Exactly one of `image_url` (a base64 data URL) or `file_id`."""

    model_config = ConfigDict(extra="forbid")
    image_url: str | None = Field(
        None, max_length=20_971_520, description="data: URL (remote URLs are not fetched: 400)."
    )
    file_id: str | None = Field(None, description="Not supported by the emulator (400).")


CreateImageRequest = request_model(
    "CreateImageRequest",
    GENERATION_PARAMS,
    tuple(MODELS),
    "application/json. Without `model`: dall-e-2, or gpt-image-1 when a GPT-only parameter is set.",
)
CreateImageEditRequest = request_model(
    "CreateImageEditRequest",
    EDIT_PARAMS,
    edit_models(json=False),
    "multipart/form-data. `image`: one file, or (GPT image models) up to 16 files, as repeated `image` or "
    "`image[]` parts; `mask`: a PNG the size of the first image.",
    image=(bytes | list[bytes], Field(description="PNG/JPEG/WebP file(s).", json_schema_extra={"format": "binary"})),
    mask=(bytes | None, Field(None, json_schema_extra={"format": "binary"})),
)
EditImageJsonRequest = request_model(
    "EditImageJsonRequest",
    JSON_EDIT_PARAMS,
    edit_models(json=True),
    "application/json edits (GPT image models): images as base64 data URLs.",
    images=(list[ImageRef], Field(min_length=1, max_length=16)),
    mask=(ImageRef | None, Field(None)),
)
CreateImageVariationRequest = request_model(
    "CreateImageVariationRequest",
    VARIATION_PARAMS,
    variation_models(),
    "multipart/form-data: one square PNG smaller than 4 MB.",
    image=(bytes, Field(json_schema_extra={"format": "binary"})),
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


class ImagesResponse(BaseModel):
    created: int
    data: list[Image]
    background: Literal["transparent", "opaque"] | None = None
    output_format: Literal["png", "webp", "jpeg"] | None = None
    quality: Literal["low", "medium", "high"] | None = None
    # OpenAI's spec lists the three fixed sizes; gpt-image-2 reports the concrete WxH it was asked for.
    size: str | None = None
    usage: ImageGenUsage | None = None


STREAM_EVENT_TYPES = (
    "image_generation.partial_image",
    "image_generation.completed",
    "image_edit.partial_image",
    "image_edit.completed",
)


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


# One server-sent event, as OpenAPI 3.2 describes event streams (`data` is a JSON document).
STREAM_FRAME: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": [*STREAM_EVENT_TYPES, "error"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"anyOf": [_ref("ImageStreamEvent"), _ref("StreamError")]},
        },
    },
}


# --- admin / test harness -------------------------------------------------------------------------------

class FaultMatch(BaseModel):
    """Which requests a rule fires on (all given keys must match)."""

    model_config = ConfigDict(extra="forbid")
    path: str | None = Field(None, description="`/v1/images/edits`, `images/edits` or `edits`.")
    model: str | None = None
    prompt_contains: str | None = Field(None, description="Case-insensitive substring of the prompt.")


class FaultRuleRequest(BaseModel):
    """`POST /__emulator/faults` body."""

    model_config = ConfigDict(extra="forbid")
    fault: _enum(FAULT_KINDS)  # type: ignore[valid-type]
    times: int = Field(1, ge=1, description="How many matching requests it fires on.")
    match: FaultMatch | None = None
    retry_after: float | None = Field(None, ge=0, le=MAX_FAULT_SECONDS, description="Seconds (retry-after).")
    should_retry: bool | None = Field(None, description="Sends x-should-retry.")
    hold_seconds: float | None = Field(None, ge=0, le=MAX_FAULT_SECONDS, description="timeout: how long to hold.")
    error: _enum(ERROR_KINDS) | None = Field(None, description="stream_error: the error the frame carries.")  # type: ignore[valid-type]


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


class Health(BaseModel):
    status: Literal["ok"]


DOC_MODELS: tuple[type[BaseModel], ...] = (
    CreateImageRequest,
    CreateImageEditRequest,
    EditImageJsonRequest,
    CreateImageVariationRequest,
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

ERROR_STATUSES = {
    400: "Invalid request (OpenAI's error envelope)",
    401: "Missing or wrong API key",
    403: "Forged or expired image URL",
    404: "Unknown model, or an unknown resource",
    408: "The client took longer than --body-timeout-seconds to send the body",
    413: "Request body larger than --max-body-bytes",
    429: "Rate limited (injected fault or --rate-limit-*)",
    500: "Server error (injected fault only)",
    503: "Overloaded (injected fault only)",
}
# What each image endpoint can answer besides 200 (variations take no unknown model: 400 instead).
IMAGE_ERRORS = (400, 401, 404, 408, 413, 429, 500, 503)
VARIATION_ERRORS = (400, 401, 408, 413, 429, 500, 503)
# Media types of the multipart file parts, from the catalog (the union over the endpoint's models).
EDIT_FILE_TYPES = {
    "image": _unique(mime for name in edit_models(json=False) for mime in MODELS[name].edits.mime_types),  # type: ignore[union-attr]
    "mask": ("image/png",),
}
VARIATION_FILE_TYPES = {"image": VARIATION_MIME_TYPES}
HARNESS_NOTE = (
    "\n\nTest harness: the header `X-Emulator-Fault: KIND[; option=value]` injects a fault, "
    "`X-Emulator-Latency-Ms` simulates generation time and `X-Emulator-Session` tags the request "
    "(see docs/recipes.md)."
)


def error_docs(statuses: Iterable[int]) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for error statuses: OpenAI's envelope."""
    return {
        status: {
            "description": ERROR_STATUSES[status],
            "content": {"application/json": {"schema": _ref("ErrorResponse")}},
        }
        for status in statuses
    }


def json_body_doc(
    schema: str, *, multipart: str | None = None, files: dict[str, tuple[str, ...]] | None = None
) -> dict[str, Any]:
    """`openapi_extra` of a `/v1` endpoint: its JSON and/or multipart request body (with the media types
    its file parts take, `files`), and bearer auth."""
    content: dict[str, Any] = {}
    if multipart is not None:
        content["multipart/form-data"] = {"schema": _ref(multipart)}
        if files:
            encoding = {name: {"contentType": ", ".join(types)} for name, types in files.items()}
            content["multipart/form-data"]["encoding"] = encoding
    if schema:
        content["application/json"] = {"schema": _ref(schema)}
    return {
        "requestBody": {"required": True, "content": content},
        "security": [{SECURITY_SCHEME: []}],
        "description": HARNESS_NOTE.strip(),
    }


def response_docs(
    stream_event: str | None = None, statuses: Iterable[int] = IMAGE_ERRORS
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for an images endpoint: 200 ImagesResponse (+ SSE), and the error statuses."""
    ok: dict[str, Any] = {"application/json": {"schema": _ref("ImagesResponse")}}
    if stream_event:
        ok["text/event-stream"] = {"schema": _ref("ImageStreamFrame")}
    return {200: {"description": "Images", "content": ok}, **error_docs(statuses)}


def admin_docs(
    model: type[BaseModel] | None, *, status: int = 200, errors: Iterable[int] = (), description: str = "OK"
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a JSON endpoint: its success shape and the error statuses it can answer."""
    ok: dict[str, Any] = {"description": description}
    if model is not None:
        ok["content"] = {"application/json": {"schema": _ref(model.__name__)}}
    return {status: ok, **error_docs(errors)}


SESSION_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "session",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "Scope the call to one session (its journal entries and faults).",
    },
    {
        "name": "X-Emulator-Session",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "Same as `?session=`.",
    },
]


def admin_extra(body: type[BaseModel] | None = None) -> dict[str, Any]:
    """`openapi_extra` of an admin endpoint: the session parameters and its JSON body, if any."""
    extra: dict[str, Any] = {"parameters": SESSION_PARAMETERS}
    if body is not None:
        extra["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body.__name__)}}}
    return extra


def complete_document(document: dict[str, Any]) -> dict[str, Any]:
    """Put DOC_MODELS into `components.schemas`, declare the bearer scheme, and drop FastAPI's 422
    responses (the app answers validation problems with a 400 envelope; there are none to answer)."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in DOC_MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    schemas["ImageStreamFrame"] = STREAM_FRAME
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    components["securitySchemes"] = {SECURITY_SCHEME: {"type": "http", "scheme": "bearer"}}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    return document

