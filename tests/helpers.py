"""Assertions and image builders shared by the test modules (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import base64
import functools
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from PIL import Image, ImageDraw
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from images_emulator.contract.catalog import catalog_as_of

# The suite written for the API of mid-2026 runs as of that date (conftest sets EMULATOR_API_DATE);
# tests of today's API pass TODAY explicitly.
LEGACY_API_DATE = "2026-05-01"
TODAY = "2026-11-19"
LEGACY = catalog_as_of(date.fromisoformat(LEGACY_API_DATE))


def assert_error(
    response: Any,
    status: int,
    *,
    message: str,
    param: str | None,
    code: str | None,
    type: str = "invalid_request_error",
) -> None:
    """`response` is exactly OpenAI's envelope with these four fields and this status."""
    assert response.status_code == status, response.text
    assert response.json() == {"error": {"message": message, "type": type, "param": param, "code": code}}


def picture(size: tuple[int, int] = (64, 64), mode: str = "RGBA", seed: int = 0) -> Image.Image:
    """A small scene (shapes on a coloured ground) in `mode`."""
    img = Image.new("RGB", size, (40 + 50 * seed % 200, 120, 200))
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.ellipse((w * 0.2, h * 0.2, w * 0.6, h * 0.7), fill=(250, 220, 30))
    draw.rectangle((w * 0.55, h * 0.5, w * 0.9, h * 0.9), fill=(20, 160, 60))
    if mode == "P":
        return img.convert("P", palette=Image.Palette.ADAPTIVE)
    return img.convert(mode)


def encode(img: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def png(size: tuple[int, int] = (64, 64), mode: str = "RGBA", seed: int = 0) -> bytes:
    return encode(picture(size, mode, seed))


def decoded(b64: str) -> Image.Image:
    """The image a `b64_json` carries."""
    return Image.open(io.BytesIO(base64.b64decode(b64)))


# The official OpenAPI description of the images endpoints (openai/openai-openapi f85dbe2, 2026-08-21),
# vendored: see tests/spec/README.md.
SPEC_PATH = Path(__file__).parent / "spec" / "images-openapi.json"


@functools.cache
def spec_document() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@functools.cache
def spec_validator(name: str) -> Draft202012Validator:
    """A validator for the official `#/components/schemas/<name>` (contract §13)."""
    resource = Resource.from_contents(spec_document(), default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:images", resource)
    return Draft202012Validator({"$ref": f"urn:images#/components/schemas/{name}"}, registry=registry)
