"""POST /v1/images/variations: one square PNG in, n recoloured variants out (until the endpoint retired)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from images_emulator.api.openapi import VARIATION_ERRORS, VARIATION_FILE_TYPES, json_body_doc, response_docs
from images_emulator.api.request_body import media_type, unsupported_content_type
from images_emulator.api.routes.common import images_response
from images_emulator.api.runtime import Runtime, get_runtime
from images_emulator.api.uploads import decode_variation, read_form, variation_part
from images_emulator.contract.errors import invalid_url
from images_emulator.contract.resolve import build_job
from images_emulator.contract.validation import validate_variation
from images_emulator.harness.plan import admit

router = APIRouter()


@router.post(
    "/v1/images/variations",
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
    async with read_form(request, runtime.settings.max_body_bytes, runtime.settings.body_timeout_seconds) as form:
        spec, values, part = validate_variation(form.body, lambda spec: variation_part(form, spec), catalog)
        image = await run_in_threadpool(decode_variation, spec, part)
    job = build_job("variations", spec, values, inputs=(image,))
    plan = await admit(request, job)
    return await images_response(request, runtime, job, plan)
