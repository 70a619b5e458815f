"""Server start to healthy: `python -m emulator` from launch until GET /health answers 200.

Run: `python bench/bench_startup.py [--runs N]`. Each run starts a fresh process on a free loopback
port, polls /health every 5 ms (a fixed interval, so the figure is not rounded up by a backoff), then
stops it. Baseline: the same measurement for `bench/bare_app.py`, a bare FastAPI app under uvicorn
(interpreter start + fastapi/uvicorn imports), so the ratio is what the emulator adds on top: Pillow,
the catalog, its routes and pages. The three are started in turn, run after run. Goal (issue 14): the
default (`--workers auto`) healthy within 0.5 s; the ratio to the bare app shows what is the machine's.

Before measuring, the package's bytecode is compiled (`compileall`), as pip does for an installed package
and as Python does at the first start anywhere it may write `__pycache__`. Without it, a checkout run
with PYTHONDONTWRITEBYTECODE=1 (as on our CI machines, and in many containers) compiles every module at
every start: 0.25 s more here, where the bare app's libraries are compiled in site-packages.
"""

from __future__ import annotations

import argparse
import compileall
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
import images_emulator
from images_emulator.server.workers import worker_count
from images_emulator.testing.process import free_port

TARGET_SECONDS = 0.5
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


def measure(commands: dict[str, Callable[[int], list[str]]], runs: int) -> dict[str, list[float]]:
    """Start-to-healthy seconds of `runs` fresh processes per command, the commands taken in turn."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, make_command in commands.items():
            port = free_port()
            times[name].append(start_to_healthy(make_command(port), port))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    compileall.compile_dir(Path(images_emulator.__file__).parent, quiet=1)
    with tempfile.NamedTemporaryFile(suffix=".json") as body_file:
        body_file.write(b"{}")
        body_file.flush()
        start_to_healthy(emulator_command(port := free_port()), port)  # warm the OS file cache first
        commands = {
            f"emulator (default, {worker_count('auto')} workers)": emulator_command,
            "emulator --workers 1": lambda port: [*emulator_command(port), "--workers", "1"],
            "bare FastAPI": lambda port: bare_command(port, body_file.name),
        }
        times = measure(commands, args.runs)
    print(f"{args.runs} starts each; seconds from launch to the first 200 on /health")
    for name, runs in times.items():
        print(f"{name:31} median {statistics.median(runs):.3f}  best {min(runs):.3f}  worst {max(runs):.3f}")
    default, one, bare = (statistics.median(runs) for runs in times.values())
    verdict = "OK" if default <= TARGET_SECONDS else "MISSED"
    print(f"default: {default:.3f} s (goal <= {TARGET_SECONDS} s): {verdict}; {default / bare:.2f}x the bare app "
          f"(one worker {one / bare:.2f}x)")


if __name__ == "__main__":
    main()
