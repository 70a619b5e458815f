"""Server-sent events for `stream=true` (contract §9): partial images, then the completed image.

Wire format, one frame per event, flushed as soon as it is rendered (no `[DONE]` terminator)::

    event: image_generation.partial_image
    data: {"type":"image_generation.partial_image","b64_json":"...","created_at":...,"size":"1024x1024",
           "quality":"low","background":"opaque","output_format":"png","partial_image_index":0}

Event order: for each of the job's `n` images, in order, its `partial_images` previews
(`partial_image_index` 0, 1, ... from coarse to sharp), then its `completed` event; so n=2 with
partial_images=1 sends partial(0) completed partial(0) completed. Every `completed` event carries the
usage of the whole request (`ImagesUsage`: the non-streamed usage plus 100 output tokens per partial
image sent, times n) — UNVERIFIED: the real API's n>1 streaming behaviour is undocumented.

`size`/`quality`/`background` report the resolved values, never `auto`. A completed image is
byte-identical to the non-streamed image for the same request (same RenderSpec, same cache entry).

Failures after the 200 has started are sent as an `error` frame (`{"type":"error","error":{...}}`),
after which the stream ends. A client that disconnects cancels the remaining work.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.types import Send

from images_emulator.api.offload import offload
from images_emulator.api.runtime import Runtime
from images_emulator.contract.errors import ApiError, server_error
from images_emulator.contract.job import Job
from images_emulator.contract.usage import job_usage
from images_emulator.harness.context import request_context
from images_emulator.harness.plan import Plan
from images_emulator.imaging.pictures import stream_image

log = logging.getLogger("images_emulator")

STREAM_HEADERS = {"cache-control": "no-cache"}


@dataclass(frozen=True)
class Step:
    """One image event of a stream: a partial preview of image `index`, or (partial=None) the final one."""

    index: int
    partial: int | None = None


class AbortStream(Exception):
    """Raised by an event generator to drop the connection without ending the response cleanly."""


class EventStreamResponse(StreamingResponse):
    """`text/event-stream; charset=utf-8` whose generator may abort (the server then closes the socket).

    Disconnects: on ASGI spec < 2.4 servers (uvicorn) starlette cancels the generator as soon as the
    client goes away; `event_stream` also checks `request.is_disconnected()` before each render.
    """

    media_type = "text/event-stream"

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        except AbortStream:
            return  # no final empty chunk: the server closes the connection mid-body


def plan_steps(job: Job) -> list[Step]:
    """The image events of a stream, in order: per image, its partials then its completion."""
    steps: list[Step] = []
    for index in range(job.n):
        steps += [Step(index, k) for k in range(job.partial_images)]
        steps.append(Step(index))
    return steps


def frame(event: str, data: str) -> bytes:
    """One SSE frame: `event: <event>\\ndata: <data>\\n\\n` (data is single-line JSON)."""
    return f"event: {event}\ndata: {data}\n\n".encode()


def error_frame(error: ApiError) -> bytes:
    """The frame for a failure after the stream started; both SDKs raise APIError on it."""
    return frame("error", json.dumps({"type": "error", "error": error.error_object()}, separators=(",", ":")))


def image_event(event_type: str, image: bytes, job: Job, *, partial: int | None, usage: Any = None) -> bytes:
    """A partial_image (with `partial_image_index`) or completed (with `usage`) frame.

    The base64 text is spliced into the JSON without escaping (it needs none) or re-scanning.
    """
    fields: dict[str, Any] = {
        "created_at": int(time.time()),
        "size": job.size,
        "quality": job.quality,
        "background": job.background,
        "output_format": job.output_format,
    }
    if partial is not None:
        fields["partial_image_index"] = partial
    else:
        fields["usage"] = usage
        if job.safety_identifier is not None:
            fields["safety_identifier"] = job.safety_identifier
    rest = json.dumps(fields, separators=(",", ":"))[1:]
    b64 = base64.b64encode(image).decode("ascii")
    return frame(event_type, f'{{"type":"{event_type}","b64_json":"{b64}",{rest}')


def render_step(runtime: Runtime, job: Job, plan: Plan, step: Step) -> bytes:
    """The SSE frame of one step: render, base64 and JSON (blocking: runs in the threadpool)."""
    image = stream_image(runtime.cache, job, plan.fixture, step.index, step.partial)
    if step.partial is not None:
        return image_event(job.endpoint.event("partial_image"), image, job, partial=step.partial)
    usage = job_usage(job, partial_images=job.partial_images, with_output_details=False)
    return image_event(job.endpoint.event("completed"), image, job, partial=None, usage=usage)


def step_delay(runtime: Runtime, plan: Plan, position: int, total: int) -> float:
    """Seconds to wait before event `position`: an even share of the simulated latency, plus the
    configured interval between events."""
    interval = runtime.config.stream_interval_ms / 1000 if position > 0 else 0.0
    return plan.latency_s / total + interval


def error_position(job: Job) -> int:
    """Where an injected stream error replaces the event: after the first partial, else before completed."""
    return 1 if job.partial_images > 0 else 0


async def event_stream(request: Request, runtime: Runtime, job: Job, plan: Plan) -> AsyncIterator[bytes]:
    """The frames of one stream, each yielded (and so flushed) as soon as it is rendered."""
    steps = plan_steps(job)
    try:
        for position, step in enumerate(steps):
            delay = step_delay(runtime, plan, position, len(steps))
            if delay > 0:
                await asyncio.sleep(delay)
            if plan.stream_error is not None and position == error_position(job):
                yield error_frame(plan.stream_error)
                return
            if await request.is_disconnected():
                return
            yield await offload(render_step, runtime, job, plan, step)
            if plan.disconnect:
                raise AbortStream
    except AbortStream:
        raise
    except Exception:
        log.exception("stream failed after it started")
        yield error_frame(server_error(request_context(request.scope).request_id))


async def stream_response(request: Request, runtime: Runtime, job: Job, plan: Plan) -> Response:
    """The 200 `text/event-stream` response for a valid streaming job (nothing runs until it is sent)."""
    if job.endpoint.events is None:
        raise ValueError(f"{job.endpoint.name} does not stream")
    return EventStreamResponse(event_stream(request, runtime, job, plan), headers=STREAM_HEADERS)
