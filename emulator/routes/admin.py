"""The test-harness admin surface under `/__emulator/` (never under `/v1`, no API key needed).

Every endpoint takes an optional session (`?session=<id>` or the `X-Emulator-Session` header): the
journal is filtered to it, faults are scheduled for it (they fire only on its requests) and reset
clears only its state.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ..errors import ApiError
from ..faults import FAULT_KINDS
from ..harness import SESSION_HEADER
from ..request_body import parse_json_object, read_body
from ..runtime import Runtime, get_runtime

router = APIRouter(prefix="/__emulator", tags=["test harness"])


def session_of(request: Request) -> str | None:
    """The session an admin call is scoped to, or None for the whole server."""
    return request.query_params.get("session") or request.headers.get(SESSION_HEADER) or None


@router.get("/requests", summary="Journal of /v1 requests, oldest first")
async def list_requests(request: Request, runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return {"data": runtime.journal.entries(session_of(request))}


@router.delete("/requests", summary="Clear the journal")
async def clear_requests(request: Request, runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return {"deleted": runtime.journal.clear(session_of(request))}


@router.post("/faults", summary="Schedule a fault", status_code=201)
async def add_fault(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    body = parse_json_object(await read_body(request, runtime.settings.max_body_bytes))
    rule = runtime.faults.add(body, session_of(request))
    return JSONResponse(rule.to_dict(), status_code=201)


@router.get("/faults", summary="Scheduled faults, and the fault kinds")
async def list_faults(request: Request, runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return {
        "data": [rule.to_dict() for rule in runtime.faults.list(session_of(request))],
        "kinds": {name: kind.description for name, kind in FAULT_KINDS.items()},
    }


@router.delete("/faults", summary="Clear scheduled faults")
async def clear_faults(request: Request, runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return {"deleted": runtime.faults.clear(session_of(request))}


@router.delete("/faults/{rule_id}", summary="Remove one scheduled fault")
async def remove_fault(rule_id: str, runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    if not runtime.faults.remove(rule_id):
        raise ApiError(404, f"No scheduled fault with id '{rule_id}'.", code="fault_not_found")
    return {"deleted": 1}


@router.post("/reset", summary="Clear the journal and scheduled faults (and rate-limit counters)")
async def reset(request: Request, runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    session = session_of(request)
    requests = runtime.journal.clear(session)
    faults = runtime.faults.clear(session)
    if session is None:
        runtime.limiter.reset()
    return {"requests": requests, "faults": faults}
