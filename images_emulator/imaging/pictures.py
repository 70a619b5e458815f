"""Job → encoded images: the one place that decides "fixture image or rendered placeholder".

Every function here is blocking (Pillow): call it off the event loop. Rendered pictures and fixture
conversions go through the shared ImageCache, so a repeated request costs no Pillow work.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict

from PIL import Image, ImageOps

from images_emulator.contract.endpoints import GENERATIONS
from images_emulator.contract.job import Job
from images_emulator.imaging.cache import ImageCache
from images_emulator.imaging.encode import encode, flatten
from images_emulator.imaging.render import RenderSpec, encode_output, pixelate, render


def inputs_digest(job: Job) -> str:
    """A digest of the uploaded images, mask and markup, so edits of different files render differently."""
    if not job.inputs and job.mask is None and job.markup is None:
        return ""
    digest = hashlib.sha256()
    for upload in job.inputs:
        digest.update(hashlib.sha256(upload.data).digest())
    for tag, extra in ((b"", job.mask), (b"markup", job.markup)):
        if extra is not None:
            # A markup is tagged so that it never digests like the same file sent as a mask (the
            # mask alone stays untagged: every earlier edit keeps its bytes).
            digest.update(tag + hashlib.sha256(extra.data).digest())
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
        kind=job.endpoint.noun,
        inputs_digest=inputs_digest(job),
        partial=partial,
        partial_total=job.partial_images if partial is not None else 0,
        complexity=job.complexity,
        frame_count=job.frame_count,
        frame_duration_ms=job.frame_duration_ms,
        svg_model=job.svg.model if job.svg else None,
        svg_effort=job.svg.effort if job.svg else None,
    )


# The final specs of recent jobs, by identity: a body seen before validates to the same Job object
# (api/known_bodies.py), so its cache keys are built once and compare by identity. Holding the job
# keeps its id from being reused while the entry lives.
_SPECS: OrderedDict[int, tuple[Job, tuple[RenderSpec, ...]]] = OrderedDict()
_SPECS_KEPT = 256
_specs_lock = threading.Lock()


def final_specs(job: Job) -> tuple[RenderSpec, ...]:
    """`render_spec(job, i)` for every image of `job`."""
    with _specs_lock:
        known = _SPECS.get(id(job))
        if known is not None and known[0] is job:
            return known[1]
    specs = tuple(render_spec(job, index) for index in range(job.n))
    if job.inputs:  # an edit's job holds its decoded uploads (up to 16 x 16 MiB): never kept past its request
        return specs
    with _specs_lock:
        _SPECS[id(job)] = (job, specs)
        if len(_SPECS) > _SPECS_KEPT:
            _SPECS.popitem(last=False)
    return specs


def rendered(cache: ImageCache, job: Job, spec: RenderSpec) -> bytes:
    """The placeholder `spec` describes for `job`, from the cache or freshly rendered."""
    inputs = tuple(upload.image for upload in job.inputs)
    mask = job.mask.image if job.mask else None
    markup = job.markup.image if job.markup else None
    return cache.get_or_create(spec, lambda: render(spec, inputs, mask, markup))


def fitted(source: bytes, width: int, height: int, background: str) -> Image.Image:
    """A fixture image scaled to cover width x height and centre-cropped: RGBA for a transparent
    background, else flattened onto white."""
    with Image.open(io.BytesIO(source)) as opened:
        upright = ImageOps.exif_transpose(opened).convert("RGBA")
    covered = ImageOps.fit(upright, (width, height), Image.Resampling.LANCZOS)
    return covered if background == "transparent" else flatten(covered)


def fixture_picture(cache: ImageCache, source: bytes, spec: RenderSpec) -> bytes:
    """A fixture image (its file's bytes) as the picture `spec` describes: size, background, format
    and its options; cached."""
    key = ("fixture", hashlib.sha256(source).hexdigest(), spec)
    return cache.get_or_create(
        key, lambda: encode_output(fitted(source, spec.width, spec.height, spec.background), spec)
    )


def final_images(cache: ImageCache, job: Job, fixture: bytes | None = None) -> list[bytes]:
    """The job's n final images: the fixture image (n times) when the harness chose one, else rendered."""
    if fixture is not None:
        return [fixture_picture(cache, fixture, render_spec(job, 0))] * job.n
    return [rendered(cache, job, spec) for spec in final_specs(job)]


def stream_image(cache: ImageCache, job: Job, fixture: bytes | None, index: int, partial: int | None) -> bytes:
    """Image `index` of a stream, or its `partial`-th preview: a fixture's partials are pixelated from it."""
    if fixture is None:
        return rendered(cache, job, render_spec(job, index, partial=partial))
    final = fixture_picture(cache, fixture, render_spec(job, 0))
    return final if partial is None else partial_from_image(final, job, partial)


def url_image(cache: ImageCache, spec: RenderSpec, fixture: bytes | None) -> bytes | None:
    """The image behind a signed URL: the fixture's, or a generation re-rendered from its spec; None for
    an image made from uploads (the URL does not carry them: the store keeps its bytes)."""
    if fixture is not None:
        return fixture_picture(cache, fixture, spec)
    if spec.kind == GENERATIONS.noun:
        return cache.get_or_create(spec, lambda: render(spec))
    return None


def partial_from_image(data: bytes, job: Job, partial: int) -> bytes:
    """The `partial`-th preview of an already encoded final image (e.g. a canned fixture image).

    Pixelated like rendered partials (render's cell grid), at the image's own size, in the job's format.
    """
    with Image.open(io.BytesIO(data)) as source:
        has_alpha = source.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in source.info
        img = source.convert("RGBA" if has_alpha else "RGB")
    preview = pixelate(img, partial, job.partial_images)
    return encode(preview, job.output_format, job.output_compression)
