"""JSON edits over raw HTTP (in-process, contract §5): images and mask as base64 data URLs, and every refusal
of the JSON body's shape, with OpenAI's exact errors."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import (
    EDITS,
    GPT_MIME_LIST,
    LEGACY,
    assert_4xx_envelope,
    assert_error,
    data_url,
    encode,
    gpt_edit,
    image_part,
    json_edit,
    mask_with_hole,
    picture,
    png,
    refusal,
)

from images_emulator.contract.errors import quote_list
from images_emulator.contract.usage import input_image_tokens

MODELS = LEGACY.models
GPT_EDIT_MODELS = [name for name, spec in MODELS.items() if spec.edits and spec.is_gpt]
NOT_DECODED = "Invalid image file or mode for image 1, please check your image file."
ONE_IMAGE = [{"image_url": data_url(png())}]


# --- accepted ----------------------------------------------------------------------------------------------


def test_json_edit_with_data_urls(api: TestClient, spec_validator: Any) -> None:
    jpeg = data_url(encode(picture(mode="RGB"), "JPEG"), "image/jpeg")
    response = json_edit(
        api,
        images=[{"image_url": data_url(png((600, 400)))}, {"image_url": jpeg}],
        mask={"image_url": data_url(mask_with_hole((600, 400), (0, 0, 100, 100)))},
        moderation="low",
        model="gpt-image-1",
        input_fidelity=None,
        n=None,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    spec_validator("ImagesResponse", body)
    assert body["size"] == "1536x1024"
    expected = input_image_tokens(600, 400) + input_image_tokens(64, 64)
    assert body["usage"]["input_tokens_details"]["image_tokens"] == expected


def test_json_and_multipart_edits_of_the_same_file_render_the_same(api: TestClient) -> None:
    data = png(seed=3)
    via_json = json_edit(api, images=[{"image_url": data_url(data)}], model="gpt-image-1")
    via_form = gpt_edit(api, {"image": image_part(data)})
    assert via_json.json()["data"] == via_form.json()["data"]


# --- refused -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "param", "fragment"),
    [
        pytest.param(
            {"image_url": "https://example.com/a.png"},
            "images[0].image_url",
            "does not fetch remote image URLs",
            id="a-remote-image-url",
        ),
        pytest.param(
            {"file_id": "file-abc123"}, "images[0].file_id", "does not fetch file_id references", id="a-file_id"
        ),
    ],
)
def test_json_references_that_are_not_fetched(api: TestClient, ref: dict[str, str], param: str, fragment: str) -> None:
    response = json_edit(api, images=[ref])
    error = assert_4xx_envelope(response)
    assert (error["param"], error["code"]) == (param, "unsupported_image_reference")
    assert fragment in error["message"] and "data URL" in error["message"]


JSON_REFUSALS = [
    # --- images: required, an array of 1 to 16 objects
    refusal(
        {},
        id="images-missing",
        message="Missing required parameter: 'images'.",
        param="images",
        code="missing_required_parameter",
    ),
    refusal(
        {"images": None},
        id="images-null",
        message="Missing required parameter: 'images'.",
        param="images",
        code="missing_required_parameter",
    ),
    refusal(
        {"images": "x"},
        id="images-a-string",
        message="Invalid type for 'images': expected an array, but got a string instead.",
        param="images",
        code="invalid_type",
    ),
    refusal(
        {"images": []},
        id="images-an-empty-array",
        message="Invalid 'images': empty array. Expected an array with minimum length 1, but got an empty array "
        "instead.",
        param="images",
        code="empty_array",
    ),
    refusal(
        {"images": [{"image_url": data_url(png((8, 8)))}] * 17},
        id="seventeen-images",
        message="Invalid 'images': array too long. Expected an array with maximum length 16, but got an array "
        "with length 17 instead.",
        param="images",
        code="array_above_max_length",
    ),
    refusal(
        {"images": ["x"]},
        id="an-image-that-is-a-string",
        message="Invalid type for 'images[0]': expected an object, but got a string instead.",
        param="images[0]",
        code="invalid_type",
    ),
    # --- each image: exactly one of image_url or file_id
    refusal(
        {"images": [{"url": "x"}]},
        id="an-unknown-key-in-an-image",
        message="Unknown parameter: 'images[0].url'.",
        param="images[0].url",
        code="unknown_parameter",
    ),
    refusal(
        {"images": [{}]},
        id="an-empty-image-object",
        message="Missing required parameter: 'images[0].image_url'.",
        param="images[0].image_url",
        code="missing_required_parameter",
    ),
    refusal(
        {"images": [{"image_url": "a", "file_id": "b"}]},
        id="both-image_url-and-file_id",
        message="Invalid 'images[0]': expected exactly one of 'image_url' or 'file_id', but got both.",
        param="images[0]",
        code="invalid_value",
    ),
    refusal(
        {"images": [{"image_url": 5}]},
        id="an-image_url-that-is-a-number",
        message="Invalid type for 'images[0].image_url': expected a string, but got an integer instead.",
        param="images[0].image_url",
        code="invalid_type",
    ),
    # --- data URLs
    refusal(
        {"images": [{"image_url": "data:image/png;base64,!!!"}]},
        id="a-data-url-that-is-not-base64",
        message="Invalid 'images[0].image_url': the data URL's base64 payload could not be decoded.",
        param="images[0].image_url",
        code="invalid_image_url",
    ),
    refusal(
        {"images": [{"image_url": "data:image/png;base64"}]},
        id="a-data-url-without-a-comma",
        message="Invalid 'images[0].image_url': a data URL needs a ',' between its header and its data.",
        param="images[0].image_url",
        code="invalid_image_url",
    ),
    refusal(
        {"images": [{"image_url": "ftp://example.com/a.png"}]},
        id="an-image_url-that-is-not-a-data-url",
        message="Invalid 'images[0].image_url': expected a base64 data URL such as 'data:image/png;base64,iVBORw0...'.",
        param="images[0].image_url",
        code="invalid_image_url",
    ),
    refusal(
        {"images": [{"image_url": "data:image/gif;base64,R0lG"}]},
        id="a-gif-data-url",
        message="Invalid file 'images[0]': unsupported mimetype ('image/gif'). "
        f"Supported file formats are {GPT_MIME_LIST}.",
        param="images[0]",
        code="unsupported_file_mimetype",
    ),
    refusal(
        {"images": [{"image_url": data_url(b"junk")}]},
        id="a-data-url-that-is-not-an-image",
        message=NOT_DECODED,
        param="images[0]",
        code="invalid_image_file",
    ),
    # --- the other fields
    refusal(
        {"images": ONE_IMAGE, "mask": "m"},
        id="a-mask-that-is-a-string",
        message="Invalid type for 'mask': expected an object, but got a string instead.",
        param="mask",
        code="invalid_type",
    ),
    refusal(
        {"images": ONE_IMAGE, "response_format": "url"},
        id="response_format-is-unknown",
        message="Unknown parameter: 'response_format'.",
        param="response_format",
        code="unknown_parameter",
    ),
    refusal(
        {"images": ONE_IMAGE, "image": "x"},
        id="the-multipart-image-field-is-unknown",
        message="Unknown parameter: 'image'.",
        param="image",
        code="unknown_parameter",
    ),
    refusal(
        {"images": ONE_IMAGE, "model": "dall-e-2"},
        id="json-edits-are-for-gpt-models-only",
        message=f"Invalid value: 'dall-e-2'. Supported values are: {quote_list(GPT_EDIT_MODELS)}.",
        param="model",
        code="invalid_value",
    ),
]


@pytest.mark.parametrize(("body", "expected"), JSON_REFUSALS)
def test_a_refused_json_edit_gets_openai_exact_error(
    api: TestClient, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert_error(json_edit(api, **body), **expected)


def test_json_edit_data_url_too_big_for_the_model(api: TestClient) -> None:
    """Not a table row: the 70 MB body is built only while this test runs."""
    body = {"images": [{"image_url": "data:image/png;base64," + "A" * (70 * 1024 * 1024)}], "prompt": "x"}
    response = api.post(EDITS, json=body)
    assert response.status_code == 413  # the JSON body itself is over max_body_bytes
    assert_4xx_envelope(response)


def test_json_edit_mask_of_4_mb_or_more_is_too_large(api: TestClient) -> None:
    size = 4 * 1024 * 1024
    mask = {"image_url": data_url(b"\0" * size)}
    assert_error(
        json_edit(api, images=ONE_IMAGE, mask=mask, model="gpt-image-1"),
        400,
        message=f"Invalid file 'mask': the file is {size} bytes; the mask must be smaller than 4 MB.",
        param="mask",
        code="image_too_large",
    )


def test_json_edit_invalid_json(api: TestClient) -> None:
    response = api.post(EDITS, content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["message"].startswith("We could not parse")
