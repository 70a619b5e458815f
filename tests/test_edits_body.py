"""The body of an edit request (in-process): content types, size limits, malformed multipart, and uploads
that leave no open files behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import EDITS, assert_4xx_envelope, assert_error, edit, gpt_edit, image_part, png


@pytest.fixture
def small_api(app_factory: Any) -> Iterator[TestClient]:
    """A server accepting bodies of at most 8 KiB."""
    with TestClient(app_factory(max_body_bytes=8192), headers={"Authorization": "Bearer sk-test"}) as client:
        yield client


NOISE = png((64, 64), noise=True)  # incompressible: 16 KiB, twice small_api's limit


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_urlencoded_body_is_refused(api: TestClient) -> None:
    assert_error(
        api.post(EDITS, data={"prompt": "x"}),
        400,
        message="Invalid Content-Type header (application/x-www-form-urlencoded): this endpoint expects "
        "'multipart/form-data' or 'application/json'. "
        "Send the image files and parameters as multipart/form-data fields.",
        param=None,
        code="invalid_content_type",
    )


def test_body_over_the_limit_is_413(small_api: TestClient) -> None:
    response = edit(small_api, {"image": image_part(NOISE)})
    error = assert_4xx_envelope(response)
    assert response.status_code == 413 and error["code"] == "request_too_large"


def test_chunked_body_over_the_limit_is_413(small_api: TestClient) -> None:
    payload = (
        b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
        + NOISE
        + b"\r\n--b--\r\n"
    )

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 1000):
            yield payload[start : start + 1000]

    response = small_api.post(EDITS, content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413
    assert_4xx_envelope(response)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("multipart/form-data", b"--b\r\n", id="multipart-without-a-boundary"),
        pytest.param(
            "multipart/form-data; boundary=b",
            b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n",
            id="a-part-without-a-name",
        ),
        pytest.param("text/plain", b"hello", id="text-plain"),
    ],
)
def test_malformed_bodies_get_the_envelope(api: TestClient, content_type: str, body: bytes) -> None:
    assert_4xx_envelope(api.post(EDITS, content=body, headers={"content-type": content_type}))


def multipart_body(fields: list[tuple[str, bytes, bytes]]) -> bytes:
    """name, extra part headers, value → a whole multipart body with boundary `B`."""
    parts = [
        b'--B\r\nContent-Disposition: form-data; name="%s"%s\r\n\r\n%s\r\n' % (n.encode(), h, v) for n, h, v in fields
    ]
    return b"".join(parts) + b"--B--\r\n"


@pytest.mark.parametrize(
    "cut", [len(b"--B--\r\n"), len(b"low\r\n--B--\r\n") + 1, 5000], ids=["closing", "last-field", "image"]
)
def test_a_body_cut_short_is_refused_not_read_without_its_last_part(api: TestClient, cut: int) -> None:
    image = (b'; filename="a.png"\r\nContent-Type: image/png', png((64, 64), noise=True))
    body = multipart_body(
        [("image", *image), ("model", b"", b"gpt-image-1"), ("prompt", b"", b"x"), ("quality", b"", b"low")]
    )
    whole = api.post(EDITS, content=body, headers={"content-type": "multipart/form-data; boundary=B"})
    assert whole.status_code == 200 and whole.json()["quality"] == "low"
    response = api.post(EDITS, content=body[:-cut], headers={"content-type": "multipart/form-data; boundary=B"})
    assert_error(
        response,
        400,
        message="Could not parse the multipart/form-data body: it ended before its closing boundary (a body cut "
        "short). Send the parameters as multipart/form-data fields and the images as file parts.",
        param=None,
        code=None,
    )


def test_uploads_leave_no_open_files(api: TestClient) -> None:
    big = png((700, 700), noise=True)  # about 2 MB: spooled to a temporary file on disk
    gpt_edit(api, {"image": image_part(big)})  # warm up
    before = open_fds()
    for files in (
        {"image": image_part(big)},
        {"image": image_part(big), "mask": image_part(b"bad")},
        [("image[]", image_part(big))] * 17,
        {"image": image_part(big, "application/octet-stream")},
    ):
        gpt_edit(api, files)
    assert open_fds() == before
