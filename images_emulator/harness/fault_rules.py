"""Scheduled fault rules (`POST /__emulator/faults`) and the `X-Emulator-Fault` header, parsed and matched.

A rule fires on the next `times` requests it matches (endpoint, model, prompt substring, session),
in the order rules were added; every option is checked when the rule is made, so a bad one is a 400
then, not a surprise later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from images_emulator.contract.catalog import MODELS
from images_emulator.contract.endpoints import endpoint_named
from images_emulator.contract.errors import ApiError, missing_parameter, quote_list, unknown_parameter
from images_emulator.harness.fault_kinds import (
    ERROR_KINDS,
    FAULT_KINDS,
    MAX_FAULT_SECONDS,
    Fault,
    FaultKind,
    FaultOptions,
)
from images_emulator.harness.latency import MAX_WAIT_SECONDS, decimal
from images_emulator.harness.store import Backend
from images_emulator.harness.target import Target


def bad_fault(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code="invalid_value")


def fault_kind(name: Any, param: str = "fault") -> FaultKind:
    """The kind called `name`, or a 400 listing the valid kinds."""
    if isinstance(name, str) and name in FAULT_KINDS:
        return FAULT_KINDS[name]
    raise bad_fault(f"Unknown fault {name!r}. Valid faults are: {quote_list(FAULT_KINDS)}.", param)


def _number(name: str, value: Any, *, text: bool, most: float = MAX_FAULT_SECONDS) -> float:
    """Seconds in [0, most]; header parameters (`text`) are parsed from strings."""
    if text and isinstance(value, str):
        parsed = decimal(value)
        value = value if parsed is None else parsed
    valid = not isinstance(value, bool) and isinstance(value, int | float)
    if not valid or not 0 <= value <= most:  # also refuses NaN and infinities
        raise bad_fault(f"Invalid '{name}': expected a number of seconds from 0 to {most:g}, got {value!r}.", name)
    return float(value) + 0.0  # + 0.0: no -0.0


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
        if key == "retry_after":
            options = replace(options, retry_after=_number(key, value, text=text))
        elif key == "hold_seconds":
            options = replace(options, hold_seconds=_number(key, value, text=text, most=MAX_WAIT_SECONDS))
        elif key == "should_retry":
            options = replace(options, should_retry=_flag(key, value, text=text))
        elif key == "error":
            kind = fault_kind(value, "error")
            if kind.effect != "error":
                raise bad_fault(
                    f"Invalid 'error': {value!r} is not an error fault ({quote_list(ERROR_KINDS)}).", "error"
                )
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
    return Fault(kind, carried(kind, parse_options(raw, text=True)), "header")


def carried(kind: FaultKind, options: FaultOptions) -> FaultOptions:
    """`options`, refused when they name another error for a fault that is not a stream_error (a
    server_error answering a 429 would be journaled as the wrong fault)."""
    if options.error is not None and kind.name != "stream_error":
        message = f"Invalid 'error': only a stream_error fault carries another error, not {kind.name!r}."
        raise bad_fault(message, "error")
    return options


# --- scheduled rules ----------------------------------------------------------------------------------

MATCH_KEYS = ("path", "model", "prompt_contains")
# The longest prompt any model takes: a longer match value never matches, yet every request would scan it.
MAX_MATCH_CHARS = max(spec.prompt_max for spec in MODELS.values())
MAX_TIMES = 1_000_000
RULE_KEYS = ("fault", "times", "match", "retry_after", "should_retry", "hold_seconds", "error")


def _endpoint_of(path: str) -> str | None:
    endpoint = endpoint_named(path)
    return endpoint.name if endpoint else None


def _matches(session: str | None, kind: FaultKind, match: Mapping[str, str], target: Target) -> bool:
    """Whether a rule (its session, kind and match) applies to `target`."""
    if session is not None and session != target.session:
        return False
    if kind.effect == "stream_error" and not target.stream:
        return False
    path, model, text = (match.get(k) for k in MATCH_KEYS)
    return (
        (path is None or _endpoint_of(path) == target.endpoint)
        and (model is None or model == target.model)
        and (text is None or text.lower() in target.prompt.lower())
    )


def _record_matches(record: Mapping[str, Any], target: Target) -> bool:
    """`_matches` on a stored rule, without parsing it again (a request scans every rule)."""
    return _matches(record.get("session"), FAULT_KINDS[record["fault"]], record.get("match") or {}, target)


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
        return _matches(self.session, self.fault.kind, self.match, target)

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
    sent = times = body.get("times", 1)
    if isinstance(times, float) and times.is_integer():
        times = int(times)  # 3.0 is an integer to JSON Schema
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= MAX_TIMES:
        raise bad_fault(f"Invalid 'times': expected an integer from 1 to {MAX_TIMES}, got {sent!r}.", "times")
    match = body.get("match")
    match = {} if match is None else match  # null means omitted; false, 0 or "" are not objects
    if not isinstance(match, dict):
        raise bad_fault("Invalid 'match': expected an object with path, model and/or prompt_contains.", "match")
    for key, value in match.items():
        if key not in MATCH_KEYS:
            raise unknown_parameter(f"match.{key}")
        if value is not None and not isinstance(value, str):
            raise bad_fault(f"Invalid 'match.{key}': expected a string.", f"match.{key}")
        if value is not None and len(value) > MAX_MATCH_CHARS:
            raise bad_fault(
                f"Invalid 'match.{key}': at most {MAX_MATCH_CHARS} characters (the longest prompt), got {len(value)}.",
                f"match.{key}",
            )
        if key == "path" and value is not None and endpoint_named(value) is None:
            raise bad_fault(
                f"Invalid 'match.path': {value!r} names no endpoint; expected generations, edits or variations "
                "(or their /v1/images/... path).",
                "match.path",
            )
    options = carried(kind, parse_options({k: v for k, v in body.items() if k not in ("fault", "times", "match")}))
    match = {key: value for key, value in match.items() if value is not None}
    return FaultRule(rule_id, Fault(kind, options, "rule"), times, times, match, session)


MAX_RULES = 1000  # scheduled at once per store: enough for any test suite, and a bound on each request's scan


class FaultBook:
    """The scheduled fault rules, in the harness's store, consumed in the order they were added.

    The rules are one document (`{"next": id counter, "rules": [...]}`) changed atomically, so
    `times: N` fires exactly N times across every process sharing the store.
    """

    KEY = "faults"

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        backend.watch(self.KEY)  # every request reads the rules: each process keeps them between changes

    @staticmethod
    def _rules(value: dict[str, Any] | None) -> list[FaultRule]:
        return [rule_from_record(record) for record in (value or {}).get("rules", [])]

    @staticmethod
    def _value(next_id: int, rules: list[FaultRule]) -> dict[str, Any]:
        return {"next": next_id, "rules": [rule.to_dict() for rule in rules]}

    async def add(self, body: Any, session: str | None = None) -> FaultRule:
        parse_rule(body, "fault_0", session)  # a bad body is a 400 before anything is stored

        def change(value: dict[str, Any] | None) -> tuple[dict[str, Any] | None, FaultRule]:
            records = (value or {}).get("rules", [])
            if len(records) >= MAX_RULES:
                raise bad_fault(f"Too many scheduled faults: at most {MAX_RULES} at once; clear some first.")
            next_id = (value or {}).get("next", 1)
            rule = parse_rule(body, f"fault_{next_id}", session)
            return {"next": next_id + 1, "rules": [*records, rule.to_dict()]}, rule

        return await self.backend.update(self.KEY, change)

    async def list(self, session: str | None = None) -> list[FaultRule]:
        rules = self._rules(await self.backend.read(self.KEY))
        return [rule for rule in rules if session is None or rule.session == session]

    async def _drop(self, doomed: Callable[[FaultRule], bool]) -> int:
        def change(value: dict[str, Any] | None) -> tuple[dict[str, Any] | None, int]:
            rules = self._rules(value)
            kept = [rule for rule in rules if not doomed(rule)]
            return self._value((value or {}).get("next", 1), kept), len(rules) - len(kept)

        return await self.backend.update(self.KEY, change)

    async def clear(self, session: str | None = None) -> int:
        """Drop every rule (or the session's); returns how many were dropped."""
        return await self._drop(lambda rule: session is None or rule.session == session)

    async def remove(self, rule_id: str, session: str | None = None) -> bool:
        """Drop one rule; a session's call can only drop that session's rules."""
        dropped = await self._drop(lambda rule: rule.id == rule_id and (session is None or rule.session == session))
        return dropped > 0

    async def take(self, target: Target) -> Fault | None:
        """The first rule matching `target`, consumed once (removed when used up)."""
        value = await self.backend.read(self.KEY)
        if not value or not any(_record_matches(record, target) for record in value.get("rules", [])):
            return None  # the common case, without a write

        def change(value: dict[str, Any] | None) -> tuple[dict[str, Any] | None, Fault | None]:
            records = (value or {}).get("rules", [])
            for index, record in enumerate(records):
                if _record_matches(record, target):
                    rule = rule_from_record(record)
                    rule.remaining -= 1
                    used = [rule.to_dict()] if rule.remaining > 0 else []
                    kept = [*records[:index], *used, *records[index + 1 :]]
                    return {"next": (value or {}).get("next", 1), "rules": kept}, rule.fault
            return value, None

        return await self.backend.update(self.KEY, change)


def rule_from_record(record: dict[str, Any]) -> FaultRule:
    """A rule as FaultRule.to_dict() stored it."""
    body = {k: v for k, v in record.items() if k not in ("id", "remaining", "session")}
    rule = parse_rule(body, record["id"], record.get("session"))
    rule.remaining = record["remaining"]
    return rule
