"""The test-harness admin surface under `/__emulator/` (never under `/v1`, no API key needed).

Every endpoint takes an optional session (`?session=<id>` or the `X-Emulator-Session` header): the
journal is filtered to it, faults are scheduled for it (they fire only on its requests) and reset
clears only its state.

The harness state is per process: with `--workers` > 1 each worker has its own journal, fault rules
and rate-limit counters, and an admin call reaches whichever worker accepted its connection.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from images_emulator.api.openapi import SESSION_PARAMETERS, admin_docs, admin_extra, path_parameter
from images_emulator.api.request_body import parse_json_object, read_body
from images_emulator.api.responses import JSONBody
from images_emulator.api.runtime import Runtime, get_runtime
from images_emulator.contract.errors import ApiError
from images_emulator.harness import sessions
from images_emulator.harness.fault_kinds import FAULT_KINDS

router = APIRouter(prefix="/__emulator", tags=["test harness"], default_response_class=JSONBody)


def session_of(request: Request, *also: str) -> str | None:
    """The session an admin call is scoped to, or None for the whole server. Its query may name `session` and
    the parameters `also` lists: any other is a 400, not a filter silently ignored."""
    for name in request.query_params:
        if name != "session" and name not in also:
            known = ", ".join(f"'{known}'" for known in ("session", *also))
            raise ApiError(400, f"Unknown query parameter '{name}': this call takes {known}.", param=name,
                           code="unknown_parameter")  # fmt: skip
    return sessions.session_of(request.query_params, request.headers)


MAX_LIMIT = 999_999_999  # more than any journal holds
LIMIT_PARAMETER = {
    "name": "limit",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 0},
    "description": "Only the newest `limit` entries (still oldest first): what the dashboard polls.",
}


def newest_limit(value: str | None) -> int | None:
    """`?limit=`: a whole number of entries (any larger than the journal: all of it), or None when absent."""
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()):
        raise ApiError(400, "limit must be a whole number of entries (0 or more).", param="limit",
                       code="invalid_value")  # fmt: skip
    return int(value) if len(value) <= 9 else MAX_LIMIT


@router.get(
    "/requests",
    summary="Journal of /v1 requests, oldest first",
    responses=admin_docs("JournalPage", errors=(400,)),
    openapi_extra={**admin_extra(), "parameters": [*SESSION_PARAMETERS, LIMIT_PARAMETER]},
)
async def list_requests(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    limit = newest_limit(request.query_params.get("limit"))
    entries = await runtime.harness.journal.entries(session_of(request, "limit"))
    return JSONBody({"data": entries[max(0, len(entries) - limit) :] if limit is not None else entries})


@router.delete(
    "/requests",
    summary="Clear the journal",
    responses=admin_docs("Deleted", errors=(400,)),
    openapi_extra=admin_extra(),
)
async def clear_requests(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    session = session_of(request)
    if session is None:
        runtime.gallery.clear()  # the dashboard's images of this process go with the whole journal
    return JSONBody({"deleted": await runtime.harness.journal.clear(session)})


@router.post(
    "/faults",
    summary="Schedule a fault",
    status_code=201,
    responses=admin_docs("FaultRule", status=201, errors=(400, 408, 413), description="The scheduled rule"),
    openapi_extra=admin_extra("FaultRuleRequest"),
)
async def add_fault(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    config = runtime.config
    body = parse_json_object(await read_body(request, config.max_body_bytes, config.body_timeout_seconds))
    rule = await runtime.harness.faults.add(body, session_of(request))
    return JSONBody(rule.to_dict(), status_code=201)


@router.get(
    "/faults",
    summary="Scheduled faults, and the fault kinds",
    responses=admin_docs("FaultList", errors=(400,)),
    openapi_extra=admin_extra(),
)
async def list_faults(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    return JSONBody(
        {
            "data": [rule.to_dict() for rule in await runtime.harness.faults.list(session_of(request))],
            "kinds": {name: kind.description for name, kind in FAULT_KINDS.items()},
        }
    )


@router.delete(
    "/faults",
    summary="Clear scheduled faults",
    responses=admin_docs("Deleted", errors=(400,)),
    openapi_extra=admin_extra(),
)
async def clear_faults(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    return JSONBody({"deleted": await runtime.harness.faults.clear(session_of(request))})


@router.delete(
    "/faults/{rule_id}",
    summary="Remove one scheduled fault",
    responses=admin_docs("Deleted", errors=(400, 404)),
    openapi_extra={"parameters": [path_parameter("rule_id", "The rule's `id`."), *SESSION_PARAMETERS]},
)
async def remove_fault(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    rule_id = request.path_params["rule_id"]
    if not await runtime.harness.faults.remove(rule_id, session_of(request)):
        raise ApiError(404, f"No scheduled fault with id '{rule_id}'.", code="fault_not_found")
    return JSONBody({"deleted": 1})


@router.post(
    "/reset",
    summary="Clear the journal and scheduled faults (and rate-limit counters)",
    responses=admin_docs("ResetResult", errors=(400,)),
    openapi_extra=admin_extra(),
)
async def reset(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    session = session_of(request)
    requests = await runtime.harness.journal.clear(session)
    faults = await runtime.harness.faults.clear(session)
    if session is None:
        await runtime.harness.limiter.reset()
        runtime.gallery.clear()
    return JSONBody({"requests": requests, "faults": faults})
