"""GET /images/<token>.<ext>: the images behind `response_format=url`, re-rendered from the token."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..errors import ApiError
from ..render import RenderSpec, render
from ..runtime import Runtime, get_runtime
from ..urls import URL_PREFIX

router = APIRouter()

MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


@router.get(URL_PREFIX + "{token}", summary="Image behind a signed URL", response_class=Response)
async def image_file(token: str, runtime: Runtime = Depends(get_runtime)) -> Response:
    token, _, _extension = token.rpartition(".")
    spec = RenderSpec(**runtime.signer.verify(token))
    if spec.kind == "generation":
        data = await run_in_threadpool(runtime.cache.get_or_create, spec, lambda: render(spec))
    else:
        data = runtime.cache.get(spec)
        if data is None:
            raise ApiError(
                404,
                "This image is no longer available: images made from uploads are kept only in the "
                "emulator's in-memory cache, and this one was evicted or served by another instance.",
                code="image_not_found",
            )
    return Response(
        data,
        media_type=MEDIA_TYPES.get(spec.output_format, "application/octet-stream"),
        headers={"cache-control": "private, max-age=3600"},
    )
