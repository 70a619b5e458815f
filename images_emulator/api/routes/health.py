"""GET /health (and HEAD, for load balancers that probe with it): the process, and the harness's store."""

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from images_emulator.api.openapi import admin_docs
from images_emulator.api.responses import JSONBody
from images_emulator.api.runtime import Runtime, get_runtime
from images_emulator.harness.store import StoreUnavailable

router = APIRouter()


@router.get("/health", summary="Liveness probe, with the store's state", responses=admin_docs("Health"))
async def health(runtime: Runtime = Depends(get_runtime)) -> JSONBody:
    """200 while the process answers; `degraded` while the store is unreachable (images still work)."""
    store = runtime.harness.store
    try:
        await store.ping()
        state = "ok"
    except StoreUnavailable:
        state = "unreachable"
    status = "ok" if state == "ok" else "degraded"
    return JSONBody({"status": status, "store": {"kind": store.kind, "url": store.url, "state": state}})


@router.head("/health", include_in_schema=False)
async def health_head() -> Response:
    return Response(media_type="application/json")
