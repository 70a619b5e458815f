"""GET /images/<token>.<ext>: the images behind `response_format=url`, re-rendered from the token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from images_emulator.api.offload import offload
from images_emulator.api.openapi import error_docs, path_parameter
from images_emulator.api.runtime import Runtime, get_runtime
from images_emulator.api.urls import URL_PREFIX, blob_key
from images_emulator.contract.catalog import OUTPUT_FORMATS
from images_emulator.contract.endpoints import BY_NOUN
from images_emulator.contract.errors import ApiError
from images_emulator.harness.target import Target
from images_emulator.imaging.pictures import url_image
from images_emulator.imaging.render import RenderSpec

router = APIRouter()

MEDIA_TYPES = {name: output.media_type for name, output in OUTPUT_FORMATS.items()}


def fixture_source(runtime: Runtime, spec: RenderSpec) -> bytes | None:
    """The fixture image the request behind `spec` was answered with (fixtures match deterministically)."""
    fixtures = runtime.harness.fixtures
    endpoint = BY_NOUN.get(spec.kind)
    if fixtures is None or endpoint is None or spec.partial is not None:
        return None
    rule = fixtures.match(Target(endpoint.name, spec.model, "", spec.prompt))
    return rule.image if rule is not None and rule.error is None else None


IMAGE_DOCS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The image, re-rendered from the token",
        "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()},
    },
    **error_docs((403, 404)),
}


@router.get(
    URL_PREFIX + "{token}",
    summary="Image behind a signed URL",
    response_class=Response,
    responses=IMAGE_DOCS,
    openapi_extra={"parameters": [path_parameter("token", "The signed token, then the format's extension.")]},
)
async def image_file(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    token, _, _extension = request.path_params["token"].rpartition(".")
    spec = RenderSpec(**runtime.signer.verify(token))
    data = await offload(url_image, runtime.cache, spec, fixture_source(runtime, spec))
    if data is None:
        data = await runtime.harness.store.blob_get(blob_key(spec))
    if data is None:
        raise ApiError(
            404,
            "This image is no longer available: images made from uploads are kept in the emulator's store "
            "for the URL's lifetime, and this one expired, was evicted, or was made by a server that does "
            "not share this one's store.",
            code="image_not_found",
        )
    return Response(
        data,
        media_type=MEDIA_TYPES.get(spec.output_format, "application/octet-stream"),
        headers={"cache-control": "private, max-age=3600"},
    )
