"""Job → encoded images: render specs, the cache, and running Pillow off the event loop."""

from __future__ import annotations

import hashlib

from starlette.concurrency import run_in_threadpool

from .image_cache import ImageCache
from .job import Job
from .render import RenderSpec, render

KIND_BY_ENDPOINT = {"generations": "generation", "edits": "edit", "variations": "variation"}


def inputs_digest(job: Job) -> str:
    """A digest of the uploaded images and mask, so edits of different files render differently."""
    if not job.inputs and job.mask is None:
        return ""
    digest = hashlib.sha256()
    for upload in (*job.inputs, *((job.mask,) if job.mask else ())):
        digest.update(hashlib.sha256(upload.data).digest())
    return digest.hexdigest()[:32]


def render_spec(job: Job, index: int, partial: int | None = None) -> RenderSpec:
    """What to draw for image `index` of `job` (or its `partial`-th preview)."""
    return RenderSpec(
        model=job.spec.name,
        prompt=job.prompt,
        width=job.width,
        height=job.height,
        quality=job.quality,
        background=job.background,
        output_format=job.output_format,
        output_compression=job.output_compression,
        index=index,
        style=job.style,
        kind=KIND_BY_ENDPOINT[job.endpoint],
        inputs_digest=inputs_digest(job),
        partial=partial,
        partial_total=job.partial_images if partial is not None else 0,
    )


def encode(cache: ImageCache, job: Job, spec: RenderSpec) -> bytes:
    """Encoded bytes for `spec`, from the cache or freshly rendered (blocking: call off the loop)."""
    inputs = tuple(upload.image for upload in job.inputs)
    mask = job.mask.image if job.mask else None
    return cache.get_or_create(spec, lambda: render(spec, inputs, mask))


async def encode_all(cache: ImageCache, job: Job) -> list[bytes]:
    """The job's n final images, rendered in the threadpool."""
    specs = [render_spec(job, i) for i in range(job.n)]
    return await run_in_threadpool(lambda: [encode(cache, job, spec) for spec in specs])
