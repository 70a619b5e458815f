"""Cold `render()` cost versus the Pillow floor for the same size, format and encoder options.

Run: python bench/bench_render.py [runs]

Baseline ("Pillow floor"): what a Pillow program pays to create a non-trivial picture of that size and
encode it. It builds smooth RGB gradients (`Image.linear_gradient` / `Image.radial_gradient` resized
per channel and merged: no flat areas, no noise) and encodes them with `images_emulator.imaging.render.encode`, i.e.
exactly the options render() uses. The rendered picture also has blobs, a text panel, the prompt and
a caption. Encoded sizes are printed next to each other so you can check the contents are comparable.
"enc" is the encoder alone on the rendered picture, the part render() cannot avoid.

"Cold": every timed render has a spec never rendered before (a new prompt each run), so no image cache
is involved. The bundled font is loaded once by a warm-up render, as in a running server.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageChops

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from images_emulator.imaging.render import RenderSpec, encode, render, render_image

TARGET = 1.3
PROMPT = (
    "A photograph of a ginger cat wearing tiny sunglasses, lying on a striped beach chair at sunset, "
    "palm trees in the background, cinematic lighting, run {}"
)
CASES = [  # (width, height, format, background, output_compression)
    (1024, 1024, "png", "opaque", 100),
    (1536, 1024, "jpeg", "opaque", 90),
    (1024, 1024, "webp", "opaque", 90),
    (1024, 1024, "png", "transparent", 100),
]


def baseline_image(width: int, height: int, alpha: bool) -> Image.Image:
    """Smooth non-linear RGB gradients of the given size: R = horizontal ramp, G = radial gradient,
    B = vertical ramp (RGBA with an inverted-radial alpha if `alpha`)."""
    ramp, radial = Image.linear_gradient("L"), Image.radial_gradient("L")
    bilinear = Image.Resampling.BILINEAR
    across = ramp.transpose(Image.Transpose.ROTATE_90).resize((width, height), bilinear)
    round_ = radial.resize((width, height), bilinear)
    down = ramp.resize((width, height), bilinear)
    img = Image.merge("RGB", (across, round_, down))
    if alpha:
        img.putalpha(ImageChops.invert(round_))
    return img


def timed(fn: Callable[[int], bytes], runs: int) -> tuple[float, float, int]:
    """(best ms, median ms, encoded bytes of the last run)."""
    times, size = [], 0
    for i in range(runs):
        start = time.perf_counter()
        size = len(fn(i))
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times), size


def bench_case(width: int, height: int, fmt: str, background: str, compression: int, runs: int) -> str:
    """One table row."""

    def spec(i: int) -> RenderSpec:
        return RenderSpec("gpt-image-1", PROMPT.format(i), width, height, "high", background, fmt, compression)

    picture = render_image(spec(-1))
    r_best, r_med, r_size = timed(lambda i: render(spec(i)), runs)
    b_best, b_med, b_size = timed(
        lambda i: encode(baseline_image(width, height, background == "transparent"), fmt, compression), runs
    )
    _, e_med, _ = timed(lambda i: encode(picture, fmt, compression), runs)
    ratio = r_med / b_med
    case = f"{width}x{height} {fmt} {background}"
    return (
        f"{case:27} {r_best:6.1f} {r_med:6.1f}   {b_best:6.1f} {b_med:6.1f}   {e_med:6.1f}   {ratio:5.2f}"
        f"   {r_size // 1024:4d} {b_size // 1024:4d}   {'yes' if ratio <= TARGET else 'NO'}"
    )


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    render(RenderSpec("gpt-image-1", "warm-up", 256, 256, "low", "opaque", "png", 100))
    print(__doc__.split("Run:")[1].split("\n", 2)[2].strip())
    print(f"\n{runs} runs each; times in ms (best, median); sizes in KB\n")
    header = (
        f"{'case':27} {'render':>13}   {'baseline':>13}   {'enc':>6}   {'ratio':>5}   {'size':>4} {'base':>4}   <=1.3x"
    )
    print(header)
    print("-" * len(header))
    for width, height, fmt, background, compression in CASES:
        print(bench_case(width, height, fmt, background, compression, runs))
    print(f"\nratio = render median / baseline median; target <= {TARGET}x")


if __name__ == "__main__":
    main()
