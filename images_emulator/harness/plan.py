"""The test-harness hook every image endpoint calls once a request is valid.

`admit()` decides, for one valid request, what the harness does to it: answer an injected fault
(raises ApiError), hold it (timeout), count it against the rate limits, simulate latency, serve a
fixture image, break a stream or the connection. The routes and the streaming module only read the
returned Plan.

Precedence: `X-Emulator-Fault` header, then the first matching scheduled rule, then the first
matching fixture (its `error`); rate limits are checked for requests no error fault answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from images_emulator.contract.errors import ApiError
from images_emulator.contract.job import Job
from images_emulator.harness.faults import FAULT_HEADER, FAULT_KINDS, Fault, Target, fault_error, parse_header
from images_emulator.harness.latency import LATENCY_HEADER, latency_seconds
from images_emulator.imaging.pictures import fixture_image

if TYPE_CHECKING:
    from images_emulator.api.runtime import Runtime
    from images_emulator.harness.fixtures import Fixture

SESSION_HEADER = "x-emulator-session"
SESSION_STATE = "emulator_session"  # scope["state"] keys shared with the journal middleware
FAULT_STATE = "emulator_fault"


@dataclass(frozen=True)
class Plan:
    """What the harness decided for one valid request."""

    latency_s: float = 0.0  # simulated generation time; streams spread it across their events
    stream_error: ApiError | None = None  # sent as an `error` frame after the first streamed event
    disconnect: bool = False  # close the connection mid-response
    # a fixture image already converted to the job's size, format and background: serve it as is
    fixture_image: bytes | None = None
    revised_prompt: str | None = None  # dall-e-3 revised_prompt override from a fixture
    fault: str | None = None  # the name of the fault applied, if any


NO_PLAN = Plan()


def request_target(request: Request, job: Job) -> Target:
    state = request.scope.get("state", {})
    return Target(
        path=request.url.path,
        model=job.spec.name,
        family=job.spec.family,
        prompt=job.prompt,
        stream=job.stream,
        session=state.get(SESSION_STATE),
        request_id=state.get("request_id", ""),
        n=job.n,
    )


def bearer_key(authorization: str) -> str:
    """The key of an `Authorization: Bearer <key>` header value (rate limits count per key)."""
    return authorization.partition(" ")[2].strip()


async def hold(request: Request, seconds: float) -> bool:
    """Wait `seconds`, returning early (True) when the client disconnects."""
    with anyio.move_on_after(seconds):
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                return True
    return False


def choose_fault(request: Request, runtime: Runtime, target: Target, fixture: Fixture | None) -> Fault | None:
    """The header's fault, else the first matching scheduled rule (consumed), else the fixture's error."""
    header = request.headers.get(FAULT_HEADER)
    if header:
        return parse_header(header)
    fault = runtime.faults.take(target)
    if fault is None and fixture is not None and fixture.error:
        fault = Fault(FAULT_KINDS[fixture.error], source="fixture")
    return fault


async def admit(request: Request, job: Job) -> Plan:
    """The plan for `job`; error faults and rate limits raise ApiError."""
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    target = request_target(request, job)
    latency = latency_seconds(runtime.latency, settings.latency_scale, job, request.headers.get(LATENCY_HEADER))
    fixture = runtime.fixtures.match(target) if runtime.fixtures else None
    fault = choose_fault(request, runtime, target, fixture)
    effect = fault.kind.effect if fault else None
    error: ApiError | None = None
    if fault is not None:
        request.scope.setdefault("state", {})[FAULT_STATE] = fault.kind.name
        if effect in ("error", "stream_error"):
            error = fault_error(
                fault, target, ipm=settings.rate_limit_ipm, default_retry_after=settings.fault_retry_after
            )
            if effect == "error" or not job.stream:
                raise error
    limited = None
    if runtime.limiter.enabled:
        limited = runtime.limiter.admit(bearer_key(request.headers.get("authorization", "")), job.n, job.spec.name)
    if limited is not None:
        raise limited
    if fault is not None and effect == "hold":
        seconds = fault.options.hold_seconds
        await hold(request, settings.fault_hold_seconds if seconds is None else seconds)
    image = None
    if fixture is not None and fixture.image is not None:
        image = await run_in_threadpool(fixture_image, runtime.cache, fixture.image, job)
    return Plan(
        latency_s=latency,
        stream_error=error if effect == "stream_error" else None,
        disconnect=effect == "disconnect",
        fixture_image=image,
        revised_prompt=fixture.revised_prompt if fixture else None,
        fault=fault.kind.name if fault else None,
    )


class TruncatedResponse(Response):
    """Headers (announcing the full length) and half the body, then nothing: the server closes the
    connection because the response never completes, and the client sees it drop mid-body."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})
