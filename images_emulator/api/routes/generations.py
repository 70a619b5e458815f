"""POST /v1/images/generations."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from images_emulator.api.openapi import json_body_doc, response_docs
from images_emulator.api.request_body import read_json_object
from images_emulator.api.routes.common import images_response, plan_for
from images_emulator.api.runtime import Runtime, get_runtime
from images_emulator.api.streaming import stream_response
from images_emulator.contract.endpoints import GENERATIONS
from images_emulator.contract.validation import validate_generation

router = APIRouter()


@router.post(
    GENERATIONS.path,
    summary="Create image",
    openapi_extra=json_body_doc("CreateImageRequest"),
    responses=response_docs(stream_event="ImageGenStreamEvent"),
)
async def create_image(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    config = runtime.config
    body = await read_json_object(request, config.max_body_bytes, config.body_timeout_seconds)
    job = validate_generation(body, runtime.catalog())
    plan = await plan_for(request, runtime, job)
    if job.stream:
        return await stream_response(request, runtime, job, plan)
    return await images_response(request, runtime, job, plan)
