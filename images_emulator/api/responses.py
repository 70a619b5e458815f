"""Wire format of `ImagesResponse`, built once as bytes (base64 payloads are never re-scanned)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from images_emulator.contract.azure import content_filter_results, prompt_filter_results
from images_emulator.contract.errors import ApiError
from images_emulator.contract.job import Job
from images_emulator.contract.usage import job_usage, svg_usage


class JSONBody(JSONResponse):
    """A JSON response any client can decode, whatever strings it carries.

    Compact UTF-8 like starlette's JSONResponse; but a lone surrogate (a client may send `"\\ud800"`
    in a prompt, a parameter name or a value echoed in an error message) cannot be encoded in UTF-8,
    so such content is sent with `\\u` escapes instead, which is the same JSON text to a decoder.
    """

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def error_response(error: ApiError, headers: Mapping[str, str] | None = None) -> JSONBody:
    """`error` in OpenAI's envelope, with its headers."""
    return JSONBody(error.body(), status_code=error.status, headers={**error.headers, **(headers or {})})


def revised_prompt(prompt: str, style: str | None) -> str:
    """dall-e-3's rewrite of the prompt: deterministic, and it keeps the user's words."""
    mood = "natural, realistic" if style == "natural" else "vivid, dramatic"
    text = " ".join(prompt.split())
    return f"A {mood} image of {text}, rendered with rich detail, balanced composition and careful lighting."


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def image_item(
    *, b64_json: str | None = None, url: str | None = None, revised: str | None = None, filters: bool = False
) -> str:
    """One `data[]` object; the base64 text is spliced in without JSON escaping (it needs none).
    `filters`: with Azure's per-image filter results, in the order of its spec's example."""
    parts = []
    if revised is not None:
        parts.append(f'"revised_prompt":{_dumps(revised)}')
    if filters:
        parts.append(f'"prompt_filter_results":{_dumps(prompt_filter_results())}')
    if b64_json is not None:
        parts.append(f'"b64_json":"{b64_json}"')
    if url is not None:
        parts.append(f'"url":{_dumps(url)}')
    if filters:
        parts.append(f'"content_filter_results":{_dumps(content_filter_results())}')
    return "{" + ",".join(parts) + "}"


def gpt_fields(job: Job, usage: dict[str, Any] | None, svg_usage: dict[str, Any] | None = None) -> dict[str, Any]:
    """The top-level fields GPT image models add to the response (contract §7, §16)."""
    if not job.spec.is_gpt:
        return {}
    fields: dict[str, Any] = {
        "background": job.background,
        "output_format": job.output_format,
        "quality": job.quality,
        "size": job.size,
    }
    if job.safety_identifier is not None:
        fields["safety_identifier"] = job.safety_identifier
    if svg_usage is not None:
        fields["svg_usage"] = svg_usage
    if usage is not None:
        fields["usage"] = usage
    return fields


def images_response_tail(
    job: Job,
    *,
    images: Sequence[bytes] = (),
    urls: Sequence[str] = (),
    usage: dict[str, Any] | None = None,
    svg_usage: dict[str, Any] | None = None,
    revised_prompts: Sequence[str | None] | None = None,
    filters: bool = False,
) -> bytes:
    """The JSON body after `created`: `data` (b64_json or url per item), then the GPT fields.
    `filters`: each item with Azure's filter results.

    Kept apart from `created` so a cached tail becomes a response with one concatenation.
    """
    count = len(urls) or len(images)
    revised = revised_prompts or [None] * count
    if urls:
        items = [image_item(url=u, revised=r, filters=filters) for u, r in zip(urls, revised, strict=True)]
    else:
        items = [
            image_item(b64_json=base64.b64encode(img).decode("ascii"), revised=r, filters=filters)
            for img, r in zip(images, revised, strict=True)
        ]
    extra = gpt_fields(job, usage, svg_usage)
    fields = ("," + _dumps(extra)[1:-1]) if extra else ""
    return f'"data":[{",".join(items)}]{fields}}}'.encode("ascii")


BODY_MEMO_BYTES = 4 * 1024 * 1024  # whole bodies kept for the current second, at most
MEMO_BODY_MAX = 256 * 1024  # larger bodies are not kept: their copy is small beside sending them
MEMO_TAILS = 4096  # tails remembered per second


class _BodyMemo:
    """The last second's whole bodies by tail: a cached tail served many times a second is copied once
    a second, not per request (that copy was a tenth of a cached 1024x1024 request's time). A body is
    kept from its tail's second use in the second: a tail served once (most of a varied load) leaves
    no copy behind."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.second = -1
        # id(tail) → its length once seen (no reference held), then (tail, body); the tail keeps its id
        self.bodies: dict[int, int | tuple[bytes, bytes]] = {}
        self.size = 0

    def body(self, tail: bytes, created: int) -> bytes:
        if created != self.second:
            self.second, self.bodies, self.size = created, {}, 0
        key = id(tail)
        found = self.bodies.get(key)
        if isinstance(found, tuple) and found[0] is tail:
            return found[1]
        body = whole_body(tail, created)
        # (A kept tail holds its id; the id of a tail seen once may recur for another: hence the length.)
        if found != len(tail):
            if len(self.bodies) < MEMO_TAILS:
                self.bodies[key] = len(tail)
        elif len(body) <= MEMO_BODY_MAX and self.size + len(body) <= self.budget:
            self.bodies[key] = (tail, body)
            self.size += len(body)
        return body


def whole_body(tail: bytes, created: int) -> bytes:
    """The whole `ImagesResponse` body: `created` first, then the tail (no memo: safe off the event loop)."""
    return b'{"created":%d,%s' % (created, tail)


_memo = _BodyMemo(BODY_MEMO_BYTES)


def answer_tail(
    job: Job, images: Sequence[bytes], *, urls: Sequence[str] = (), revised: str | None = None, filters: bool = False
) -> bytes:
    """The tail of `job`'s answer with these images (or URLs): its usage, SVG usage and revised prompts
    (`revised`: a fixture's, else dall-e-3's rewrite)."""
    revised_prompts = [revised or revised_prompt(job.prompt, job.style)] * job.n if job.spec.revised_prompt else None
    return images_response_tail(
        job,
        images=images,
        urls=urls,
        usage=job_usage(job),
        svg_usage=svg_usage(job, images[0]) if job.svg else None,
        revised_prompts=revised_prompts,
        filters=filters,
    )


def with_created(tail: bytes, created: int) -> bytes:
    """The whole `ImagesResponse` body: `created` first, then the tail."""
    return _memo.body(tail, created)


class TruncatedResponse(Response):
    """Headers (announcing the full length) and half the body, then nothing: the server closes the
    connection because the response never completes, and the client sees it drop mid-body."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})
