"""The request journal: what is recorded (JSON and multipart bodies), bounds, and session scoping."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx2
import openai
import pytest
from fastapi.testclient import TestClient
from helpers import png

from images_emulator.contract.errors import mask_key
from images_emulator.harness.body_capture import PEEK_LIMIT, STRING_LIMIT, BodyCapture, summarize
from images_emulator.testing.emulator import ImagesEmulator
from images_emulator.testing.process import EmulatorProcess

AUTH = {"Authorization": "Bearer sk-test-emulator"}
GPT = {"model": "gpt-image-1", "prompt": "a red fox", "quality": "low"}


@pytest.fixture
def emu(server: EmulatorProcess) -> Iterator[ImagesEmulator]:
    view = ImagesEmulator(url=server.base_url).session()
    yield view
    view.reset()


def test_json_request_is_recorded(emu: ImagesEmulator) -> None:
    response = emu.client().images.with_raw_response.generate(**GPT)
    [entry] = emu.requests()
    assert entry["id"] == response.headers["x-request-id"]
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/v1/images/generations", 200)
    assert entry["body"] == GPT
    assert entry["received_at"].endswith("Z") and entry["duration_ms"] >= 0
    assert entry["session"] == emu.session_id
    assert entry["headers"]["authorization"] == f"Bearer {mask_key(emu.api_key)}" != f"Bearer {emu.api_key}"
    assert entry["headers"]["x-stainless-retry-count"] == "0"


def test_invalid_and_refused_requests_are_recorded_oldest_first(emu: ImagesEmulator) -> None:
    url = emu.base_url + "/images/generations"
    httpx2.post(url, json={"model": "gpt-image-1", "prompt": "x", "size": "1x1"}, headers=AUTH)
    httpx2.post(url, content=b"{not json", headers={**AUTH, "content-type": "application/json"})
    httpx2.post(url, json={"prompt": "x"})  # no key: refused before the body is read
    httpx2.get(emu.base_url + "/images/nowhere", headers=AUTH)
    entries = emu.requests()
    assert [e["status"] for e in entries] == [400, 400, 401, 404]
    assert [e["body"] for e in entries] == [
        {"model": "gpt-image-1", "prompt": "x", "size": "1x1"},
        "{not json",
        None,
        None,
    ]
    assert entries[0]["received_at"] <= entries[-1]["received_at"]


def test_multipart_fields_and_files_are_summarized(emu: ImagesEmulator) -> None:
    image = png((64, 48))
    big = png((300, 300), "RGB", noise=True)
    assert len(big) > PEEK_LIMIT
    files = [
        ("image[]", ("a.png", image, "image/png")),
        ("image[]", ("big.png", big, "image/png")),
        ("mask", ("m.png", png((64, 48), "LA"), "image/png")),
    ]
    data = {"prompt": "add a hat", "model": "gpt-image-1", "n": "2"}
    httpx2.post(emu.base_url + "/images/edits", data=data, files=files, headers=AUTH, timeout=30)
    [entry] = emu.requests()
    body = entry["body"]
    assert (body["prompt"], body["model"], body["n"]) == ("add a hat", "gpt-image-1", "2")
    assert body["image[]"] == [
        {
            "filename": "a.png",
            "content_type": "image/png",
            "bytes": len(image),
            "width": 64,
            "height": 48,
            "mode": "RGBA",
        },
        {
            "filename": "big.png",
            "content_type": "image/png",
            "bytes": len(big),
            "width": 300,
            "height": 300,
            "mode": "RGB",
        },
    ]
    assert body["mask"]["mode"] == "LA"


def test_multipart_non_image_file_has_no_dimensions() -> None:
    capture = BodyCapture("multipart/form-data; boundary=XX")
    payload = (
        b'--XX\r\nContent-Disposition: form-data; name="image"; filename="notes.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nhello\r\n--XX--\r\n"
    )
    for i in range(0, len(payload), 7):  # fed in small chunks, as a socket delivers it
        capture.feed(payload[i : i + 7])
    assert capture.summary() == {
        "image": {
            "filename": "notes.txt",
            "content_type": "text/plain",
            "bytes": 5,
            "width": None,
            "height": None,
            "mode": None,
        }
    }


def test_long_json_strings_are_shortened() -> None:
    data_url = "data:image/png;base64," + "A" * STRING_LIMIT
    prompt = "p" * 32000
    body = summarize({"images": [{"image_url": data_url}], "prompt": prompt})
    assert body["prompt"] == prompt
    assert body["images"][0]["image_url"].startswith("data:image/png;base64,AAA")
    assert body["images"][0]["image_url"].endswith(f"…[{len(data_url)} chars]")


def test_health_and_admin_calls_are_not_recorded(server: EmulatorProcess, emu: ImagesEmulator) -> None:
    httpx2.get(server.base_url + "/health")
    emu.faults()
    assert emu.requests() == []


def test_sessions_by_header_and_by_path_are_separate(server: EmulatorProcess) -> None:
    base = ImagesEmulator(url=server.base_url)
    one, two = base.session(), base.session()
    httpx2.post(one.base_url + "/images/generations", json=GPT, headers=AUTH, timeout=30)
    headers = {**AUTH, "X-Emulator-Session": two.session_id}
    httpx2.post(server.base_url + "/v1/images/generations", json=GPT, headers=headers, timeout=30)
    httpx2.post(server.base_url + "/v1/images/generations", json=GPT, headers=headers, timeout=30)
    assert [e["session"] for e in one.requests()] == [one.session_id]
    assert [e["session"] for e in two.requests()] == [two.session_id] * 2
    via_header = httpx2.get(server.base_url + "/__emulator/requests", headers={"X-Emulator-Session": one.session_id})
    assert len(via_header.json()["data"]) == 1
    assert httpx2.delete(f"{server.base_url}/__emulator/requests?session={two.session_id}").json() == {"deleted": 2}
    assert len(one.requests()) == 1 and two.requests() == []
    one.reset()
    assert one.requests() == []


def test_session_faults_fire_only_in_their_session(server: EmulatorProcess) -> None:
    base = ImagesEmulator(url=server.base_url)
    one, two = base.session(), base.session()
    one.fault("server_error")
    two.client(max_retries=0).images.generate(**GPT)
    assert len(one.faults()) == 1 and two.faults() == []
    one.reset()
    assert one.faults() == []


def test_any_session_id_works_the_same_in_paths_headers_and_admin_calls(server: EmulatorProcess) -> None:
    odd = "tests/test_app.py::test_fox[a b%é]"  # a pytest node id: slashes, spaces, brackets, non-ASCII
    view = ImagesEmulator(url=server.base_url).session(odd)
    view.fault("server_error")
    with pytest.raises(openai.InternalServerError):
        view.client(max_retries=0).images.generate(**GPT)  # through /__emulator/sessions/<percent-encoded>/v1
    view.client(max_retries=0).images.generate(**GPT)
    assert [(e["session"], e["fault"]) for e in view.requests()] == [(odd, "server_error"), (odd, None)]
    view.reset()


BAD_SESSIONS = ["x" * 129, "tab\there", "..", "\u2028"]


@pytest.mark.parametrize(
    ("where", "value"),
    [(where, value) for where in ("header", "query", "path") for value in BAD_SESSIONS
     if where != "header" or value.isascii()],  # a client sends header values in ASCII
)  # fmt: skip
def test_an_invalid_session_id_is_a_400_wherever_it_is_given(server: EmulatorProcess, where: str, value: str) -> None:
    if where == "header":
        response = httpx2.post(server.base_url + "/v1/images/generations", json=GPT,
                               headers={**AUTH, "X-Emulator-Session": value})  # fmt: skip
    elif where == "path":
        path = "/__emulator/sessions/" + quote(value, safe="").replace(".", "%2E") + "/v1/images/generations"
        response = httpx2.post(server.base_url + path, json=GPT, headers=AUTH)
    else:
        response = httpx2.get(server.base_url + "/__emulator/requests", params={"session": value})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("session", "invalid_session")
    assert "1 to 128 characters" in error["message"]
    with pytest.raises(ValueError, match="1 to 128 characters"):
        ImagesEmulator(url=server.base_url).session(value)


def test_an_empty_session_query_is_refused_not_the_whole_journal(server: EmulatorProcess) -> None:
    assert httpx2.get(server.base_url + "/__emulator/requests?session=").status_code == 400


def test_journal_is_bounded(app_factory) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app_factory(journal_size=2), headers=AUTH) as client:
        for prompt in ("one", "two", "three"):
            client.post("/v1/images/generations", json={"prompt": prompt, "size": "256x256"})
        data = client.get("/__emulator/requests").json()["data"]
        assert [e["body"]["prompt"] for e in data] == ["two", "three"]
        client.post("/__emulator/reset")
        assert client.get("/__emulator/requests").json()["data"] == []


def test_journal_size_zero_disables_it(app_factory) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app_factory(journal_size=0), headers=AUTH) as client:
        client.post("/v1/images/generations", json={"prompt": "x", "size": "256x256"})
        assert client.get("/__emulator/requests").json() == {"data": []}


def test_streamed_request_is_complete_in_the_journal(emu: ImagesEmulator) -> None:
    events = list(emu.client().images.generate(**GPT, stream=True, partial_images=1))
    assert len(events) == 2
    [entry] = emu.requests()
    assert entry["status"] == 200 and entry["duration_ms"] is not None
    assert entry["body"] == {**GPT, "stream": True, "partial_images": 1}
