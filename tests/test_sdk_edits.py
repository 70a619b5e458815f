"""Contract: `client.images.edit` / `create_variation` of the real openai SDK against a real uvicorn server."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from helpers import decoded, encode, mask_with_hole, picture
from PIL import Image

from images_emulator.contract.usage import input_image_tokens


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Assorted inputs on disk: RGBA/RGB PNG, JPEG, WebP, a mask, a non-square dall-e-2 candidate."""
    made = {
        "soap.png": encode(picture((512, 512), "RGBA", 1)),
        "lotion.jpg": encode(picture((640, 480), "RGB", 2), "JPEG"),
        "towel.webp": encode(picture((300, 500), "RGBA", 3), "WEBP"),
        "room.png": encode(picture((256, 256), "RGBA", 4)),
        "photo.png": encode(picture((256, 256), "RGB", 5)),
        "wide.png": encode(picture((300, 200), "RGBA", 6)),
    }
    made["mask.png"] = mask_with_hole((256, 256), (64, 64, 191, 191))
    paths = {}
    for name, data in made.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    return paths


def test_sdk_edit_single_file_object(openai_client: Any, files: dict[str, Path], spec_validator: Any) -> None:
    with open(files["soap.png"], "rb") as image:
        result = openai_client.images.edit(model="gpt-image-1", image=image, prompt="a gift bow", quality="low")
    spec_validator("ImagesResponse", result.model_dump(exclude_none=True))
    assert decoded(result.data[0].b64_json).size == (1024, 1024)
    assert result.usage.input_tokens_details.image_tokens == input_image_tokens(512, 512)
    assert result.usage.output_tokens == 272


def test_sdk_edit_list_of_files(openai_client: Any, files: dict[str, Path], spec_validator: Any) -> None:
    """The issue's example: a list of open files (sent as repeated `image[]` parts)."""
    with open(files["soap.png"], "rb") as soap, open(files["lotion.jpg"], "rb") as lotion:
        result = openai_client.images.edit(
            model="gpt-image-1", prompt="put these in a gift basket", image=[soap, lotion], quality="low", n=2
        )
    spec_validator("ImagesResponse", result.model_dump(exclude_none=True))
    assert len(result.data) == 2
    assert result.usage.input_tokens_details.image_tokens == input_image_tokens(512, 512) + input_image_tokens(640, 480)


def test_sdk_edit_path_likes_and_default_model(openai_client: Any, files: dict[str, Path]) -> None:
    result = openai_client.images.edit(
        image=[files["towel.webp"], files["soap.png"]], prompt="a towel", quality="low", size="auto"
    )
    assert result.size == "1024x1536"  # the first input is portrait
    assert decoded(result.data[0].b64_json).size == (1024, 1536)


def test_sdk_edit_tuples_with_content_types(openai_client: Any, files: dict[str, Path]) -> None:
    result = openai_client.images.edit(
        model="gpt-image-1.5",
        image=[
            ("a", files["soap.png"].read_bytes(), "image/png"),
            ("b", files["lotion.jpg"].read_bytes(), "image/jpeg"),
        ],
        mask=("m", encode(Image.new("RGBA", (512, 512), (0, 0, 0, 0))), "image/png"),
        prompt="a hat",
        quality="low",
        input_fidelity="high",
        output_format="jpeg",
        output_compression=70,
    )
    assert result.output_format == "jpeg"
    assert decoded(result.data[0].b64_json).format == "JPEG"
    expected = input_image_tokens(512, 512, "high") + input_image_tokens(640, 480, "high")
    assert result.usage.input_tokens_details.image_tokens == expected


def test_sdk_edit_raw_bytes_are_octet_stream_and_refused(openai_client: Any, files: dict[str, Path]) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.images.edit(model="gpt-image-1", image=files["soap.png"].read_bytes(), prompt="x")
    error = caught.value
    assert (error.status_code, error.code, error.param) == (400, "unsupported_file_mimetype", "image")
    assert error.body["message"] == (
        "Invalid file 'image': unsupported mimetype ('application/octet-stream'). "
        "Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'."
    )


def test_sdk_edit_list_of_raw_bytes_names_the_index(openai_client: Any, files: dict[str, Path]) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.images.edit(model="gpt-image-1", image=[files["soap.png"].read_bytes()], prompt="x")
    assert caught.value.param == "image[0]"
    assert "Invalid file 'image[0]'" in caught.value.body["message"]


