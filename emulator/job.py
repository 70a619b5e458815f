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
    data: bytes
    image: Image.Image

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


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
