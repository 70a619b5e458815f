"""The test-harness hook every image endpoint calls once a request is valid.

`admit()` decides, for one valid request, what the harness does to it: answer an injected fault
(raises ApiError), hold it (timeout), count it against the rate limits, simulate latency, serve a
fixture image, break a stream or the connection. The routes and the streaming module only read the
returned Plan.

Precedence: `X-Emulator-Fault` header, then the first matching scheduled rule, then the first
matching fixture (its `error`); rate limits are checked for requests no error fault answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from images_emulator.contract.errors import ApiError, client_closed
from images_emulator.contract.job import Job
from images_emulator.harness.context import RequestContext
from images_emulator.harness.fault_kinds import FAULT_HEADER, FAULT_KINDS, Fault, fault_error
from images_emulator.harness.fault_rules import parse_header
from images_emulator.harness.fixtures import Fixture
from images_emulator.harness.latency import LATENCY_HEADER, latency_seconds
from images_emulator.harness.state import Harness
from images_emulator.harness.target import Target


@dataclass(frozen=True)
class Plan:
    """What the harness decided for one valid request."""

    latency_s: float = 0.0  # simulated generation time; streams spread it across their events
    stream_error: ApiError | None = None  # sent as an `error` frame after the first streamed event
    disconnect: bool = False  # close the connection mid-response
    fixture: bytes | None = None  # the bytes of the fixture image to answer with (imaging converts them)
    revised_prompt: str | None = None  # dall-e-3 revised_prompt override from a fixture
    fault: str | None = None  # the name of the fault applied, if any


def target_of(context: RequestContext, job: Job) -> Target:
    return Target(
        endpoint=job.endpoint.name,
        model=job.spec.name,
        family=job.spec.family,
        prompt=job.prompt,
        stream=job.stream,
        session=context.session,
        request_id=context.request_id,
        n=job.n,
    )


async def choose_fault(
    harness: Harness, headers: Mapping[str, str], target: Target, fixture: Fixture | None
) -> Fault | None:
    """The header's fault, else the first matching scheduled rule (consumed), else the fixture's error."""
    header = headers.get(FAULT_HEADER)
    if header:
        return parse_header(header)
    fault = await harness.best_effort(harness.faults.take(target), None)
    if fault is None and fixture is not None and fixture.error:
        fault = Fault(FAULT_KINDS[fixture.error], source="fixture")
    return fault


async def admit(
    harness: Harness,
    context: RequestContext,
    job: Job,
    headers: Mapping[str, str],
    hold: Callable[[float], Awaitable[bool]],
) -> Plan:
    """The plan for `job`; error faults and rate limits raise ApiError. `hold(seconds)` waits (the
    server's way: it returns True early when the client goes away, which ends the request as a 499)."""
    config = harness.config
    target = target_of(context, job)
    latency = latency_seconds(config.latency, config.latency_scale, job, headers.get(LATENCY_HEADER))
    fixture = harness.fixtures.match(target) if harness.fixtures else None
    fault = await choose_fault(harness, headers, target, fixture)
    effect = fault.kind.effect if fault else None
    error: ApiError | None = None
    if fault is not None:
        context.fault = fault.kind.name
        if effect in ("error", "stream_error"):
            error = fault_error(
                fault,
                target,
                rpm=config.rate_limit_rpm,
                ipm=config.rate_limit_ipm,
                default_retry_after=config.fault_retry_after,
            )
            if effect == "error" or not job.stream:
                raise error
    if harness.limiter.enabled:
        limited = await harness.best_effort(harness.limiter.admit(context.api_key, job.n, job.spec.name), None)
        if limited is not None:
            raise limited
    if fault is not None and effect == "hold":
        seconds = fault.options.hold_seconds
        if await hold(config.fault_hold_seconds if seconds is None else seconds):
            raise client_closed()
    return Plan(
        latency_s=latency,
        stream_error=error if effect == "stream_error" else None,
        disconnect=effect == "disconnect",
        fixture=fixture.image if fixture else None,
        revised_prompt=fixture.revised_prompt if fixture else None,
        fault=fault.kind.name if fault else None,
    )
