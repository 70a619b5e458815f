"""Time to first streamed event (and to the completed event) for 1024x1024 low-quality generations.

Run: `python bench/bench_stream.py [--runs N]`. Starts `python -m emulator` itself (latency simulation
off, no stream interval). Every timed request uses a new prompt, so nothing is served from the image
cache; one warm-up request loads the font and opens the keep-alive connection first. Time is measured
on the client from sending the request to reading the first `event:` line. Target: <= 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from images_emulator.testing.process import EmulatorProcess

TARGET_MS = 100.0
HEADERS = {"Authorization": "Bearer bench"}


def body(prompt: str, partials: int) -> dict[str, object]:
    return {
        "model": "gpt-image-2.5-sunburst",
        "prompt": prompt,
        "size": "1024x1024",
        "quality": "low",
        "stream": True,
        "partial_images": partials,
    }


def timed_stream(client: httpx2.Client, payload: dict[str, object]) -> tuple[float, float]:
    """(ms to the first event line, ms to the end of the stream)."""
    started = time.perf_counter()
    first = None
    with client.stream("POST", "/v1/images/generations", json=payload) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if first is None and line.startswith("event: "):
                first = time.perf_counter()
    end = time.perf_counter()
    assert first is not None, "no event received"
    return (first - started) * 1000, (end - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed streams per partial_images value")
    args = parser.parse_args()
    worst_median = 0.0
    with (
        EmulatorProcess() as server,
        httpx2.Client(base_url=server.base_url, headers=HEADERS, timeout=60) as client,
    ):
        timed_stream(client, body("warm-up", 1))
        print(f"{'partial_images':>14} {'first event: median':>20} {'p90':>7} {'best':>7} {'completed: median':>18}")
        for partials in (1, 2, 3):
            results = [timed_stream(client, body(f"a harbour at dusk, run {partials}-{i}", partials))
                       for i in range(args.runs)]  # fmt: skip
            firsts = sorted(first for first, _ in results)
            median = statistics.median(firsts)
            p90 = firsts[int(0.9 * (len(firsts) - 1))]
            total = statistics.median(total for _, total in results)
            worst_median = max(worst_median, median)
            print(f"{partials:>14} {median:>17.1f} ms {p90:>4.1f} ms {firsts[0]:>4.1f} ms {total:>15.1f} ms")
    verdict = "OK" if worst_median <= TARGET_MS else "ABOVE TARGET"
    print(f"time to first event (worst median): {worst_median:.1f} ms (target <= {TARGET_MS:.0f} ms): {verdict}")


if __name__ == "__main__":
    main()
