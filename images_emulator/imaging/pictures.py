"""Job → encoded images: render specs, the cache, and running Pillow off the event loop."""

from __future__ import annotations

import hashlib
import io
from typing import TYPE_CHECKING

from PIL import Image

from images_emulator.contract.job import Job
from images_emulator.harness.fixtures import fitted
from images_emulator.imaging.cache import ImageCache
from images_emulator.imaging.render import RenderSpec, encode_output, pixelate, render
from images_emulator.imaging.render import encode as encode_picture

if TYPE_CHECKING:
    from images_emulator.harness.plan import Plan

KIND_BY_ENDPOINT = {"generations": "generation", "edits": "edit", "variations": "variation"}


def inputs_digest(job: Job) -> str:
    """A digest of the uploaded images and mask, so edits of different files render differently."""
    if not job.inputs and job.mask is None and job.markup is None:
        return ""
    digest = hashlib.sha256()
    for upload in job.inputs:
        digest.update(hashlib.sha256(upload.data).digest())
    for role, upload in (("mask", job.mask), ("markup", job.markup)):
        if upload is not None:
            # A markup is tagged so that it never digests like the same file sent as a mask (the
            # mask alone stays untagged: every earlier edit keeps its bytes).
            digest.update((b"markup" if role == "markup" else b"") + hashlib.sha256(upload.data).digest())
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
        complexity=job.complexity,
        frame_count=job.frame_count,
        frame_duration_ms=job.frame_duration_ms,
        svg_model=job.svg.model if job.svg else None,
        svg_effort=job.svg.effort if job.svg else None,
    )


def encode(cache: ImageCache, job: Job, spec: RenderSpec) -> bytes:
    """Encoded bytes for `spec`, from the cache or freshly rendered (blocking: call off the loop)."""
    inputs = tuple(upload.image for upload in job.inputs)
    mask = job.mask.image if job.mask else None
    markup = job.markup.image if job.markup else None
    return cache.get_or_create(spec, lambda: render(spec, inputs, mask, markup))


def final_images(cache: ImageCache, job: Job, plan: Plan | None = None) -> list[bytes]:
    """The job's n final images (the plan's fixture image n times, if any). Blocking: call off the loop."""
    if plan is not None and plan.fixture_image is not None:
        return [plan.fixture_image] * job.n
    return [encode(cache, job, render_spec(job, i)) for i in range(job.n)]


def fixture_bytes(cache: ImageCache, source: bytes, spec: RenderSpec) -> bytes:
    """A fixture image as the picture `spec` describes (size, background, format and its options),
    cached (blocking: call off the loop)."""
    key = ("fixture", hashlib.sha256(source).hexdigest(), spec)
    return cache.get_or_create(
        key, lambda: encode_output(fitted(source, spec.width, spec.height, spec.background), spec)
    )


def fixture_image(cache: ImageCache, source: bytes, job: Job) -> bytes:
    """`source` as the job's final image (same size, format, compression and background)."""
    return fixture_bytes(cache, source, render_spec(job, 0))


def partial_from_image(data: bytes, job: Job, partial: int) -> bytes:
    """The `partial`-th preview of an already encoded final image (e.g. a canned fixture image).

    Pixelated like rendered partials (render's cell grid), at the image's own size, in the job's format.
    Blocking: call off the loop.
    """
    with Image.open(io.BytesIO(data)) as source:
        has_alpha = source.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in source.info
        img = source.convert("RGBA" if has_alpha else "RGB")
    preview = pixelate(img, partial, job.partial_images)
    return encode_picture(preview, job.output_format, job.output_compression)
