"""The file rules of multipart edits (contract §5/§11): each image part and mask refused for its declared type,
its bytes, its size or its dimensions, with OpenAI's exact errors.

The accepted side of these rules is in test_edits_accepted.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import (
    DALLE2_FORMAT_ERROR,
    EDITS,
    GPT_MIME_LIST,
    assert_error,
    encode,
    image_part,
    mask_with_hole,
    multipart,
    picture,
    png,
    png_declaring,
    refusal,
)

from images_emulator.contract.file_rules import MAX_ASPECT_RATIO, MAX_INPUT_PIXELS

PROMPT = {"prompt": "add a hat"}
GPT = {**PROMPT, "model": "gpt-image-1", "quality": "low"}
DALLE2 = {**PROMPT, "model": "dall-e-2"}
OCTET_STREAM = "application/octet-stream"
WIDE = MAX_ASPECT_RATIO * 50 + 1  # one pixel wider than the widest accepted 50-pixel-high input
WEBP = encode(picture(mode="RGBA"), "WEBP")  # neither a PNG for dall-e-2 nor a mask
NOT_AN_ACCEPTED_IMAGE = {
    "text": b"this is not an image",
    "empty": b"",
    "truncated": png()[:200],
    "gif-bytes": encode(picture(mode="P"), "GIF"),
    "svg": b"<svg xmlns='x'></svg>",
}
NOT_A_PNG = {"text": b"not an image", "truncated": png()[:200], "webp": WEBP}
NO_CONTENT_TYPE = (
    b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx\r\n'
    b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n' + png() + b"\r\n--b--\r\n"
)


# --- gpt models: image parts -------------------------------------------------------------------------------

GPT_IMAGE_REFUSALS = [
    refusal(
        multipart({"image": image_part(png(), OCTET_STREAM)}, **GPT),
        id="octet-stream-is-refused-naming-the-part",
        message=f"Invalid file 'image': unsupported mimetype ('{OCTET_STREAM}'). "
        f"Supported file formats are {GPT_MIME_LIST}.",
        param="image",
        code="unsupported_file_mimetype",
    ),
    refusal(
        multipart([("image[]", image_part(png())), ("image[]", image_part(png(), OCTET_STREAM))], **GPT),
        id="array-parts-are-named-by-index",
        message=f"Invalid file 'image[1]': unsupported mimetype ('{OCTET_STREAM}'). "
        f"Supported file formats are {GPT_MIME_LIST}.",
        param="image[1]",
        code="unsupported_file_mimetype",
    ),
    refusal(
        {"content": NO_CONTENT_TYPE, "headers": {"content-type": "multipart/form-data; boundary=b"}},
        id="a-file-part-without-content-type-counts-as-octet-stream",
        message=f"Invalid file 'image': unsupported mimetype ('{OCTET_STREAM}'). "
        f"Supported file formats are {GPT_MIME_LIST}.",
        param="image",
        code="unsupported_file_mimetype",
    ),
    refusal(
        multipart({"image": image_part(encode(picture(mode="P"), "GIF"), "image/gif")}, **GPT),
        id="gif-is-refused",
        message="Invalid file 'image': unsupported mimetype ('image/gif'). "
        f"Supported file formats are {GPT_MIME_LIST}.",
        param="image",
        code="unsupported_file_mimetype",
    ),
    *[
        refusal(
            multipart([("image[]", image_part(png())), ("image[]", image_part(data))], **GPT),
            id=f"image-2-is-not-an-accepted-image-{name}",
            message="Invalid image file or mode for image 2, please check your image file.",
            param="image[1]",
            code="invalid_image_file",
        )
        for name, data in NOT_AN_ACCEPTED_IMAGE.items()
    ],
    refusal(
        multipart([("image[]", image_part(png((8, 8)))) for _ in range(17)], **GPT),
        id="seventeen-images-are-too-many",
        message="Invalid 'image': array too long. Expected an array with maximum length 16, but got an array "
        "with length 17 instead.",
        param="image",
        code="array_above_max_length",
    ),
    refusal(
        multipart({"mask": image_part(png())}, prompt="x", image="cat.png"),
        id="an-image-sent-as-text-is-an-invalid-type",
        message="Invalid type for 'image': expected a file, but got a string instead.",
        param="image",
        code="invalid_type",
    ),
    refusal(
        multipart({"image": image_part(png_declaring(10_000, 6_000))}, **GPT),
        id="too-many-pixels-is-refused-before-decoding",
        message=f"Invalid input image - expected an image with at most {MAX_INPUT_PIXELS} pixels, "
        "got 10000x6000 instead.",
        param="image",
        code="invalid_image_dimensions",
    ),
    refusal(
        multipart({"image": image_part(png_declaring(100_000, 100_000))}, **GPT),
        id="a-decompression-bomb-is-a-clean-400",
        message=f"Invalid input image - expected an image with at most {MAX_INPUT_PIXELS} pixels, "
        "got an image far larger than that (refused as a decompression bomb) instead.",
        param="image",
        code="invalid_image_dimensions",
    ),
    refusal(
        multipart({"image": image_part(png((WIDE, 50)))}, **GPT),
        id="an-aspect-ratio-above-the-maximum",
        message=f"Invalid input image - expected an aspect ratio of at most {MAX_ASPECT_RATIO}:1, "
        f"got {WIDE}x50 instead.",
        param="image",
        code="invalid_image_dimensions",
    ),
]


@pytest.mark.parametrize(("sent", "expected"), GPT_IMAGE_REFUSALS)
def test_an_image_part_gpt_models_refuse_gets_openai_exact_error(
    api: TestClient, sent: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert_error(api.post(EDITS, **sent), **expected)


def test_a_gpt_image_of_50_mb_or_more_is_too_large(api: TestClient) -> None:
    """Not a table row: the 50 MB part is built only while this test runs."""
    size = 50 * 1024 * 1024
    assert_error(
        api.post(EDITS, **multipart({"image": image_part(b"\0" * size)}, **GPT)),
        400,
        message=f"Invalid file 'image': the file is {size} bytes; each image must be smaller than 50 MB.",
        param="image",
        code="image_too_large",
    )


def test_a_mask_of_4_mb_or_more_is_too_large_for_every_model(api: TestClient) -> None:
    """The SDK's `mask`: "a valid PNG file, less than 4MB" (gpt-image models take 50 MB images)."""
    size = 4 * 1024 * 1024
    assert_error(
        api.post(EDITS, **multipart({"image": image_part(png()), "mask": image_part(b"\0" * size)}, **GPT)),
        400,
        message=f"Invalid file 'mask': the file is {size} bytes; the mask must be smaller than 4 MB.",
        param="mask",
        code="image_too_large",
    )
    under = api.post(EDITS, **multipart({"image": image_part(png()), "mask": image_part(png())}, **GPT))
    assert under.status_code == 200, under.text


