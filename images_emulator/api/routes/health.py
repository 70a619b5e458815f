"""GET /health (and HEAD, for load balancers that probe with it)."""

from fastapi import APIRouter
from fastapi.responses import Response

from images_emulator.api.openapi import Health, admin_docs

router = APIRouter()


@router.get("/health", summary="Liveness probe", responses=admin_docs(Health))
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.head("/health", include_in_schema=False)
async def health_head() -> Response:
    return Response(media_type="application/json")
