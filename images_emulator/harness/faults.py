"""Fault kinds (a data table), their wire shape, and scheduled fault rules.

A fault is injected per request (header `X-Emulator-Fault: kind[; option=value ...]`), by a scheduled
rule (`POST /__emulator/faults`), or by a fixture (`error: kind`). Error kinds answer the real API's
status, body and headers (contract §11/§12); `timeout` holds the response, `disconnect` drops the
connection mid-body, `stream_error` sends an `error` frame after the first streamed event.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

from images_emulator.contract.errors import (
    SERVER_ERROR_MESSAGE,
    ApiError,
    missing_parameter,
    quote_list,
    unknown_parameter,
)
from images_emulator.harness.ratelimit import ORGANIZATION, RATE_LIMIT_MESSAGE, UNITS, format_duration, retry_headers

Effect = Literal["error", "hold", "disconnect", "stream_error"]
FAULT_HEADER = "x-emulator-fault"
# `Limit N` in an injected rate_limit message when no --rate-limit-ipm is configured.
DEFAULT_IPM = 5
# Upper bound of retry_after and hold_seconds: a day (larger values overflow the retry-after-ms header).
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
    rate_limit_headers: bool = False  # x-ratelimit-*-images showing an exhausted budget

    def shape(self, family: str) -> ErrorShape | None:
        return self.by_family.get(family, self.error)


SERVER_ERROR = ErrorShape(500, "server_error", None, SERVER_ERROR_MESSAGE)

_KINDS: tuple[FaultKind, ...] = (
    FaultKind(
        "rate_limit",
        "error",
        "429 rate_limit_exceeded with retry-after, retry-after-ms and x-ratelimit-* headers",
        ErrorShape(429, "requests", "rate_limit_exceeded", RATE_LIMIT_MESSAGE),
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
class Target:
    """What fault rules and fixtures match against: one valid request."""

    path: str
    model: str
    family: str
    prompt: str
    stream: bool = False
    session: str | None = None
    request_id: str = ""
    n: int = 1


@dataclass(frozen=True)
class Fault:
    """A fault chosen for one request."""

    kind: FaultKind
    options: FaultOptions = FaultOptions()
    source: str = "header"  # header | rule | fixture


def normalize_path(path: str) -> str:
    """`/v1/images/edits`, `images/edits`, `/images/edits` and `edits` all name the same endpoint."""
    return path.strip().strip("/").removeprefix("v1/").removeprefix("images/")


def fault_error(fault: Fault, target: Target, *, ipm: int | None, default_retry_after: float) -> ApiError:
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
    limit = ipm or DEFAULT_IPM
    if kind.rate_limit_headers:
        headers.update(
            {
                "x-ratelimit-limit-images": str(limit),
                "x-ratelimit-remaining-images": "0",
                "x-ratelimit-reset-images": format_duration(retry_s or 0),
            }
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


# --- parsing faults from the admin API and the header -------------------------------------------------


def bad_fault(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code="invalid_value")


def fault_kind(name: Any, param: str = "fault") -> FaultKind:
    """The kind called `name`, or a 400 listing the valid kinds."""
    if isinstance(name, str) and name in FAULT_KINDS:
        return FAULT_KINDS[name]
    raise bad_fault(f"Unknown fault {name!r}. Valid faults are: {quote_list(FAULT_KINDS)}.", param)


def _number(name: str, value: Any, *, text: bool) -> float:
    """Seconds in [0, MAX_FAULT_SECONDS]; header parameters (`text`) are parsed from strings."""
    if text and isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    valid = not isinstance(value, bool) and isinstance(value, int | float)
    if not valid or not 0 <= value <= MAX_FAULT_SECONDS:  # also refuses NaN and infinities
        raise bad_fault(
            f"Invalid '{name}': expected a number of seconds from 0 to {MAX_FAULT_SECONDS}, got {value!r}.", name
        )
    return float(value)


def _flag(name: str, value: Any, *, text: bool) -> bool:
    if text and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise bad_fault(f"Invalid '{name}': expected true or false, got {value!r}.", name)
    return value


def parse_options(raw: Mapping[str, Any], *, text: bool = False) -> FaultOptions:
    """FaultOptions from a JSON object, or from header parameters (`text`: every value a string).
    Unknown keys, wrong types and out-of-range values are a 400."""
    options = FaultOptions()
    for key, value in raw.items():
        if value is None:
            continue
        if key in ("retry_after", "hold_seconds"):
            options = replace(options, **{key: _number(key, value, text=text)})
        elif key == "should_retry":
            options = replace(options, should_retry=_flag(key, value, text=text))
        elif key == "error":
            kind = fault_kind(value, "error")
            if kind.effect != "error":
                raise bad_fault(f"Invalid 'error': {value!r} is not an error fault ({quote_list(ERROR_KINDS)}).")
            options = replace(options, error=kind.name)
        else:
            raise unknown_parameter(key)
    return options


def parse_header(value: str) -> Fault:
    """`X-Emulator-Fault: rate_limit; retry_after=3; should_retry=false` → Fault."""
    name, *params = [part.strip() for part in value.split(";")]
    kind = fault_kind(name)
    raw: dict[str, str] = {}
    for param in filter(None, params):
        key, sep, val = param.partition("=")
        if not sep:
            raise bad_fault(f"Invalid X-Emulator-Fault parameter {param!r}: expected key=value.")
        raw[key.strip()] = val.strip()
    return Fault(kind, parse_options(raw, text=True), "header")


# --- scheduled rules ----------------------------------------------------------------------------------

MATCH_KEYS = ("path", "model", "prompt_contains")
RULE_KEYS = ("fault", "times", "match", "retry_after", "should_retry", "hold_seconds", "error")


@dataclass
class FaultRule:
    """A scheduled fault: fires on the next `remaining` matching requests."""

    id: str
    fault: Fault
    times: int
    remaining: int
    match: dict[str, str] = field(default_factory=dict)
    session: str | None = None

    def matches(self, target: Target) -> bool:
        if self.session is not None and self.session != target.session:
            return False
        if self.fault.kind.effect == "stream_error" and not target.stream:
            return False
        path, model, text = (self.match.get(k) for k in MATCH_KEYS)
        return (
            (path is None or normalize_path(path) == normalize_path(target.path))
            and (model is None or model == target.model)
            and (text is None or text.lower() in target.prompt.lower())
        )

    def to_dict(self) -> dict[str, Any]:
        options = {k: v for k, v in vars(self.fault.options).items() if v is not None}
        return {
            "id": self.id,
            "fault": self.fault.kind.name,
            "times": self.times,
            "remaining": self.remaining,
            "match": dict(self.match),
            "session": self.session,
            **options,
        }


def parse_rule(body: Any, rule_id: str, session: str | None) -> FaultRule:
    """A FaultRule from a `POST /__emulator/faults` body, or a 400."""
    if not isinstance(body, dict):
        raise bad_fault('Expected a JSON object like {"fault": "rate_limit", "times": 1}.')
    for key in body:
        if key not in RULE_KEYS:
            raise unknown_parameter(key)
    if "fault" not in body:
        raise missing_parameter("fault")
    kind = fault_kind(body["fault"])
    times = body.get("times", 1)
    if isinstance(times, float) and times.is_integer():
        times = int(times)  # 3.0 is an integer to JSON Schema
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise bad_fault(f"Invalid 'times': expected an integer >= 1, got {times!r}.", "times")
    match = body.get("match")
    match = {} if match is None else match  # null means omitted; false, 0 or "" are not objects
    if not isinstance(match, dict):
        raise bad_fault("Invalid 'match': expected an object with path, model and/or prompt_contains.", "match")
    for key, value in match.items():
        if key not in MATCH_KEYS:
            raise unknown_parameter(f"match.{key}")
        if value is not None and not isinstance(value, str):
            raise bad_fault(f"Invalid 'match.{key}': expected a string.", f"match.{key}")
    options = parse_options({k: v for k, v in body.items() if k not in ("fault", "times", "match")})
    match = {key: value for key, value in match.items() if value is not None}
    return FaultRule(rule_id, Fault(kind, options, "rule"), times, times, match, session)


class FaultBook:
    """The scheduled fault rules, consumed in the order they were added."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, body: Any, session: str | None = None) -> FaultRule:
        with self._lock:
            rule = parse_rule(body, f"fault_{next(self._ids)}", session)
            self._rules.append(rule)
            return rule

    def list(self, session: str | None = None) -> list[FaultRule]:
        with self._lock:
            return [r for r in self._rules if session is None or r.session == session]

    def clear(self, session: str | None = None) -> int:
        """Drop every rule (or the session's); returns how many were dropped."""
        with self._lock:
            kept = [r for r in self._rules if session is not None and r.session != session]
            dropped = len(self._rules) - len(kept)
            self._rules = kept
            return dropped

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) < before

    def take(self, target: Target) -> Fault | None:
        """The first rule matching `target`, consumed once (removed when used up)."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(target):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    return rule.fault
        return None
