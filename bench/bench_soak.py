"""Soak: N mixed requests at C-way concurrency against a real server; 0 x 5xx; server RSS before/after.

Run: `python bench/bench_soak.py [--requests 10000] [--concurrency 16] [--cache-bytes B]`. Starts
`python -m images_emulator` itself (one worker, loopback only) and drives it with one asyncio httpx2 client.

The mix (drawn from a seeded generator, so every run sends the same requests in the same order):
generations (dall-e-2/-3 and GPT models, b64 and url, most prompts new so the image cache keeps
filling, some repeated so it hits), streams (0-2 partial images), edits (multipart with PNG/JPEG/WebP
inputs up to 512 px, and JSON data URLs), variations, fetches of issued image URLs, and errors: invalid
and unknown parameters, unknown models, missing keys, wrong methods, undecodable images, injected
rate_limit and content_policy faults, and occasional reads of the journal. Each request has the
statuses it may answer; anything else, and any 5xx, is a failure (exit status 1).

RSS is a worker's VmRSS (/proc/<pid>/status; with several workers the largest of them, the supervisor
aside), read after a warm-up (one request of each kind) and then every tenth of the run: the encoded-
image cache is bounded (`--cache-bytes`) and the journal keeps 1000 entries, so RSS should rise while
the cache fills, then plateau. Target: <= 150 MiB per worker after a 10 000-request run, read once the
server has been idle for REST_SECONDS (the samples during the run include the requests in flight).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import random
import statistics
import sys
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from images_emulator.testing.process import EmulatorProcess

API_KEY = "sk-soak"
GENERATIONS, EDITS, VARIATIONS = "/v1/images/generations", "/v1/images/edits", "/v1/images/variations"
RSS_TARGET_MIB = 150
REST_SECONDS = 1.0  # "after the soak": RSS once the server has been idle this long (in-flight work let go)
PLATEAU_SHARE = 0.05  # "plateaued": RSS grew by less than 5% of its final value over the last 30% of the run


@dataclass(frozen=True)
class Call:
    """One request of the mix and the statuses it may answer."""

    kind: str
    method: str
    path: str
    expect: frozenset[int]
    options: dict[str, Any] = field(default_factory=dict)


def encoded(size: int, fmt: str, seed: int) -> bytes:
    """A noisy RGBA (PNG/WebP) or RGB (JPEG) picture: decoding it costs what a photo would."""
    rng = random.Random(seed)
    img = Image.effect_noise((size, size), 40 + seed % 50).convert("RGB")
    img.paste((rng.randrange(256), rng.randrange(256), rng.randrange(256)), (0, 0, size // 2, size // 2))
    if fmt != "JPEG":
        img = img.convert("RGBA")
    buffer = io.BytesIO()
    img.save(buffer, fmt)
    return buffer.getvalue()


class Mix:
    """The seeded sequence of calls."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.inputs = [
            (encoded(size, fmt, i), mime)
            for i, (size, fmt, mime) in enumerate(
                [
                    (64, "PNG", "image/png"),
                    (256, "PNG", "image/png"),
                    (512, "JPEG", "image/jpeg"),
                    (384, "WEBP", "image/webp"),
                ]
            )
        ]
        self.square_png = encoded(256, "PNG", 99)
        self.urls: deque[str] = deque(maxlen=200)  # image URLs issued so far, for the `fetch` kind
        self.count = 0
        self.kinds: list[tuple[str, float, Callable[[], Call]]] = [
            ("generate", 30, self.generate),
            ("stream", 10, self.stream),
            ("edit", 12, self.edit),
            ("edit-json", 4, self.edit_json),
            ("variation", 8, self.variation),
            ("fetch", 6, self.fetch),
            ("error", 29.5, self.error),
            ("journal", 0.5, self.journal),
        ]

    def next(self) -> Call:
        self.count += 1
        _, _, make = self.rng.choices(self.kinds, weights=[w for _, w, _ in self.kinds])[0]
        return make()

    def prompt(self) -> str:
        """Mostly new prompts (the cache keeps filling), one in four from a small pool (cache hits)."""
        if self.rng.random() < 0.25:
            return f"a lighthouse on a cliff, variant {self.rng.randrange(20)}"
        return f"a red fox in the snow, request {self.count}, {self.rng.random():.6f}"

    def generate(self) -> Call:
        model, extra = self.rng.choice(
            [
                ("dall-e-2", {"size": "256x256", "response_format": "url"}),
                ("dall-e-2", {"size": "512x512", "response_format": "b64_json"}),
                ("dall-e-3", {"size": "1024x1024", "response_format": "url"}),
                ("gpt-image-1", {"size": "1024x1024", "quality": "low"}),
                ("gpt-image-1-mini", {"size": "1024x1536", "quality": "low", "output_format": "jpeg"}),
                ("gpt-image-1.5", {"size": "1024x1024", "quality": "medium", "output_format": "webp", "n": 2}),
            ]
        )
        body = {"model": model, "prompt": self.prompt(), **extra}
        return Call("generate", "POST", GENERATIONS, frozenset({200}), {"json": body})

    def stream(self) -> Call:
        body = {"model": "gpt-image-1", "prompt": self.prompt(), "size": "1024x1024", "quality": "low"}
        body.update(stream=True, partial_images=self.rng.randrange(3))
        return Call("stream", "POST", GENERATIONS, frozenset({200}), {"json": body})

    def edit(self) -> Call:
        data, mime = self.rng.choice(self.inputs)
        model = self.rng.choice(["gpt-image-1", "gpt-image-1.5", "gpt-image-1-mini"])
        fields = {"model": model, "prompt": self.prompt(), "quality": "low", "size": "1024x1024"}
        return Call("edit", "POST", EDITS, frozenset({200}), {"data": fields, "files": {"image": ("in", data, mime)}})

    def edit_json(self) -> Call:
        data, mime = self.rng.choice(self.inputs[:2])
        url = f"data:{mime};base64,{base64.b64encode(data).decode()}"
        body = {"prompt": self.prompt(), "images": [{"image_url": url}], "quality": "low", "size": "1024x1024"}
        return Call("edit-json", "POST", EDITS, frozenset({200}), {"json": body})

    def variation(self) -> Call:
        fields = {"size": "256x256", "response_format": self.rng.choice(["url", "b64_json"]), "n": 2}
        files = {"image": ("in.png", self.square_png, "image/png")}
        return Call("variation", "POST", VARIATIONS, frozenset({200}), {"data": fields, "files": files})

    def fetch(self) -> Call:
        if not self.urls:
            return self.generate()
        url = self.urls[self.rng.randrange(len(self.urls))]
        # a variation's URL lives in the cache of its process: 404 once evicted
        return Call("fetch", "GET", url, frozenset({200, 404}))

    def journal(self) -> Call:
        return Call("journal", "GET", "/__emulator/requests", frozenset({200}))

    def error(self) -> Call:
        prompt = self.prompt()
        bad: list[tuple[str, str, int, dict[str, Any]]] = [
            ("POST", GENERATIONS, 400, {"json": {"model": "dall-e-3", "prompt": prompt, "size": "256x256"}}),
            ("POST", GENERATIONS, 400, {"json": {"prompt": prompt, "colour": "red"}}),
            ("POST", GENERATIONS, 400, {"content": b'{"prompt": ', "headers": {"content-type": "application/json"}}),
            ("POST", GENERATIONS, 404, {"json": {"model": "dall-e-9", "prompt": prompt}}),
            ("POST", GENERATIONS, 401, {"json": {"prompt": prompt}, "headers": {"authorization": ""}}),
            ("GET", GENERATIONS, 405, {}),
            (
                "POST",
                EDITS,
                400,
                {"data": {"prompt": prompt}, "files": {"image": ("x.png", b"not a png", "image/png")}},
            ),
            ("POST", VARIATIONS, 400, {"json": {"prompt": prompt}}),
            ("POST", GENERATIONS, 429, {"json": {"prompt": prompt}, "headers": {"x-emulator-fault": "rate_limit"}}),
            (
                "POST",
                GENERATIONS,
                400,
                {"json": {"model": "gpt-image-1", "prompt": prompt}, "headers": {"x-emulator-fault": "content_policy"}},
            ),
            ("GET", "/images/forged.token.png", 403, {}),
        ]
        method, path, status, options = self.rng.choice(bad)
        return Call("error", method, path, frozenset({status}), options)


