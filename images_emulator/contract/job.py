"""Job: a validated request with every default and `auto` resolved to a concrete value."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from images_emulator.contract.catalog import ModelSpec
from images_emulator.contract.endpoints import Endpoint


@dataclass(frozen=True)
class InputImage:
    """One decoded upload (edits/variations)."""

    name: str  # the form part name, e.g. "image", "image[]", "mask"
    filename: str
    content_type: str
    data: bytes  # what identifies the file for the render seed: its sha256 digest
    image: Image.Image  # decoded: a working copy downscaled to fit 2048x2048 (imaging.decode)
    original_size: tuple[int, int] | None = None  # (width, height) of the file when `image` is downscaled

    @property
    def size(self) -> tuple[int, int]:
        """The uploaded image's own (width, height): what usage and `size=auto` are computed from."""
        return self.original_size or self.image.size


@dataclass(frozen=True)
class EditInputs:
    """The decoded files of one edit: its images, and the mask or the markup it may carry."""

    images: tuple[InputImage, ...]
    mask: InputImage | None = None
    markup: InputImage | None = None


@dataclass(frozen=True)
class SvgOptions:
    """The `svg` object: the author model and its reasoning effort (None: the defaults)."""

    model: str | None = None
    effort: str | None = None


@dataclass(frozen=True)
class Job:
    endpoint: Endpoint
    spec: ModelSpec
    prompt: str
    n: int
    size: str  # concrete WxH
    quality: str  # concrete
    response_format: str  # "b64_json" | "url"
    output_format: str  # png | jpeg | webp | gif | svg
    output_compression: int
    background: str  # concrete: opaque | transparent
    style: str | None = None
    moderation: str = "auto"
    stream: bool = False
    partial_images: int = 0
    input_fidelity: str = "low"
    # The effective safety identifier: a non-empty `safety_identifier`, else a non-empty `user`.
    safety_identifier: str | None = None
    complexity: str | None = None  # as sent (None: the model's default)
    frame_count: int = 1  # GIF: the frames of the animation; 1 for stills
    frame_duration_ms: int = 0  # GIF: the delay of each frame, rounded and capped
    svg: SvgOptions | None = None  # SVG: the author model and effort, resolved
    inputs: tuple[InputImage, ...] = ()
    mask: InputImage | None = None
    markup: InputImage | None = None

    @property
    def width(self) -> int:
        return int(self.size.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.size.split("x")[1])