# --- dall-e-2: one square PNG with alpha, under 4 MB ------------------------------------------------------------

DALLE2_IMAGE_REFUSALS = [
    refusal(
        multipart({"image": image_part(encode(picture(mode="RGB"), "JPEG"), "image/jpeg")}, **DALLE2),
        id="dall-e-2-lists-only-png",
        message="Invalid file 'image': unsupported mimetype ('image/jpeg'). Supported file formats are 'image/png'.",
        param="image",
        code="unsupported_file_mimetype",
    ),
    *[
        refusal(
            multipart({"image": image_part(data)}, **DALLE2),
            id=f"bytes-that-are-not-a-png-{name}",
            message=DALLE2_FORMAT_ERROR,
            param="image",
            code="invalid_image_format",
        )
        for name, data in NOT_A_PNG.items()
    ],
    refusal(
        multipart({"image": image_part(png((300, 200)))}, **DALLE2),
        id="a-non-square-image",
        message="Invalid input image - expected an image with equal width and height, got 300x200 instead.",
        param="image",
        code="invalid_image_dimensions",
    ),
    *[
        refusal(
            multipart({"image": image_part(png(mode=mode))}, **DALLE2),
            id=f"without-a-mask-an-image-needs-alpha-{mode}",
            message=f"Invalid input image - format must be in ['RGBA', 'LA', 'L'], got {mode}.",
            param="image",
            code="invalid_image_format",
        )
        for mode in ("RGB", "P", "1")
    ],
    *[
        refusal(
            multipart([(name, image_part(png(seed=i))) for i, name in enumerate(names)], **DALLE2),
            id=f"takes-no-array-{label}",
            message="Invalid type for 'image': expected a file, but got an array instead.",
            param="image",
            code="invalid_type",
        )
        for label, names in (("image[]", ["image[]"]), ("two-image-parts", ["image", "image"]))
    ],
]


