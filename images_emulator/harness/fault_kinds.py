"""Fault kinds, as a data table, and the error each one answers.

A fault is injected per request (header `X-Emulator-Fault: kind[; option=value ...]`), by a scheduled
rule (`POST /__emulator/faults`, fault_rules.py), or by a fixture (`error: kind`). Error kinds answer
the real API's status, body and headers (contract §11/§12); `timeout` holds the response,
`disconnect` drops the connection mid-body, `stream_error` sends an `error` frame after the first
streamed event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from images_emulator.contract.errors import SERVER_ERROR_MESSAGE, ApiError
from images_emulator.harness.ratelimit import (
    NOMINAL_LIMITS,
    ORGANIZATION,
    RATE_LIMIT_CODE,
    RATE_LIMIT_MESSAGE,
    UNITS,
    format_duration,
    ratelimit_headers,
    retry_headers,
)
from images_emulator.harness.target import Target

Effect = Literal["error", "hold", "disconnect", "stream_error"]
FAULT_HEADER = "x-emulator-fault"
# Upper bound of retry_after: a day (larger values overflow the retry-after-ms header). hold_seconds is
# bounded by MAX_WAIT_SECONDS, as every wait the server does for a request.
MAX_FAULT_SECONDS = 86_400


@dataclass(frozen=True)
class ErrorShape:
    """One error answer: status, envelope fields and a `str.format` message template.

    Template fields: model, organization, request_id, unit, limit, used, requested, retry_in.
    """

    status: int
    type: str
    code: str | None
    message: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FaultKind:
    name: str
    effect: Effect
    description: str
    error: ErrorShape | None = None  # the error answered (effect "error")
    by_family: Mapping[str, ErrorShape] = field(default_factory=dict)  # per model family ("gpt-image", "dall-e")
    retry_after: bool = False  # sends retry-after / retry-after-ms even when the fault sets none
    rate_limit_headers: bool = False  # a 429 whose x-ratelimit-*-images show the budget exhausted

    def shape(self, family: str) -> ErrorShape | None:
        return self.by_family.get(family, self.error)


SERVER_ERROR = ErrorShape(500, "server_error", None, SERVER_ERROR_MESSAGE)

_KINDS: tuple[FaultKind, ...] = (
    FaultKind(
        "rate_limit",
        "error",
        "429 rate_limit_exceeded with retry-after, retry-after-ms and x-ratelimit-* headers",
        ErrorShape(429, "requests", RATE_LIMIT_CODE, RATE_LIMIT_MESSAGE),
        retry_after=True,
        rate_limit_headers=True,
    ),
    FaultKind(
        "insufficient_quota",
        "error",
        "429 insufficient_quota (the SDKs retry it like any 429)",
        ErrorShape(
            429,
            "insufficient_quota",
            "insufficient_quota",
            "You exceeded your current quota, please check your plan and billing details.",
        ),
    ),
    FaultKind("server_error", "error", "500 server_error", SERVER_ERROR),
    FaultKind(
        "overloaded",
        "error",
        "503 server_error: the model is overloaded",
        ErrorShape(
            503,
            "server_error",
            None,
            "That model is currently overloaded with other requests. You can retry your request, or contact "
            "us through our help center at help.openai.com if the error persists. "
            "(Please include the request ID {request_id} in your message.)",
        ),
    ),
    FaultKind(
        "content_policy",
        "error",
        "400 moderation_blocked (GPT image models) or content_policy_violation (dall-e)",
        by_family=MappingProxyType(
            {
                "gpt-image": ErrorShape(
                    400,
                    "image_generation_user_error",
                    "moderation_blocked",
                    "Your request was rejected by the safety system. If you believe this is an error, contact "
                    "us at help.openai.com and include the request ID {request_id}.",
                    MappingProxyType({"moderation_details": {"moderation_stage": "input", "categories": ["violence"]}}),
                ),
                "dall-e": ErrorShape(
                    400,
                    "invalid_request_error",
                    "content_policy_violation",
                    "Your request was rejected as a result of our safety system. Your prompt may contain text "
                    "that is not allowed by our safety system.",
                ),
            }
        ),
    ),
    FaultKind("timeout", "hold", "hold the response (fault_hold_seconds or hold_seconds), then answer"),
    FaultKind("disconnect", "disconnect", "close the connection in the middle of the response body"),
    FaultKind(
        "stream_error",
        "stream_error",
        "an error frame after the first streamed event (streaming requests; others get the error as JSON)",
        SERVER_ERROR,
    ),
)

FAULT_KINDS: MappingProxyType[str, FaultKind] = MappingProxyType({k.name: k for k in _KINDS})
ERROR_KINDS = tuple(k.name for k in _KINDS if k.effect == "error")


@dataclass(frozen=True)
class FaultOptions:
    """Per-fault settings; None = the kind's default."""

    retry_after: float | None = None  # seconds; any value, including above the Python SDK's 120 s cap
    should_retry: bool | None = None  # x-should-retry: true|false
    hold_seconds: float | None = None  # timeout: how long to hold
    error: str | None = None  # stream_error: which error kind the frame carries (default server_error)


@dataclass(frozen=True)
class Fault:
    """A fault chosen for one request."""

    kind: FaultKind
    options: FaultOptions = FaultOptions()
    source: str = "header"  # header | rule | fixture


def fault_error(
    fault: Fault, target: Target, *, rpm: int | None, ipm: int | None, default_retry_after: float
) -> ApiError:
    """The ApiError an error-kind fault (or the error carried by a stream_error) answers for `target`."""
    kind = FAULT_KINDS[fault.options.error] if fault.options.error else fault.kind
    shape = kind.shape(target.family)
    assert shape is not None, kind.name
    headers: dict[str, str] = {}
    retry_s = fault.options.retry_after
    if retry_s is None and kind.retry_after:
        retry_s = default_retry_after
    if retry_s is not None:
        headers.update(retry_headers(retry_s))
    limit = ipm or NOMINAL_LIMITS["images"]
    if shape.status == 429:  # every 429 reports both budgets: the images one exhausted (contract §12)
        requests = rpm or NOMINAL_LIMITS["requests"]
        exhausted = limit if kind.rate_limit_headers else 1
        headers.update(
            ratelimit_headers(
                {"requests": (requests, requests - 1, retry_s or 0), "images": (limit, limit - exhausted, retry_s or 0)}
            )
        )
    if fault.options.should_retry is not None:
        headers["x-should-retry"] = "true" if fault.options.should_retry else "false"
    message = shape.message.format(
        model=target.model,
        organization=ORGANIZATION,
        request_id=target.request_id,
        unit=UNITS["images"],
        limit=limit,
        used=limit,
        requested=target.n,
        retry_in=format_duration(retry_s or 0),
    )
    return ApiError(shape.status, message, type=shape.type, code=shape.code, headers=headers, extra=dict(shape.extra))
