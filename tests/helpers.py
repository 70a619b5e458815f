"""Assertions, image builders and request helpers shared by the test modules (pytest puts tests/ on sys.path)."""

from __future__ import annotations

import base64
import functools
import io
import json
import random
import shutil
import struct
import subprocess
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
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


def picture(
    size: tuple[int, int] = (64, 64), mode: str = "RGBA", seed: int = 0, *, noise: bool = False
) -> Image.Image:
    """A small scene (shapes on a coloured ground) in `mode`; with `noise`, seeded random pixels instead
    (incompressible: the encoded file is about width*height*bands bytes)."""
    if noise:
        data = random.Random(seed).randbytes(size[0] * size[1] * Image.getmodebands(mode))
        return Image.frombytes(mode, size, data)
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


def png(size: tuple[int, int] = (64, 64), mode: str = "RGBA", seed: int = 0, *, noise: bool = False) -> bytes:
    """`picture(...)` as a PNG (a noise picture stored uncompressed)."""
    img = picture(size, mode, seed, noise=noise)
    return encode(img, compress_level=0) if noise else encode(img)


def png_declaring(width: int, height: int, idat: bytes | None = None) -> bytes:
    """A PNG whose header claims `width` x `height`, with little or no real pixel data (what a
    decompression bomb looks like before decoding)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    data = zlib.compress(b"\x00" * 64) if idat is None else idat
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def mask_with_hole(size: tuple[int, int], hole: tuple[int, int, int, int]) -> bytes:
    """An opaque RGBA mask PNG, fully transparent (the area to edit) inside `hole`."""
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    ImageDraw.Draw(mask).rectangle(hole, fill=(0, 0, 0, 0))
    return encode(mask)


def data_url(data: bytes, content_type: str = "image/png") -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


def decoded(b64: str) -> Image.Image:
    """The image a `b64_json` carries (fully decoded, so truncated data fails here)."""
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


# --- refusal tables -------------------------------------------------------------------------------------------


def refusal(
    *request: Any,
    id: str,
    status: int = 400,
    message: str,
    param: str | None,
    code: str | None,
    type: str = "invalid_request_error",
) -> Any:
    """One row of a refusal table: the request's arguments, then the `assert_error` keywords it must get."""
    expected = {"status": status, "message": message, "param": param, "code": code, "type": type}
    return pytest.param(*request, expected, id=id)


# --- edits (the test_edit*.py modules) ------------------------------------------------------------------------

GPT_MIME_LIST = "'image/jpeg', 'image/png', and 'image/webp'"
DALLE2_FORMAT_ERROR = "Uploaded image must be a PNG and less than 4 MB."
EDITS = "/v1/images/edits"


def multipart(files: Any, **fields: str) -> dict[str, Any]:
    """The keywords of a multipart `post`: these file parts and text fields, nothing added."""
    return {"files": files, "data": fields}


def image_part(data: bytes, content_type: str = "image/png", name: str = "a.png") -> tuple[str, bytes, str]:
    return (name, data, content_type)


def edit(api: Any, files: Any, **fields: Any) -> Any:
    """A multipart edit with the prompt "add a hat" and `fields` as text fields."""
    data = {"prompt": "add a hat", **{k: str(v) for k, v in fields.items()}}
    return api.post(EDITS, files=files, data=data)


def gpt_edit(api: Any, files: Any, **fields: Any) -> Any:
    return edit(api, files, **{"model": "gpt-image-1", "quality": "low", **fields})


def json_edit(api: Any, **body: Any) -> Any:
    return api.post(EDITS, json={"prompt": "add a hat", "quality": "low", **body})


def assert_4xx_envelope(response: Any) -> dict[str, Any]:
    """A 4xx in OpenAI's envelope (exactly its four keys, a non-empty message); the error object."""
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    return error  # type: ignore[no-any-return]


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


def node_openai(directory: Path, version: str) -> Path:
    """`directory` with the Node `openai` package `version` installed (an ES module project); skips the
    test when node or npm is missing or the install fails."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the Node SDK tests need them")
    (directory / "package.json").write_text('{"name": "emulator-node-test", "private": true, "type": "module"}')
    command = ["npm", "install", version, "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        result = subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.skip(f"`npm install {version}` timed out (npm registry unreachable?)")
    if result.returncode != 0:
        pytest.skip(f"`npm install {version}` failed (npm registry unreachable?): {result.stderr[-500:]}")
    return directory
