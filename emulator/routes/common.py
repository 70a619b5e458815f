"""What the three image endpoints share: turning a Job into the JSON ImagesResponse."""

from __future__ import annotations

import time

from fastapi import Request
from fastapi.responses import Response

from ..harness import Plan, TruncatedResponse, hold
from ..imaging import encode_all, render_spec
from ..job import Job
from ..responses import images_response_body, revised_prompt
from ..runtime import Runtime
from ..urls import URL_PREFIX
from ..usage import image_usage


def base_url(request: Request, runtime: Runtime) -> str:
    """Where clients reach this server: --public-url, else the Host the client used."""
    configured = runtime.settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def job_usage(job: Job, partial_images: int = 0, *, with_output_details: bool = True) -> dict | None:
    return image_usage(
        job.spec,
        prompt=job.prompt,
        quality=job.quality,
        size=job.size,
        n=job.n,
        input_images=[upload.size for upload in job.inputs],
        input_fidelity=job.input_fidelity,
        partial_images=partial_images,
        with_output_details=with_output_details,
    )


async def images_response(request: Request, runtime: Runtime, job: Job, plan: Plan) -> Response:
    """Render the job's images and answer them as b64_json or signed URLs, after the plan's latency."""
    started = time.perf_counter()
    images = await encode_all(runtime.cache, job, plan)
    revised = None
    if job.spec.revised_prompt:
        revised = [plan.revised_prompt or revised_prompt(job.prompt, job.style)] * job.n
    urls: list[str] = []
    if job.response_format == "url":
        root = base_url(request, runtime)
        for index in range(job.n):
            spec = render_spec(job, index)
            urls.append(f"{root}{URL_PREFIX}{runtime.signer.token(spec)}.{spec.output_format}")
    body = images_response_body(
        job,
        int(time.time()),
        images=images,
        urls=urls,
        usage=job_usage(job),
        revised_prompts=revised,
    )
    remaining = plan.latency_s - (time.perf_counter() - started)
    if remaining > 0:
        await hold(request, remaining)
    if plan.disconnect:
        return TruncatedResponse(body, media_type="application/json")
    return Response(body, media_type="application/json")
