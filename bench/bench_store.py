"""The shared store's cost and gain: cached generations with `--workers 2 --store redis://...` against one
worker on the memory store, and the latency a Redis store adds to one request.

Run: `python bench/bench_store.py [--seconds 10]`. Starts a real redis-server (no persistence) and the
emulators on loopback, drives them with wrk (bench/wrk.py), alternating the configurations.

- throughput: wrk -t1 -c32 on a cached 1024x1024 generation; the goal is >= 1.5x on two cores.
- added latency: wrk -t1 -c1 (one request at a time), p50 of Redis minus p50 of memory.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from redis_server import RedisServer  # noqa: E402
from wrk import Run, run  # noqa: E402

from images_emulator.testing.process import EmulatorProcess  # noqa: E402

BODY = {"model": "gpt-image-2.5-sunburst", "prompt": "a lighthouse on a cliff", "size": "1024x1024", "quality": "low"}
TARGET = 1.5


def measure(args: tuple[str, ...], seconds: float, connections: int) -> Run:
    with EmulatorProcess(env={"EMULATOR_LOG_LEVEL": "warning"}, args=args) as server:
        url = server.base_url + "/v1/images/generations"
        httpx2.post(url, json=BODY, headers={"Authorization": "Bearer bench"}, timeout=60).raise_for_status()
        run(url, BODY, connections=connections, seconds=2)  # warm-up: connections, caches, both workers
        return run(url, BODY, connections=connections, seconds=seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    with RedisServer() as redis:
        prefix = ("--store-prefix", f"bench-{uuid.uuid4().hex[:8]}:")
        memory = ("--journal-size", "1000")
        shared = ("--workers", "2", "--store", redis.url, *prefix)
        one_redis = ("--store", redis.url, *prefix)
        results = {"memory": [], "shared": []}
        for _ in range(2):  # alternated runs
            results["memory"].append(measure(memory, args.seconds, 32))
            results["shared"].append(measure(shared, args.seconds, 32))
        latency_memory = measure(memory, args.seconds, 1)
        latency_redis = measure(one_redis, args.seconds, 1)
    best = {name: max(runs, key=lambda r: r.requests_per_second) for name, runs in results.items()}
    print("cached 1024x1024 generation, wrk -t1 -c32, best of 2 alternated runs")
    for name, label in (("memory", "1 worker, memory store   "), ("shared", "2 workers, redis store   ")):
        r = best[name]
        print(f"  {label} {r.requests_per_second:8.1f} req/s  p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms"
              f"  (wrk cpu {r.client_cpu:.0%}, errors {r.errors})")
    if any(r.saturated for r in best.values()):
        print("wrk itself was saturated: no ratio reported (use a machine with a free core for the client)")
    else:
        ratio = best["shared"].requests_per_second / best["memory"].requests_per_second
        print(f"ratio: {ratio:.2f}x (target >= {TARGET}x): {'OK' if ratio >= TARGET else 'NO'}")
    added = latency_redis.p50_ms - latency_memory.p50_ms
    print(f"one request at a time (wrk -c1): p50 memory {latency_memory.p50_ms:.2f} ms, "
          f"redis {latency_redis.p50_ms:.2f} ms: the Redis store adds {added:.2f} ms")


if __name__ == "__main__":
    main()