@dataclass
class Results:
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    unexpected: list[str] = field(default_factory=list)
    done: int = 0


def process_rss_mib(pid: int) -> float:
    """VmRSS of `pid` in MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def rss_mib(pid: int) -> float:
    """The largest worker's VmRSS: `pid`'s children when it forked workers, else `pid` itself."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return max((process_rss_mib(int(child)) for child in children), default=None) or process_rss_mib(pid)


async def send(client: httpx2.AsyncClient, call: Call, mix: Mix, results: Results) -> None:
    started = time.perf_counter()
    async with client.stream(call.method, call.path, **call.options) as response:
        body = await response.aread()
    results.latencies[call.kind].append(time.perf_counter() - started)
    results.statuses[response.status_code] += 1
    if response.status_code not in call.expect:
        results.unexpected.append(
            f"{call.kind} {call.method} {call.path[:60]} -> {response.status_code}: {body[:200]!r}"
        )
    if response.status_code == 200 and call.kind in ("generate", "variation") and b'"url"' in body:
        mix.urls.extend(item["url"] for item in response.json()["data"])
    if call.kind == "stream" and response.status_code == 200 and b"completed" not in body:
        results.unexpected.append(f"stream without a completed event: {body[-200:]!r}")


async def soak(base_url: str, pid: int, requests: int, concurrency: int, seed: int, deadline: float) -> Results:
    mix = Mix(seed)
    results = Results()
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx2.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=120) as client:
        for make in (mix.generate, mix.stream, mix.edit, mix.edit_json, mix.variation, mix.error):
            await send(client, make(), mix, Results())  # warm-up: fonts, codecs, connections
        baseline = rss_mib(pid)
        samples = [(0, baseline)]
        print(f"server RSS after warm-up: {baseline:.1f} MiB", flush=True)
        started = time.perf_counter()
        queue = iter(range(requests))
        step = max(requests // 10, 1)

        async def worker() -> None:
            for _ in queue:
                if time.monotonic() > deadline:
                    raise TimeoutError("soak exceeded --max-seconds")
                await send(client, mix.next(), mix, results)
                results.done += 1
                if results.done % step == 0:
                    samples.append((results.done, rss_mib(pid)))
                    elapsed = time.perf_counter() - started
                    print(f"  {results.done:6d} requests  {elapsed:6.1f} s  RSS {samples[-1][1]:7.1f} MiB", flush=True)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        await asyncio.sleep(REST_SECONDS)
        at_rest = rss_mib(pid)
    report(results, samples, elapsed, requests, concurrency, at_rest)
    return results


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(
    results: Results, samples: list[tuple[int, float]], elapsed: float, requests: int, concurrency: int, at_rest: float
) -> None:
    print(f"\n{requests} requests at concurrency {concurrency} in {elapsed:.1f} s: {requests / elapsed:.1f} req/s")
    print("statuses: " + ", ".join(f"{status} x {count}" for status, count in sorted(results.statuses.items())))
    print(f"{'kind':10} {'count':>6} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, values in sorted(results.latencies.items()):
        print(
            f"{kind:10} {len(values):6d} {statistics.median(values) * 1000:8.1f} {percentile(values, 0.99) * 1000:8.1f}"
        )
    first, last = samples[0][1], samples[-1][1]
    tail_start = next((rss for done, rss in samples if done >= 0.7 * requests), last)
    tail_growth = last - tail_start
    peak = max(rss for _, rss in samples)
    print(f"server RSS: {first:.1f} MiB before, {last:.1f} MiB after (+{last - first:.1f} MiB; peak sample {peak:.1f})")
    print("RSS (MiB) by requests done: " + "  ".join(f"{done}:{rss:.0f}" for done, rss in samples))
    at = {share: next((rss for done, rss in samples if done >= share * requests), last) for share in (0.1, 0.5, 1.0)}
    print("RSS per worker at 10% / 50% / 100%: " + " / ".join(f"{rss:.0f}" for rss in at.values()) + " MiB")
    verdict = "OK" if at_rest <= RSS_TARGET_MIB else "MISSED"
    rest = f"at rest {REST_SECONDS:.0f} s"
    print(f"RSS per worker after the soak, {rest}: {at_rest:.1f} MiB (target <= {RSS_TARGET_MIB}: {verdict})")
    verdict = "plateaued" if tail_growth <= PLATEAU_SHARE * last else "still growing"
    rule = f"< {PLATEAU_SHARE:.0%} of the final RSS"
    print(f"RSS over the last 30% of the run: {tail_growth:+.1f} MiB -> {verdict} (rule: {rule})")
    server_errors = sum(count for status, count in results.statuses.items() if status >= 500)
    print(f"5xx: {server_errors}; unexpected statuses: {len(results.unexpected)}")
    for line in results.unexpected[:20]:
        print("  " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache-bytes", type=int, default=None, help="server --cache-bytes (default: its own)")
    parser.add_argument("--workers", default=None, help="server --workers (default: 1, as EmulatorProcess starts it)")
    parser.add_argument("--url", default=None, help="soak this running server instead (with --pid)")
    parser.add_argument("--pid", type=int, default=None, help="the pid of the --url server, for its RSS")
    parser.add_argument("--max-seconds", type=float, default=1800, help="give up (and fail) after this long")
    args = parser.parse_args()
    # The mix exercises every endpoint of the mid-2026 API (dall-e URLs, variations): serve that date.
    server_args = ["--api-key", API_KEY, "--api-date", "2026-05-01"]
    if args.cache_bytes is not None:
        server_args += ["--cache-bytes", str(args.cache_bytes)]
    if args.workers is not None:
        server_args += ["--workers", args.workers]
    deadline = time.monotonic() + args.max_seconds
    if args.pid is not None:  # a server started elsewhere with the same flags (--api-key, --api-date)
        results = asyncio.run(soak(args.url, args.pid, args.requests, args.concurrency, args.seed, deadline))
        sys.exit(1 if results.unexpected or any(status >= 500 for status in results.statuses) else 0)
    with EmulatorProcess(args=tuple(server_args)) as server:
        assert server.process is not None
        results = asyncio.run(
            soak(server.base_url, server.process.pid, args.requests, args.concurrency, args.seed, deadline)
        )
        alive = server.process.poll() is None
    failed = bool(results.unexpected) or any(status >= 500 for status in results.statuses) or not alive
    print("soak: " + ("FAILED" if failed else "OK"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
