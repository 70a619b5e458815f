"""The test-harness hook every image endpoint calls once a request is valid.

`admit()` decides, for one valid request, what the harness does to it: answer an injected fault
(raises ApiError), hold it (timeout), simulate latency, serve a fixture image, break a stream.
The routes and the streaming module only read the returned Plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from .errors import ApiError
from .job import Job


@dataclass(frozen=True)
class Plan:
    """What the harness decided for one valid request."""

    latency_s: float = 0.0  # simulated generation time; streams spread it across their events
    stream_error: ApiError | None = None  # sent as an `error` frame after the first partial image
    disconnect: bool = False  # close the connection mid-response
    fixture_image: bytes | None = None  # a canned image (any format/size) to serve instead of a render
    revised_prompt: str | None = None  # dall-e-3 revised_prompt override from a fixture


NO_PLAN = Plan()


async def admit(request: Request, job: Job) -> Plan:
    """The plan for `job` (faults raise ApiError). Placeholder until the harness lands."""
    return NO_PLAN
