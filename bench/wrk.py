"""Load generation with wrk (a native load generator: a Python client saturates near 1,300 req/s here and
then measures itself, not the server).

`ensure_wrk()` finds wrk, installing the Debian package when running as root, or stops with how to get it.
`run()` drives one URL with a POST body and returns the throughput, latency percentiles, and how busy
wrk itself was: a run where wrk used nearly all of its thread's CPU measured the client, and
`Run.saturated` says so (the benchmarks then refuse to report a ratio).
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SATURATED = 0.95  # wrk's CPU time / (threads x wall time) above this: the client was the bottleneck
LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
"""


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
        path = shutil.which("wrk")
        if path:
            return path
    sys.exit("bench: wrk is needed (Debian package `wrk`: apt-get install wrk), and it is not installed")


@dataclass(frozen=True)
class Run:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    client_cpu: float  # wrk's CPU use as a share of its threads' capacity

    @property
    def saturated(self) -> bool:
        return self.client_cpu >= SATURATED


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run(url: str, body: dict[str, object], *, threads: int = 1, connections: int = 32, seconds: float = 10) -> Run:
    """One wrk run against `url` (POST `body` as JSON)."""
    wrk = ensure_wrk()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.format(body=json.dumps(json.dumps(body))))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    try:
        command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{round(seconds)}s", "--latency", "-s", script.name, url]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        Path(script.name).unlink()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)[ \t]*$", output, re.MULTILINE))  # wrk may pad "1.02s "
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors += int(non2xx.group(1)) if non2xx else 0
    return Run(rps, _ms(latency["50"]), _ms(latency["99"]), errors, cpu / (threads * wall))
