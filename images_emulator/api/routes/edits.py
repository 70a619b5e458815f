"""POST /v1/images/edits: multipart uploads, or the JSON form with data URLs (GPT models)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from images_emulator.api.deployments import deployed
from images_emulator.api.image_parts import edit_parts, files_of_edit, json_edit_parts
from images_emulator.api.multipart import read_form
from images_emulator.api.offload import offload
from images_emulator.api.openapi import EDIT_FILE_TYPES, json_body_doc, response_docs
from images_emulator.api.request_body import is_json, json_object, media_type, read_body, unsupported_content_type
from images_emulator.api.routes.common import images_response, plan_for
from images_emulator.api.runtime import Runtime, get_runtime
from images_emulator.api.streaming import stream_response
from images_emulator.contract.catalog import ModelSpec
from images_emulator.contract.endpoints import EDITS
from images_emulator.contract.job import EditInputs
from images_emulator.contract.validation import validate_edit

router = APIRouter()

BODY_TYPES = ("multipart/form-data", "application/json")


@router.post(
    EDITS.path,
    summary="Create image edit",
    openapi_extra=json_body_doc("EditImageJsonRequest", multipart="CreateImageEditRequest", files=EDIT_FILE_TYPES),
    responses=response_docs(stream_event="ImageEditStreamEvent"),
)
async def create_image_edit(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    limit, timeout = runtime.config.max_body_bytes, runtime.config.body_timeout_seconds
    catalog = runtime.catalog()
    kind = media_type(request)
    # Validation decodes the uploads (Pillow): the whole of it runs off the event loop.
    if kind == "multipart/form-data":
        async with read_form(request, limit, timeout) as form:

            def form_files(spec: ModelSpec) -> EditInputs:
                return files_of_edit(edit_parts(form, spec), spec)

            fields = deployed(request, runtime, form.body, catalog)
            job = await offload(validate_edit, fields, form_files, form=True, catalog=catalog)
    elif is_json(kind):
        body = await json_object(request, await read_body(request, limit, timeout))

        def json_files(spec: ModelSpec) -> EditInputs:
            return files_of_edit(json_edit_parts(body, spec), spec)

        job = await offload(
            validate_edit, deployed(request, runtime, body, catalog), json_files, form=False, catalog=catalog
        )
    else:
        raise unsupported_content_type(kind, BODY_TYPES)
    plan = await plan_for(request, runtime, job)
    if job.stream:
        return await stream_response(request, runtime, job, plan)
    return await images_response(request, runtime, job, plan)
