"""Server start to healthy: `python -m emulator` from launch until GET /health answers 200.

Run: `python bench/bench_startup.py [--runs N]`. Each run starts a fresh process on a free loopback
port, polls /health every 5 ms (a fixed interval, so the figure is not rounded up by a backoff), then
stops it. Baseline: the same measurement for `bench/bare_app.py`, a bare FastAPI app under uvicorn
(interpreter start + fastapi/uvicorn imports), so the ratio is what the emulator adds on top: Pillow,
the catalog, fonts, the tokenizer's tables. Target: median <= 2 s, <= 3x the bare app.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from images_emulator.testing.process import free_port

TARGET_SECONDS = 2.0
TARGET_RATIO = 3.0
POLL_SECONDS = 0.005


def start_to_healthy(command: list[str], port: int, timeout: float = 60.0) -> float:
    """Seconds from launching `command` to its first 200 on /health."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode} before becoming healthy")
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"{command} not healthy after {timeout} s")
            time.sleep(POLL_SECONDS)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def emulator_command(port: int) -> list[str]:
    command = [sys.executable, "-m", "images_emulator", "--host", "127.0.0.1", "--port", str(port)]
    return [*command, "--log-level", "warning"]


def bare_command(port: int, body_file: str) -> list[str]:
    return [sys.executable, str(Path(__file__).with_name("bare_app.py")), body_file, str(port)]


def measure(make_command: Callable[[int], list[str]], runs: int) -> list[float]:
    """Start-to-healthy seconds of `runs` fresh processes, each on a new free port."""
    times = []
    for _ in range(runs):
        port = free_port()
        times.append(start_to_healthy(make_command(port), port))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile(suffix=".json") as body_file:
        body_file.write(b"{}")
        body_file.flush()
        start_to_healthy(emulator_command(port := free_port()), port)  # warm the OS file cache first
        ours = measure(emulator_command, args.runs)
        two = measure(lambda port: [*emulator_command(port), "--workers", "2"], args.runs)
        bare = measure(lambda port: bare_command(port, body_file.name), args.runs)
    median, baseline = statistics.median(ours), statistics.median(bare)
    print(f"{args.runs} starts each; seconds from launch to the first 200 on /health")
    for name, times in (("emulator", ours), ("emulator --workers 2", two), ("bare FastAPI", bare)):
        best, worst = min(times), max(times)
        print(f"{name:21} median {statistics.median(times):.3f}  best {best:.3f}  worst {worst:.3f}")
    ratio = median / baseline
    verdict = "OK" if median <= TARGET_SECONDS and ratio <= TARGET_RATIO else "ABOVE TARGET"
    print(f"ratio: {ratio:.2f}x (target: median <= {TARGET_SECONDS:.0f} s and <= {TARGET_RATIO:.0f}x bare): {verdict}")


if __name__ == "__main__":
    main()
