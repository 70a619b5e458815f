"""Job: a validated request with every default and `auto` resolved to a concrete value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from PIL import Image

from .catalog import ModelSpec

Endpoint = Literal["generations", "edits", "variations"]


@dataclass(frozen=True)
class InputImage:
    """One decoded upload (edits/variations)."""

    name: str  # the form part name, e.g. "image", "image[]", "mask"
    filename: str
    content_type: str
    data: bytes  # what identifies the file for the render seed: uploads.py stores its sha256 digest
    image: Image.Image  # decoded; uploads.py keeps a working copy downscaled to fit 2048x2048
    original_size: tuple[int, int] | None = None  # (width, height) of the file when `image` is downscaled

    @property
    def size(self) -> tuple[int, int]:
        """The uploaded image's own (width, height): what usage and `size=auto` are computed from."""
        return self.original_size or self.image.size


@dataclass(frozen=True)
class Job:
    endpoint: Endpoint
    spec: ModelSpec
    prompt: str
    n: int
    size: str  # concrete WxH
    quality: str  # concrete
    response_format: str  # "b64_json" | "url"
    output_format: str  # png | jpeg | webp
    output_compression: int
    background: str  # concrete: opaque | transparent
    style: str | None = None
    moderation: str = "auto"
    stream: bool = False
    partial_images: int = 0
    input_fidelity: str = "low"
    user: str | None = None
    inputs: tuple[InputImage, ...] = ()
    mask: InputImage | None = None
    requested: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def width(self) -> int:
        return int(self.size.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.size.split("x")[1])
