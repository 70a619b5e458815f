"""Throughput and tail latency of cached 1024x1024 generations against a bare FastAPI app returning the
same bytes on the same server stack (uvicorn with httptools and uvloop), measured by wrk.

Run: `python bench/bench_throughput.py [--seconds 8] [--rounds 3]`. Starts, on loopback:
- the bare app (bench/bare_app.py), one process: the baseline;
- the emulator with one worker;
- the emulator with `--workers auto` (one worker per core).
Each round drives each of them in turn with `wrk -t1 -c32` (alternated, after a warm-up), and the
medians over the rounds are compared. A run where wrk itself used nearly all of its CPU measured the
client, not the server: the bench then refuses to print a ratio and exits 1.

Goals: 1 worker >= 1.0x the bare app; `--workers auto` >= 1.45x the bare single-worker app; p99
at 32 connections no worse than 2x the bare app's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))
from bare_app import bare_app
from wrk import Run, ensure_wrk, run

from images_emulator.testing.process import EmulatorProcess

BODY = {"model": "gpt-image-2.5-sunburst", "prompt": "a lighthouse on a cliff", "size": "1024x1024", "quality": "low"}
HEADERS = {"Authorization": "Bearer bench"}
PATH = "/v1/images/generations"
GOALS = {"one": 1.0, "auto": 1.45}
P99_FACTOR = 2.0


def line(label: str, runs: list[Run]) -> str:
    rps = statistics.median(r.requests_per_second for r in runs)
    p99 = statistics.median(r.p99_ms for r in runs)
    cpu = max(r.client_cpu for r in runs)
    errors = sum(r.errors for r in runs)
    return f"  {label:<34} {rps:8.1f} req/s   p99 {p99:7.2f} ms   (wrk cpu {cpu:.0%}, errors {errors})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    ensure_wrk()
    quiet = {"EMULATOR_LOG_LEVEL": "warning"}
    with (
        EmulatorProcess(env=quiet, args=("--workers", "1")) as one,
        EmulatorProcess(env=quiet, args=("--workers", "auto")) as auto,
    ):
        body = httpx2.post(one.base_url + PATH, json=BODY, headers=HEADERS, timeout=60).content
        with bare_app(body) as bare_url:
            targets = {"bare": bare_url, "one": one.base_url, "auto": auto.base_url}
            results: dict[str, list[Run]] = {name: [] for name in targets}
            for base in targets.values():  # warm-up: connections, the image cache, every worker
                run(base + PATH, BODY, connections=args.connections, seconds=2)
            for _ in range(args.rounds):
                for name, base in targets.items():
                    results[name].append(run(base + PATH, BODY, connections=args.connections, seconds=args.seconds))
    rps = {name: statistics.median(r.requests_per_second for r in runs) for name, runs in results.items()}
    p99 = {name: statistics.median(r.p99_ms for r in runs) for name, runs in results.items()}
    print(f"cached 1024x1024 png generation ({len(body) / 1024:.0f} KiB body), wrk -t1 -c{args.connections}, "
          f"{args.rounds} alternated rounds of {args.seconds:g} s, medians")  # fmt: skip
    print(line("bare FastAPI app, 1 process", results["bare"]))
    print(line("emulator, --workers 1", results["one"]))
    print(line("emulator, --workers auto (default)", results["auto"]))
    saturated = [name for name, runs in results.items() if any(r.saturated for r in runs)]
    if saturated:
        print(f"wrk saturated its CPU while measuring {', '.join(saturated)}: that measured the client; no ratio.")
        sys.exit(1)
    ok = True
    for name, goal in GOALS.items():
        ratio = rps[name] / rps["bare"]
        ok &= ratio >= goal
        verdict = "OK" if ratio >= goal else "MISSED"
        print(f"ratio {name:<8} {ratio:5.2f}x the bare app   (goal >= {goal:.2f}x): {verdict}")
    p99_ratio = p99["one"] / p99["bare"]
    ok &= p99_ratio <= P99_FACTOR
    verdict = "OK" if p99_ratio <= P99_FACTOR else "MISSED"
    print(f"p99 1 worker / bare: {p99_ratio:5.2f}x   (goal <= {P99_FACTOR:.1f}x): {verdict}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
