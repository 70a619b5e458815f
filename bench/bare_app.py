"""The benches' baseline: a bare FastAPI app answering a fixed body from a file, on the same server stack.

Run as `python bench/bare_app.py BODY_FILE PORT [PROCESSES]`: with PROCESSES > 1, that many forked processes
each listen on their own SO_REUSEPORT socket (as the emulator's workers do) and SIGTERM stops them all.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from images_emulator.testing.process import free_port, wait_healthy

HOST = "127.0.0.1"


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


def serve(body: bytes, port: int, processes: int) -> None:
    """Serve `body` on `port` in this process, or in `processes` forked ones."""
    app = make_app(body)
    if processes == 1:
        uvicorn.run(app, host=HOST, port=port, log_level="warning")
        return
    children = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((HOST, port))
            uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
            os._exit(0)
        children.append(pid)
    signal.signal(signal.SIGTERM, lambda *_: [os.kill(child, signal.SIGTERM) for child in children])
    for child in children:
        os.waitpid(child, 0)


@contextmanager
def bare_app(body: bytes, processes: int = 1) -> Iterator[str]:
    """This script answering `body` on a free port, in `processes` processes: its base URL."""
    with tempfile.NamedTemporaryFile(suffix=".json") as body_file:
        body_file.write(body)
        body_file.flush()
        port = free_port()
        process = subprocess.Popen([sys.executable, __file__, body_file.name, str(port), str(processes)])
        try:
            wait_healthy(f"http://{HOST}:{port}", process=process)
            yield f"http://{HOST}:{port}"
        finally:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    serve(Path(sys.argv[1]).read_bytes(), int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1)
