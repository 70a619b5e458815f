"""GET /health (and HEAD, for load balancers that probe with it): the process, and the harness's store.

The entry answers both straight from its table (server/app.py: no router, no dependency solving, which a
probe polled every few seconds has no use for); these routes document them."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from images_emulator.api.openapi import admin_docs
from images_emulator.api.responses import JSONBody
from images_emulator.api.runtime import Runtime, get_runtime
from images_emulator.harness.store import StoreUnavailable

router = APIRouter()


async def health_state(_: Request, runtime: Runtime) -> Response:
    """200 while the process answers; `degraded` while the store is unreachable (images still work)."""
    store = runtime.harness.store
    try:
        await store.ping()
        state = "ok"
    except StoreUnavailable:
        state = "unreachable"
    status = "ok" if state == "ok" else "degraded"
    return JSONBody({"status": status, "store": {"kind": store.kind, "url": store.url, "state": state}})


@router.get("/health", summary="Liveness probe, with the store's state", responses=admin_docs("Health"))
async def health(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    """200 while the process answers; `degraded` while the store is unreachable (images still work)."""
    return await health_state(request, runtime)


@router.head("/health", include_in_schema=False)
async def health_head(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    """GET's answer: the server sends its headers (the same `content-length`) and leaves out the body."""
    return await health_state(request, runtime)
