"""POST /v1/images/edits: multipart uploads, or the JSON form with data URLs (GPT models)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from images_emulator.api.openapi import EDIT_FILE_TYPES, json_body_doc, response_docs
from images_emulator.api.request_body import is_json, media_type, parse_json_object, read_body, unsupported_content_type
from images_emulator.api.routes.common import images_response
from images_emulator.api.runtime import Runtime, get_runtime
from images_emulator.api.streaming import stream_response
from images_emulator.api.uploads import EditInputs, decode_edit, edit_parts, json_edit_parts, read_form
from images_emulator.contract.catalog import ModelSpec
from images_emulator.contract.job import Job
from images_emulator.contract.resolve import build_job
from images_emulator.contract.validation import validate_edit
from images_emulator.harness.plan import admit

router = APIRouter()

BODY_TYPES = ("multipart/form-data", "application/json")


@router.post(
    "/v1/images/edits",
    summary="Create image edit",
    openapi_extra=json_body_doc("EditImageJsonRequest", multipart="CreateImageEditRequest", files=EDIT_FILE_TYPES),
    responses=response_docs(stream_event="ImageEditStreamEvent"),
)
async def create_image_edit(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    limit, timeout = runtime.settings.max_body_bytes, runtime.settings.body_timeout_seconds
    catalog = runtime.catalog()
    kind = media_type(request)
    if kind == "multipart/form-data":
        async with read_form(request, limit, timeout) as form:
            spec, values, parts = validate_edit(
                form.body, lambda spec: edit_parts(form, spec), form=True, catalog=catalog
            )
            files = await run_in_threadpool(decode_edit, spec, parts)
    elif is_json(kind):
        body = parse_json_object(await read_body(request, limit, timeout))
        spec, values, parts = validate_edit(
            body, lambda spec: json_edit_parts(body, spec), form=False, catalog=catalog
        )
        files = await run_in_threadpool(decode_edit, spec, parts)
    else:
        raise unsupported_content_type(kind, BODY_TYPES)
    job = edit_job(spec, values, files)
    plan = await admit(request, job)
    if job.stream:
        return await stream_response(request, runtime, job, plan)
    return await images_response(request, runtime, job, plan)


def edit_job(spec: ModelSpec, values: dict[str, Any], files: EditInputs) -> Job:
    """The edit's Job: sizes, qualities and default size from the model's edit rules."""
    rules = spec.edits
    assert rules is not None
    return build_job(
        "edits",
        spec,
        values,
        sizes=rules.sizes,
        qualities=rules.qualities,
        default_size=rules.default_size,
        inputs=files.images,
        mask=files.mask,
        markup=files.markup,
    )
