"""The OpenAPI document (/docs, /openapi.json): what routes declare (responses, bodies, parameters) and the
last touches to the document FastAPI builds. The pydantic models of its schemas are in api/openapi_models.py,
imported only when the document is first asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from images_emulator.contract.catalog import MODELS, Catalog
from images_emulator.harness.sessions import SESSION_FORM, SESSION_MAX

SECURITY_SCHEME = "ApiKeyAuth"
ADMIN_SECURITY_SCHEME = "AdminKeyAuth"  # the admin key (server/admin_auth.py); a bearer token works too

def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


STREAM_EVENT_TYPES = (
    "image_generation.partial_image",
    "image_generation.completed",
    "image_edit.partial_image",
    "image_edit.completed",
)


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


ERROR_STATUSES = {
    400: "Invalid request (OpenAI's error envelope)",
    401: "Missing or wrong API key (on the admin API: admin key)",
    403: "Forged or expired image URL",
    404: "Unknown model, or an unknown resource",
    408: "The client took longer than --body-timeout-seconds to send the body",
    413: "Request body larger than --max-body-bytes",
    429: "Rate limited (injected fault or --rate-limit-*)",
    500: "Server error (injected fault only)",
    503: "Overloaded (injected fault), or the harness's store is unreachable (admin calls)",
}
# What each image endpoint can answer besides 200 (variations take no unknown model: 400 instead).
IMAGE_ERRORS = (400, 401, 404, 408, 413, 429, 500, 503)
VARIATION_ERRORS = (400, 401, 408, 413, 429, 500, 503)
# Media types of the multipart file parts, from the catalog (the union over every model that edits).
EDIT_FILE_TYPES = {
    "image": unique(mime for spec in MODELS.values() if spec.edits for mime in spec.edits.mime_types),
    "mask": ("image/png",),
    "markup": ("image/png",),
}
VARIATION_FILE_TYPES = {
    "image": unique(mime for spec in MODELS.values() if spec.variations for mime in spec.variations.mime_types)
}
HARNESS_NOTE = (
    "\n\nTest harness: the header `X-Emulator-Fault: KIND[; option=value]` injects a fault, "
    "`X-Emulator-Latency-Ms` simulates generation time and `X-Emulator-Session` tags the request "
    "(see docs/harness.md)."
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
    model: str | None, *, status: int = 200, errors: Iterable[int] = (), description: str = "OK"
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a JSON endpoint: its success shape and the error statuses it can answer."""
    ok: dict[str, Any] = {"description": description}
    if model is not None:
        ok["content"] = {"application/json": {"schema": _ref(model)}}
    return {status: ok, **error_docs(errors)}


SESSION_PATTERN = f"^(?:{SESSION_FORM})$"  # the length bound is maxLength
SESSION_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "session",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": SESSION_MAX, "pattern": SESSION_PATTERN},
        "description": "Scope the call to one session (its journal entries and faults).",
    },
    {
        "name": "X-Emulator-Session",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "maxLength": SESSION_MAX, "pattern": f"^$|{SESSION_PATTERN}"},
        "description": "Same as `?session=` (empty: none).",
    },
]


def path_parameter(name: str, description: str) -> dict[str, Any]:
    """A path parameter for `openapi_extra`. Routes read theirs from `request.path_params`: a parameter in
    the signature makes FastAPI import pydantic.v1 at start-up (0.1 s here) to check its type."""
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


def admin_extra(body: str | None = None) -> dict[str, Any]:
    """`openapi_extra` of an admin endpoint: the session parameters and its JSON body, if any."""
    extra: dict[str, Any] = {"parameters": SESSION_PARAMETERS}
    if body is not None:
        extra["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    return extra


def complete_document(document: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """Put the request bodies of `catalog`'s day and DOC_MODELS into `components.schemas`, declare the
    bearer scheme, and drop FastAPI's 422 responses (the app answers validation problems with a 400
    envelope; there are none to answer). A retired endpoint is marked deprecated and documents its 404."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    from images_emulator.api.openapi_models import DOC_MODELS, request_models  # see that module's docstring

    for model in (*request_models(catalog), *DOC_MODELS):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    schemas["ImageStreamFrame"] = STREAM_FRAME
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    components["securitySchemes"] = {
        SECURITY_SCHEME: {"type": "http", "scheme": "bearer"},
        ADMIN_SECURITY_SCHEME: {
            "type": "apiKey",
            "in": "header",
            "name": "X-Emulator-Admin-Key",
            "description": "Needed when the server has --admin-key (or --api-key); also accepted as a bearer "
            "token or an HTTP Basic password.",
        },
    }
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            operation.get("responses", {}).pop("422", None)
            if path.startswith("/__emulator/"):
                operation["security"] = [{ADMIN_SECURITY_SCHEME: []}, {SECURITY_SCHEME: []}]
                writes = (400,) if method in ("post", "delete") else ()  # a body that is not JSON
                for status, doc in error_docs((401, *writes)).items():
                    operation["responses"].setdefault(str(status), doc)
    variations = document.get("paths", {}).get("/v1/images/variations", {}).get("post")
    if variations is not None and not catalog.rules.variations:
        variations["deprecated"] = True
        variations["responses"].update(error_docs((404,)))
    return document