@pytest.mark.parametrize(("sent", "expected"), DALLE2_IMAGE_REFUSALS)
def test_an_image_dalle2_refuses_gets_openai_exact_error(
    api: TestClient, sent: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert_error(api.post(EDITS, **sent), **expected)


def test_a_dalle2_png_of_4_mb_or_more(api: TestClient) -> None:
    """Not a table row: it checks its 4.8 MB input really is over the limit, and builds it only here."""
    data = png((1100, 1100), noise=True)
    assert len(data) >= 4 * 1024 * 1024
    assert_error(
        api.post(EDITS, **multipart({"image": image_part(data)}, **DALLE2)),
        400,
        message=DALLE2_FORMAT_ERROR,
        param="image",
        code="invalid_image_format",
    )


# --- masks ----------------------------------------------------------------------------------------------------

MASK_REFUSALS = [
    refusal(
        multipart(
            [
                ("image[]", image_part(png((100, 80)))),
                ("image[]", image_part(png((64, 64)))),
                ("mask", image_part(mask_with_hole((64, 64), (0, 0, 10, 10)))),
            ],
            **GPT,
        ),
        id="a-mask-must-match-the-first-image",
        message="Invalid mask image - expected an image with the same width and height as the input image "
        "(100x80), got 64x64 instead.",
        param="mask",
        code="invalid_image_dimensions",
    ),
    refusal(
        multipart({"image": image_part(png()), "mask": image_part(png(mode="RGB"))}, **GPT),
        id="a-mask-needs-alpha",
        message="Invalid mask image - format must be in ['RGBA', 'LA', 'L'], got RGB.",
        param="mask",
        code="invalid_image_format",
    ),
    refusal(
        multipart({"image": image_part(png()), "mask": image_part(WEBP, "image/webp", "m.webp")}, **GPT),
        id="a-mask-must-be-png",
        message="Invalid file 'mask': unsupported mimetype ('image/webp'). Supported file formats are 'image/png'.",
        param="mask",
        code="unsupported_file_mimetype",
    ),
    refusal(
        multipart({"image": image_part(png()), "mask": image_part(b"nope")}, **GPT),
        id="a-mask-that-is-not-an-image",
        message="Invalid image file or mode for the mask, please check your image file.",
        param="mask",
        code="invalid_image_file",
    ),
    refusal(
        multipart([("image", image_part(png())), ("mask", image_part(png())), ("mask", image_part(png()))], **GPT),
        id="two-masks",
        message="Invalid type for 'mask': expected a file, but got an array instead.",
        param="mask",
        code="invalid_type",
    ),
]


@pytest.mark.parametrize(("sent", "expected"), MASK_REFUSALS)
def test_a_refused_mask_gets_openai_exact_error(
    api: TestClient, sent: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert_error(api.post(EDITS, **sent), **expected)
