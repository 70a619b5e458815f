"""Variations over raw HTTP (in-process): dall-e-2 only, one square PNG, n visibly different variants."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import DALLE2_FORMAT_ERROR, assert_error, decoded, encode, picture, png, refusal
from PIL import Image, ImageStat

LOGO = png((128, 128), "RGB")  # the square PNG most cases send (variations need no alpha)


def vary(api: TestClient, data: bytes, content_type: str = "image/png", **fields: Any) -> Any:
    return api.post(
        "/v1/images/variations",
        files={"image": ("logo.png", data, content_type)},
        data={k: str(v) for k, v in fields.items()},
    )


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
def test_variation_of_a_square_png_without_alpha_requirement(api: TestClient, spec_validator: Any, mode: str) -> None:
    response = vary(api, png((128, 128), mode), response_format="b64_json", size="256x256")
    assert response.status_code == 200, response.text
    body = response.json()
    spec_validator("ImagesResponse", body)
    assert set(body) == {"created", "data"}
    assert decoded(body["data"][0]["b64_json"]).size == (256, 256)


def test_defaults_one_1024_url_served_from_the_cache(api: TestClient, spec_validator: Any) -> None:
    response = vary(api, LOGO)
    assert response.status_code == 200, response.text
    spec_validator("ImagesResponse", response.json())
    (item,) = response.json()["data"]
    image = api.get(item["url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (1024, 1024)


@pytest.mark.parametrize("size", ["256x256", "512x512", "1024x1024"])
def test_sizes(api: TestClient, size: str) -> None:
    response = vary(api, LOGO, size=size, response_format="b64_json")
    assert decoded(response.json()["data"][0]["b64_json"]).size == tuple(int(x) for x in size.split("x"))


def test_each_variation_is_visibly_different_and_deterministic(api: TestClient) -> None:
    source = png((256, 256), "RGB")
    first = vary(api, source, n=4, size="256x256", response_format="b64_json").json()["data"]
    again = vary(api, source, n=4, size="256x256", response_format="b64_json").json()["data"]
    assert first == again
    means = [tuple(round(v) for v in ImageStat.Stat(decoded(item["b64_json"]).convert("RGB")).mean) for item in first]
    assert len(set(means)) == 4, means
    other = vary(api, encode(picture((256, 256), "RGB").rotate(90)), n=1, size="256x256", response_format="b64_json")
    assert other.json()["data"][0] != first[0]


def test_n_as_string_up_to_10(api: TestClient) -> None:
    assert len(vary(api, LOGO, n="10", size="256x256").json()["data"]) == 10


def test_dalle2_explicitly(api: TestClient) -> None:
    assert vary(api, LOGO, model="dall-e-2", size="256x256").status_code == 200


def form(data: bytes = LOGO, content_type: str = "image/png", **fields: str) -> dict[str, Any]:
    """The `post` keywords of a variation of `data` (sent as logo.png) with these text fields."""
    return {"files": {"image": ("logo.png", data, content_type)}, "data": fields}


REFUSALS = [
    refusal(
        form(n="11"),
        id="n-above-10",
        message="Invalid 'n': integer above maximum value. Expected a value <= 10, but got 11 instead.",
        param="n",
        code="integer_above_max_value",
    ),
    *[
        refusal(
            form(model=model),
            id=f"only-dall-e-2-not-{model}",
            message=f"Invalid value: '{model}'. Value must be 'dall-e-2'.",
            param="model",
            code="invalid_value",
        )
        for model in ("gpt-image-1", "dall-e-3", "gpt-image-1.5", "no-such-model")
    ],
    refusal(
        form(size="1536x1024"),
        id="a-size-dall-e-2-does-not-list",
        message="Invalid value: '1536x1024'. Supported values are: '256x256', '512x512', and '1024x1024'.",
        param="size",
        code="invalid_value",
    ),
    *[
        refusal(
            form(**{name: "x"}),
            id=f"variations-do-not-take-{name}",
            message=f"Unknown parameter: '{name}'.",
            param=name,
            code="unknown_parameter",
        )
        for name in ("prompt", "quality", "style", "output_format", "stream", "mask")
    ],
    refusal(
        form(png((200, 100), "RGB")),
        id="a-non-square-image",
        message="Invalid input image - expected an image with equal width and height, got 200x100 instead.",
        param="image",
        code="invalid_image_dimensions",
    ),
    *[
        refusal(
            form(data),
            id=f"bytes-that-are-not-a-png-{name}",
            message=DALLE2_FORMAT_ERROR,
            param="image",
            code="invalid_image_format",
        )
        for name, data in (
            ("text", b"not a png"),
            ("jpeg", encode(picture((128, 128), "RGB"), "JPEG")),
            ("truncated", LOGO[:100]),
        )
    ],
    *[
        refusal(
            form(LOGO, content_type),
            id=f"the-declared-type-must-be-png-not-{content_type}",
            message=f"Invalid file 'image': unsupported mimetype ('{content_type}'). "
            "Supported file formats are 'image/png'.",
            param="image",
            code="unsupported_file_mimetype",
        )
        for content_type in ("image/jpeg", "application/octet-stream")
    ],
    refusal(
        {"files": [("image[]", ("a.png", LOGO, "image/png"))]},
        id="an-image-array",
        message="Invalid type for 'image': expected a file, but got an array instead.",
        param="image",
        code="invalid_type",
    ),
    refusal(
        {
            "content": b'--b\r\nContent-Disposition: form-data; name="n"\r\n\r\n2\r\n--b--\r\n',
            "headers": {"content-type": "multipart/form-data; boundary=b"},
        },
        id="a-missing-image",
        message="Missing required parameter: 'image'.",
        param="image",
        code="missing_required_parameter",
    ),
    refusal(
        {"json": {"image": "x"}},
        id="a-json-body",
        message="Invalid Content-Type header (application/json): this endpoint expects 'multipart/form-data'. "
        "Send the image files and parameters as multipart/form-data fields.",
        param=None,
        code="invalid_content_type",
    ),
]


@pytest.mark.parametrize(("sent", "expected"), REFUSALS)
def test_a_refused_variation_gets_openai_exact_error(
    api: TestClient, sent: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert_error(api.post("/v1/images/variations", **sent), **expected)


def test_png_of_4_mb_or_more(api: TestClient) -> None:
    """Not a table row: it checks its 5 MB input really is over the limit, and builds it only here."""
    data = png((1300, 1300), "RGB", noise=True)
    assert len(data) >= 4 * 1024 * 1024
    assert_error(vary(api, data), 400, message=DALLE2_FORMAT_ERROR, param="image", code="invalid_image_format")


def test_body_over_the_limit(app_factory: Any) -> None:
    with TestClient(app_factory(max_body_bytes=4096), headers={"Authorization": "Bearer sk-x"}) as client:
        response = vary(client, png((64, 64), "RGB", noise=True))
    assert response.status_code == 413
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