def test_sdk_dalle2_edit_with_mask_returns_a_fetchable_url(
    openai_client: Any, files: dict[str, Path], spec_validator: Any
) -> None:
    with open(files["photo.png"], "rb") as image, open(files["mask.png"], "rb") as mask:
        result = openai_client.images.edit(model="dall-e-2", image=image, mask=mask, prompt="a pool", size="512x512")
    spec_validator("ImagesResponse", result.model_dump(exclude_none=True))
    assert result.usage is None and result.size is None
    fetched = httpx2.get(result.data[0].url, timeout=30)
    assert fetched.status_code == 200
    assert Image.open(io.BytesIO(fetched.content)).size == (512, 512)


def test_sdk_dalle2_edit_rules(openai_client: Any, files: dict[str, Path]) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.images.edit(model="dall-e-2", image=[files["room.png"]], prompt="x")
    assert caught.value.body["message"] == "Invalid type for 'image': expected a file, but got an array instead."
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.images.edit(model="dall-e-2", image=files["photo.png"], prompt="x")
    assert caught.value.body["message"] == "Invalid input image - format must be in ['RGBA', 'LA', 'L'], got RGB."
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.images.edit(model="dall-e-2", image=files["wide.png"], prompt="x")
    assert caught.value.body["message"] == (
        "Invalid input image - expected an image with equal width and height, got 300x200 instead."
    )
    result = openai_client.images.edit(
        model="dall-e-2", image=files["room.png"], prompt="x", response_format="b64_json"
    )
    assert decoded(result.data[0].b64_json).size == (1024, 1024)


def test_sdk_edit_with_dalle3_is_refused(openai_client: Any, files: dict[str, Path]) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.images.edit(model="dall-e-3", image=files["soap.png"], prompt="x")
    assert (caught.value.code, caught.value.param) == ("invalid_value", "model")


def test_sdk_input_fidelity_on_mini(openai_client: Any, files: dict[str, Path]) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.images.edit(model="gpt-image-1-mini", image=files["soap.png"], prompt="x", input_fidelity="high")
    assert caught.value.code == "invalid_input_fidelity_model"
    assert caught.value.type == "image_generation_user_error"


async def test_sdk_async_edit(async_openai_client: Any, files: dict[str, Path]) -> None:
    result = await async_openai_client.images.edit(
        model="gpt-image-1", image=[files["soap.png"]], prompt="async", quality="low"
    )
    assert decoded(result.data[0].b64_json).size == (1024, 1024)


def test_sdk_edit_stream(openai_client: Any, files: dict[str, Path], spec_validator: Any) -> None:
    stream = openai_client.images.edit(
        model="gpt-image-1",
        image=files["soap.png"],
        prompt="a stream",
        quality="low",
        stream=True,
        partial_images=2,
    )
    events = list(stream)
    assert [e.type for e in events] == [
        "image_edit.partial_image",
        "image_edit.partial_image",
        "image_edit.completed",
    ]
    for event in events:
        spec_validator("ImageEditStreamEvent", event.model_dump(exclude_none=True))
    completed = events[-1]
    assert completed.usage.input_tokens_details.image_tokens == input_image_tokens(512, 512)
    plain = openai_client.images.edit(model="gpt-image-1", image=files["soap.png"], prompt="a stream", quality="low")
    assert completed.b64_json == plain.data[0].b64_json


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks variations deprecated
def test_sdk_create_variation(openai_client: Any, files: dict[str, Path], spec_validator: Any) -> None:
    with open(files["photo.png"], "rb") as image:
        result = openai_client.images.create_variation(image=image, n=2, size="512x512")
    spec_validator("ImagesResponse", result.model_dump(exclude_none=True))
    assert len(result.data) == 2
    pictures = [httpx2.get(item.url, timeout=30).content for item in result.data]
    assert all(Image.open(io.BytesIO(p)).size == (512, 512) for p in pictures)
    assert pictures[0] != pictures[1]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_sdk_create_variation_b64_and_model_rule(openai_client: Any, files: dict[str, Path]) -> None:
    result = openai_client.images.create_variation(
        image=files["room.png"], model="dall-e-2", response_format="b64_json", size="256x256"
    )
    assert decoded(result.data[0].b64_json).size == (256, 256)
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.images.create_variation(image=files["room.png"], model="gpt-image-1")
    assert caught.value.body == {
        "message": "Invalid value: 'gpt-image-1'. Value must be 'dall-e-2'.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "invalid_value",
    }


def test_raw_http_edit_with_httpx2(http: httpx2.Client, files: dict[str, Path]) -> None:
    response = http.post(
        "/v1/images/edits",
        files=[("image[]", ("a.png", files["soap.png"].read_bytes(), "image/png"))],
        data={"prompt": "raw", "model": "gpt-image-1", "quality": "low", "n": "2"},
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 2
    assert response.headers["x-request-id"].startswith("req_")
