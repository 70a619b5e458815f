"""Throughput of cached 1024² generations vs a bare FastAPI app returning the same body.

Run: `python bench/bench_throughput.py [--requests N] [--concurrency C]`. Both servers run as
single uvicorn processes on loopback; the same asyncio httpx2 client drives both, so the ratio
is what matters (the client shares the machine's cores with the server).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from images_emulator.testing.process import EmulatorProcess, free_port, wait_healthy

BODY = {"model": "gpt-image-2.5-sunburst", "prompt": "a lighthouse on a cliff", "size": "1024x1024", "quality": "low"}
HEADERS = {"Authorization": "Bearer bench"}


async def hammer(base_url: str, requests: int, concurrency: int) -> float:
    """Requests per second for `requests` POSTs with `concurrency` in flight."""
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(base_url=base_url, headers=HEADERS, limits=limits, timeout=60) as client:
        remaining = iter(range(requests))

        async def worker() -> None:
            for _ in remaining:
                response = await client.post("/v1/images/generations", json=BODY)
                response.raise_for_status()
                await response.aread()

        for _ in range(concurrency):  # warm-up: connections and the image cache
            (await client.post("/v1/images/generations", json=BODY)).raise_for_status()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    with EmulatorProcess() as emulator:
        body = httpx2.post(emulator.base_url + "/v1/images/generations", json=BODY, headers=HEADERS).content
        ours = asyncio.run(hammer(emulator.base_url, args.requests, args.concurrency))

    with tempfile.NamedTemporaryFile(suffix=".json") as body_file:
        body_file.write(body)
        body_file.flush()
        port = free_port()
        bare = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("bare_app.py")), body_file.name, str(port)]
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}", process=bare)
            baseline = asyncio.run(hammer(f"http://127.0.0.1:{port}", args.requests, args.concurrency))
        finally:
            bare.terminate()
            bare.wait()

    print(f"body size: {len(body) / 1024:.0f} KiB; {args.requests} requests, concurrency {args.concurrency}")
    print(f"emulator (cached 1024x1024 png): {ours:8.1f} req/s")
    print(f"bare FastAPI, same body:         {baseline:8.1f} req/s")
    print(f"ratio: {ours / baseline:.2f}x   (target >= 0.80x)")


if __name__ == "__main__":
    main()
