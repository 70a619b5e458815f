"""POST /v1/images/generations."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from images_emulator.api.deployments import deployed
from images_emulator.api.openapi import json_body_doc, response_docs
from images_emulator.api.request_body import json_object, read_json_body
from images_emulator.api.routes.common import images_response, plan_for
from images_emulator.api.runtime import Runtime, get_runtime
from images_emulator.api.streaming import stream_response
from images_emulator.contract.endpoints import GENERATIONS
from images_emulator.contract.validation import validate_generation
from images_emulator.harness.context import request_context

router = APIRouter()


@router.post(
    GENERATIONS.path,
    summary="Create image",
    openapi_extra=json_body_doc("CreateImageRequest"),
    responses=response_docs(stream_event="ImageGenStreamEvent"),
)
async def create_image(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    config = runtime.config
    raw = await read_json_body(request, config.max_body_bytes, config.body_timeout_seconds)
    catalog = runtime.catalog()
    context = request_context(request.scope)
    # Not on Azure's paths: there the same bytes are another job on another deployment.
    known = runtime.bodies.get(raw, catalog.day) if context.azure is None else None
    if known is not None:  # a body seen lately: no parse, validation or summary again
        context.body, context.body_summary, job = known.document, known.summary, known.job
    else:
        document = await json_object(request, raw)
        job = validate_generation(deployed(request, runtime, document, catalog), catalog)
        if context.azure is None:
            runtime.bodies.put(raw, catalog.day, document, job)
    plan = await plan_for(request, runtime, job)
    if job.stream:
        return await stream_response(request, runtime, job, plan)
    return await images_response(request, runtime, job, plan)
