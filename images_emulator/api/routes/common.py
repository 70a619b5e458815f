"""What the three image endpoints share: the harness's plan for a Job, and the JSON ImagesResponse."""

from __future__ import annotations

import time
from collections.abc import Hashable

import anyio
from fastapi import Request
from fastapi.responses import Response

from images_emulator.api.offload import offload
from images_emulator.api.responses import TruncatedResponse, answer_tail, with_created
from images_emulator.api.runtime import Runtime
from images_emulator.api.urls import URL_PREFIX, blob_key
from images_emulator.contract.endpoints import GENERATIONS
from images_emulator.contract.errors import client_closed
from images_emulator.contract.job import Job
from images_emulator.harness.context import request_context
from images_emulator.harness.plan import Plan, admit
from images_emulator.imaging.pictures import final_images, final_specs


async def hold(request: Request, seconds: float) -> bool:
    """Wait `seconds`, returning early (True) when the client disconnects."""
    with anyio.move_on_after(seconds):
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                return True
    return False


async def plan_for(request: Request, runtime: Runtime, job: Job) -> Plan:
    """The harness's plan for a valid job (error faults and rate limits raise ApiError)."""
    context = request_context(request.scope)
    if runtime.gallery.enabled:  # references only: the dashboard makes its thumbnails when it asks
        context.uploads = tuple(upload.image for upload in job.inputs) + ((job.mask.image,) if job.mask else ())
    return await admit(runtime.harness, context, job, context.headers, lambda s: hold(request, s))


def base_url(request: Request, runtime: Runtime) -> str:
    """Where clients reach this server: --public-url, else the Host the client used."""
    configured = runtime.config.public_url
    return (configured or str(request.base_url)).rstrip("/")


def response_tail(
    runtime: Runtime, job: Job, plan: Plan, root: str, filters: bool = False
) -> tuple[bytes, dict[str, bytes]]:
    """Render the images, count usage and serialize the JSON once (blocking: runs in the threadpool).
    `filters`: with Azure's per-image filter results.

    Also returns the images the URLs point at that can't be re-rendered from a URL (made from uploads),
    by their key in the store.
    """
    images = final_images(runtime.cache, job, plan.fixture)
    urls: list[str] = []
    stored: dict[str, bytes] = {}
    if job.response_format == "url":
        for index, spec in enumerate(final_specs(job)):
            urls.append(f"{root}{URL_PREFIX}{runtime.signer.token(spec)}.{spec.output_format}")
            if job.endpoint != GENERATIONS:
                stored[blob_key(spec)] = images[index]
    return answer_tail(job, images, urls=urls, revised=plan.revised_prompt, filters=filters), stored


def tail_cache_key(job: Job, plan: Plan, filters: bool) -> Hashable | None:
    """What a b64_json body depends on; None when it can't be reused (URLs expire, fixtures vary)."""
    if job.response_format == "url" or plan.fixture is not None:
        return None
    return ("response-tail", final_specs(job), job.input_fidelity, plan.revised_prompt, job.safety_identifier, filters)


async def images_response(request: Request, runtime: Runtime, job: Job, plan: Plan) -> Response:
    """The job's images as b64_json or signed URLs, answered after the plan's latency.

    A repeated request reuses the serialized tail of its body, so it costs no base64 or JSON work.
    """
    started = time.perf_counter()
    filters = job.spec.azure_filter_results and request_context(request.scope).azure is not None
    key = tail_cache_key(job, plan, filters)
    cached = runtime.cache.get(key) if key is not None else None
    if cached is not None:
        tail = cached
    else:
        root = base_url(request, runtime)
        tail, stored = await offload(response_tail, runtime, job, plan, root, filters)
        harness = runtime.harness
        for name, data in stored.items():  # any replica sharing the store serves these URLs
            await harness.best_effort(harness.store.blob_put(name, data, runtime.signer.ttl_seconds), None)
        if key is not None:
            runtime.cache.put(key, tail)
    body = with_created(tail, int(time.time()))
    remaining = plan.latency_s - (time.perf_counter() - started)
    if remaining > 0 and await hold(request, remaining):
        raise client_closed()
    if plan.disconnect:
        return TruncatedResponse(body, media_type="application/json")
    return Response(body, media_type="application/json")
