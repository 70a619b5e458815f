"""GET /health."""

from fastapi import APIRouter

from ..schemas import Health, admin_docs

router = APIRouter()


@router.get("/health", summary="Liveness probe", responses=admin_docs(Health))
async def health() -> dict[str, str]:
    return {"status": "ok"}
