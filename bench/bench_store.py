"""The shared store's cost and gain: cached generations with `--workers 2 --store redis://...` against one
worker on the memory store, and the latency a Redis store adds to one request.

Run: `python bench/bench_store.py [--seconds 8] [--rounds 3]`. Starts a real redis-server (no persistence),
the emulators and the bare FastAPI app (bench/bare_app.py, answering the same bytes) on loopback, and
drives them with wrk (bench/wrk.py) in turn, round after round; medians over the rounds.

- throughput: wrk -t1 -c32 on a cached 1024x1024 generation; the goal is >= 1.5x on two cores. Printed
  beside it, measured in the same rounds: what a second process gives the bare app, the ceiling that the
  machine (and wrk, which shares its cores) sets for any server here.
- added latency: wrk -t1 -c1 (one request at a time), p50 of Redis minus p50 of memory.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from bare_app import bare_app  # noqa: E402
from redis_server import RedisServer  # noqa: E402
from wrk import Run, ensure_wrk, run  # noqa: E402

from images_emulator.testing.process import EmulatorProcess  # noqa: E402

BODY = {"model": "gpt-image-2.5-sunburst", "prompt": "a lighthouse on a cliff", "size": "1024x1024", "quality": "low"}
HEADERS = {"Authorization": "Bearer bench"}
PATH = "/v1/images/generations"
TARGET = 1.5
QUIET = {"EMULATOR_LOG_LEVEL": "warning"}
LABELS = {
    "memory": "emulator, 1 worker, memory store",
    "shared": "emulator, 2 workers, redis store",
    "bare1": "bare FastAPI app, 1 process",
    "bare2": "bare FastAPI app, 2 processes",
}


def throughput(redis_url: str, prefix: tuple[str, ...], seconds: float, rounds: int) -> dict[str, list[Run]]:
    """wrk -c32 runs of each target, in turn, `rounds` times."""
    with ExitStack() as stack:
        memory = stack.enter_context(EmulatorProcess(env=QUIET, args=("--workers", "1", "--journal-size", "1000")))
        shared = stack.enter_context(
            EmulatorProcess(env=QUIET, args=("--workers", "2", "--store", redis_url, *prefix))
        )
        body = httpx2.post(memory.base_url + PATH, json=BODY, headers=HEADERS, timeout=60).content
        targets = {
            "memory": memory.base_url,
            "shared": shared.base_url,
            "bare1": stack.enter_context(bare_app(body, processes=1)),
            "bare2": stack.enter_context(bare_app(body, processes=2)),
        }
        for base in targets.values():  # warm-up: connections, caches, every worker
            run(base + PATH, BODY, connections=32, seconds=2)
        results: dict[str, list[Run]] = {name: [] for name in targets}
        for _ in range(rounds):
            for name, base in targets.items():
                results[name].append(run(base + PATH, BODY, connections=32, seconds=seconds))
        return results


def one_at_a_time(args: tuple[str, ...], seconds: float) -> Run:
    """A wrk -c1 run against a fresh emulator started with `args`."""
    with EmulatorProcess(env=QUIET, args=args) as server:
        url = server.base_url + PATH
        httpx2.post(url, json=BODY, headers=HEADERS, timeout=60).raise_for_status()
        run(url, BODY, connections=1, seconds=2)
        return run(url, BODY, connections=1, seconds=seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ensure_wrk()
    with RedisServer() as redis:
        prefix = ("--store-prefix", f"bench-{uuid.uuid4().hex[:8]}:")
        results = throughput(redis.url, prefix, args.seconds, args.rounds)
        latency_memory = one_at_a_time(("--workers", "1"), args.seconds)
        latency_redis = one_at_a_time(("--workers", "1", "--store", redis.url, *prefix), args.seconds)
    rps = {name: statistics.median(r.requests_per_second for r in runs) for name, runs in results.items()}
    print(f"cached 1024x1024 generation, wrk -t1 -c32, {args.rounds} alternated rounds of {args.seconds:g} s, medians")
    for name, runs in results.items():
        p99 = statistics.median(r.p99_ms for r in runs)
        cpu = max(r.client_cpu for r in runs)
        print(f"  {LABELS[name]:<34} {rps[name]:8.1f} req/s  p99 {p99:6.2f} ms"
              f"  (wrk cpu {cpu:.0%}, errors {sum(r.errors for r in runs)})")  # fmt: skip
    if any(r.saturated for runs in results.values() for r in runs):
        print("wrk itself was saturated: no ratio reported (use a machine with a free core for the client)")
        sys.exit(1)
    ratio = rps["shared"] / rps["memory"]
    print(f"ratio: {ratio:.2f}x (target >= {TARGET}x): {'OK' if ratio >= TARGET else 'NO'}")
    print(f"the bare app's second process, same rounds: {rps['bare2'] / rps['bare1']:.2f}x (this machine's ceiling)")
    added = latency_redis.p50_ms - latency_memory.p50_ms
    print(f"one request at a time (wrk -c1): p50 memory {latency_memory.p50_ms:.2f} ms, "
          f"redis {latency_redis.p50_ms:.2f} ms: the Redis store adds {added:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
