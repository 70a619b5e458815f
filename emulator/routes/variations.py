"""POST /v1/images/variations: one square PNG in, n recoloured variants out (until the endpoint retired)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..errors import invalid_url
from ..harness import admit
from ..request_body import media_type, unsupported_content_type
from ..resolve import build_job
from ..runtime import Runtime, get_runtime
from ..schemas import VARIATION_ERRORS, VARIATION_FILE_TYPES, json_body_doc, response_docs
from ..uploads import decode_variation, read_form, variation_part
from ..validation import validate_variation
from .common import images_response

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
