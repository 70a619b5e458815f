"""Baseline for bench_throughput.py: a bare FastAPI app answering a fixed body from a file.

Run as `python bench/bare_app.py BODY_FILE PORT`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response


def make_app(body: bytes) -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/images/generations")
    async def generations(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    return app


if __name__ == "__main__":
    uvicorn.run(make_app(Path(sys.argv[1]).read_bytes()), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
