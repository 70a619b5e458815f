"""Wire shapes for the OpenAPI document (/docs, /openapi.json).

Requests are parsed by hand (to answer OpenAI's exact errors), so these models document the
bodies rather than validate them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Size = str
ImageModelName = str


class CreateImageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(description="Up to 32000 chars (GPT), 4000 (dall-e-3), 1000 (dall-e-2).")
    model: ImageModelName | None = Field("dall-e-2", description="dall-e-2, dall-e-3, gpt-image-1, ...")
    n: int | None = Field(1, ge=1, le=10)
    quality: Literal["standard", "hd", "low", "medium", "high", "auto"] | None = "auto"
    size: Size | None = Field("auto", description="Per model; see the README table.")
    response_format: Literal["url", "b64_json"] | None = Field("url", description="dall-e only.")
    output_format: Literal["png", "jpeg", "webp"] | None = "png"
    output_compression: int | None = Field(100, ge=0, le=100)
    background: Literal["transparent", "opaque", "auto"] | None = "auto"
    moderation: Literal["low", "auto"] | None = "auto"
    style: Literal["vivid", "natural"] | None = "vivid"
    stream: bool | None = False
    partial_images: int | None = Field(0, ge=0, le=3)
    user: str | None = None
    safety_identifier: str | None = None


class _EditFields(BaseModel):
    prompt: str
    model: ImageModelName | None = "gpt-image-1.5"
    n: int | None = Field(1, ge=1, le=10)
    quality: Literal["standard", "low", "medium", "high", "auto"] | None = "auto"
    size: Size | None = "auto"
    response_format: Literal["url", "b64_json"] | None = None
    output_format: Literal["png", "jpeg", "webp"] | None = "png"
    output_compression: int | None = Field(100, ge=0, le=100)
    background: Literal["transparent", "opaque", "auto"] | None = "auto"
    input_fidelity: Literal["high", "low"] | None = "low"
    stream: bool | None = False
    partial_images: int | None = Field(0, ge=0, le=3)
    user: str | None = None


class CreateImageEditRequest(_EditFields):
    """multipart/form-data: `image` (one file) or repeated `image[]` (GPT models, up to 16)."""

    image: bytes = Field(json_schema_extra={"format": "binary"})
    mask: bytes | None = Field(None, json_schema_extra={"format": "binary"})


class ImageRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_url: str | None = Field(None, description="data: URL (remote URLs are not fetched).")
    file_id: str | None = Field(None, description="Not supported by the emulator.")


class EditImageJsonRequest(BaseModel):
    """application/json edits (GPT models)."""

    model_config = ConfigDict(extra="forbid")
    images: list[ImageRef] = Field(min_length=1, max_length=16)
    mask: ImageRef | None = None
    prompt: str
    model: ImageModelName | None = "gpt-image-1.5"
    n: int | None = Field(1, ge=1, le=10)
    quality: Literal["low", "medium", "high", "auto"] | None = "auto"
    size: Size | None = "auto"
    output_format: Literal["png", "jpeg", "webp"] | None = "png"
    output_compression: int | None = Field(100, ge=0, le=100)
    background: Literal["transparent", "opaque", "auto"] | None = "auto"
    moderation: Literal["low", "auto"] | None = "auto"
    input_fidelity: Literal["high", "low"] | None = "low"
    stream: bool | None = False
    partial_images: int | None = Field(0, ge=0, le=3)
    user: str | None = None


class CreateImageVariationRequest(BaseModel):
    """multipart/form-data."""

    image: bytes = Field(json_schema_extra={"format": "binary"})
    model: Literal["dall-e-2"] | None = "dall-e-2"
    n: int | None = Field(1, ge=1, le=10)
    response_format: Literal["url", "b64_json"] | None = "url"
    size: Literal["256x256", "512x512", "1024x1024"] | None = "1024x1024"
    user: str | None = None


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
    size: Literal["1024x1024", "1024x1536", "1536x1024"] | None = None
    usage: ImageGenUsage | None = None


class ImageStreamEvent(BaseModel):
    """One `data:` frame of a stream (`image_generation.*` or `image_edit.*`)."""

    type: str
    b64_json: str
    created_at: int
    size: str
    quality: str
    background: str
    output_format: str
    partial_image_index: int | None = None
    usage: ImageGenUsage | None = None


class Error(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    error: Error


DOC_MODELS: tuple[type[BaseModel], ...] = (
    CreateImageRequest,
    CreateImageEditRequest,
    EditImageJsonRequest,
    CreateImageVariationRequest,
    ImagesResponse,
    ImageStreamEvent,
    ErrorResponse,
)

ERROR_STATUSES = {
    400: "Invalid request (OpenAI's error envelope)",
    401: "Missing or wrong API key",
    404: "Unknown model",
    413: "Request body too large",
    429: "Rate limited (injected fault or --rate-limit-*)",
    500: "Server error (injected fault)",
    503: "Overloaded (injected fault)",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body_doc(schema: str, *, multipart: str | None = None) -> dict[str, Any]:
    """`openapi_extra` describing a JSON (and optionally multipart) request body."""
    content: dict[str, Any] = {}
    if multipart is not None:
        content["multipart/form-data"] = {"schema": _ref(multipart)}
    if schema:
        content["application/json"] = {"schema": _ref(schema)}
    return {"requestBody": {"required": True, "content": content}}


def response_docs(stream_event: str | None = None) -> dict[int | str, dict[str, Any]]:
    """`responses=` for an images endpoint: 200 ImagesResponse (+ SSE), and the error statuses."""
    ok: dict[str, Any] = {"application/json": {"schema": _ref("ImagesResponse")}}
    if stream_event:
        ok["text/event-stream"] = {"schema": _ref("ImageStreamEvent")}
    docs: dict[int | str, dict[str, Any]] = {200: {"description": "Images", "content": ok}}
    for status, description in ERROR_STATUSES.items():
        docs[status] = {
            "description": description,
            "content": {"application/json": {"schema": _ref("ErrorResponse")}},
        }
    return docs


def add_components(document: dict[str, Any]) -> dict[str, Any]:
    """Put DOC_MODELS (and their nested models) into `components.schemas`."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in DOC_MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return document
