"""POST /v1/images/variations: one square PNG in, n recoloured variants out (until the endpoint retired)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from images_emulator.api.image_parts import file_of_variation, variation_part
from images_emulator.api.multipart import read_form
from images_emulator.api.offload import offload
from images_emulator.api.openapi import VARIATION_ERRORS, VARIATION_FILE_TYPES, json_body_doc, response_docs
from images_emulator.api.request_body import media_type, unsupported_content_type
from images_emulator.api.routes.common import images_response, plan_for
from images_emulator.api.runtime import Runtime, get_runtime
from images_emulator.contract.catalog import ModelSpec
from images_emulator.contract.endpoints import VARIATIONS
from images_emulator.contract.errors import invalid_url
from images_emulator.contract.job import InputImage
from images_emulator.contract.validation import validate_variation

router = APIRouter()


@router.post(
    VARIATIONS.path,
    summary="Create image variation",
    openapi_extra=json_body_doc("", multipart="CreateImageVariationRequest", files=VARIATION_FILE_TYPES),
    responses=response_docs(statuses=VARIATION_ERRORS),
)
async def create_image_variation(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    catalog = runtime.catalog()
    if not catalog.rules.variations:  # retired on 2026-05-12: the live API answers 404 (contract §16)
        raise invalid_url(request.method, request.url.path)
    kind = media_type(request)
    if kind != "multipart/form-data":
        raise unsupported_content_type(kind, ("multipart/form-data",))
    async with read_form(request, runtime.config.max_body_bytes, runtime.config.body_timeout_seconds) as form:

        def source(spec: ModelSpec) -> InputImage:
            return file_of_variation(variation_part(form, spec), spec)

        job = await offload(validate_variation, form.body, source, catalog)
    plan = await plan_for(request, runtime, job)
    return await images_response(request, runtime, job, plan)
