"""Animated GIF and SVG outputs: cold and cached, against the Pillow floor for the same frames.

Run: python bench/bench_formats.py [--runs 15] [--requests 20]

In process (no HTTP):
- gif cold: `render()` of a 9-frame 1024x1024 GIF with a prompt never rendered before (the still
  picture, the palette, the 9 frames with the moving marker, the encoder).
- gif floor: Pillow writing the very same 9 palette frames with the same options (what any program
  producing this animation pays, however it drew the frames).
- svg cold: `render()` of a 1024x1024 SVG document; shown beside the cold 1024x1024 PNG of the same
  spec, which is what the SVG replaces.

Over HTTP (a real server on loopback, one request at a time, so the client is never the bottleneck):
median latency of a generation that renders (a new prompt each time) and of the same request
repeated (served from the image cache and the cached response tail).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from images_emulator.imaging.animation import frames_of, quantized
from images_emulator.imaging.render import RenderSpec, _marker_font_size, render, render_image
from images_emulator.imaging.text import font
from images_emulator.testing.process import EmulatorProcess

TARGET = 1.5  # gif cold <= 1.5x the Pillow floor for the same frames
MODEL = "gpt-image-2.6-sunburst"
PROMPT = "A lighthouse on a cliff at dusk, waves below, gulls overhead, run {}"


def spec(output_format: str, run: int) -> RenderSpec:
    gif = output_format == "gif"
    return RenderSpec(
        MODEL,
        PROMPT.format(run),
        1024,
        1024,
        "low",
        "opaque",
        output_format,
        100,
        frame_count=9 if gif else 1,
        frame_duration_ms=200 if gif else 0,
        svg_model=MODEL if output_format == "svg" else None,
        svg_effort="medium" if output_format == "svg" else None,
    )


def median_ms(fn: Callable[[int], object], runs: int) -> float:
    times = []
    for run in range(runs):
        start = time.perf_counter()
        fn(run)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def pillow_floor(run: int) -> bytes:
    """Pillow saving the same 9 frames (built beforehand, outside the timing) as render() writes."""
    frames = FLOOR_FRAMES[run % len(FLOOR_FRAMES)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    return buf.getvalue()


def frames_for(run: int) -> list:
    s = spec("gif", 10_000 + run)
    return frames_of(quantized(render_image(s)), 9, font(_marker_font_size(s)))


FLOOR_FRAMES: list[list] = []


def over_http(requests: int) -> dict[str, tuple[float, float]]:
    """(cold median ms, cached median ms) per output format, through a real server."""
    results = {}
    with EmulatorProcess() as server, httpx2.Client(base_url=server.base_url, timeout=60) as client:
        headers = {"authorization": "Bearer bench"}
        for output_format in ("gif", "svg", "png"):
            cold, cached = [], []
            for i in range(requests):
                body = {"model": MODEL, "prompt": PROMPT.format(f"http-{output_format}-{i}"), "size": "1024x1024"}
                body.update(quality="low", output_format=output_format)
                for times in (cold, cached, cached):  # the first is rendered, the repeats are cache hits
                    start = time.perf_counter()
                    response = client.post("/v1/images/generations", json=body, headers=headers)
                    times.append((time.perf_counter() - start) * 1000)
                    response.raise_for_status()
            results[output_format] = (statistics.median(cold), statistics.median(cached))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    render(spec("png", -1))  # fonts loaded, as in a running server
    FLOOR_FRAMES.extend(frames_for(run) for run in range(3))

    gif = median_ms(lambda run: render(spec("gif", run)), args.runs)
    floor = median_ms(pillow_floor, args.runs)
    svg = median_ms(lambda run: render(spec("svg", 1000 + run)), args.runs)
    png = median_ms(lambda run: render(spec("png", 2000 + run)), args.runs)
    sizes = {fmt: len(render(spec(fmt, -2))) // 1024 for fmt in ("gif", "svg", "png")}
    print(f"in process, {args.runs} runs each, median ms (size of one output)")
    print(f"  gif 9x1024x1024 cold render   {gif:7.1f}  ({sizes['gif']} KB)")
    print(f"  gif Pillow floor, same frames {floor:7.1f}")
    print(f"  svg 1024x1024 cold render     {svg:7.1f}  ({sizes['svg']} KB)")
    print(f"  png 1024x1024 cold render     {png:7.1f}  ({sizes['png']} KB, the same spec as a still)")
    ratio = gif / floor
    print(f"gif ratio: {ratio:.2f}x the Pillow floor (target <= {TARGET}x): {'OK' if ratio <= TARGET else 'NO'}")

    print(f"\nover HTTP, {args.requests} requests each, median ms: cold (renders) / cached (repeat)")
    for output_format, (cold, cached) in over_http(args.requests).items():
        print(f"  {output_format:4} {cold:7.1f} / {cached:5.1f}")


if __name__ == "__main__":
    main()
