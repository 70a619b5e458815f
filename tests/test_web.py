"""The dashboard's server side, the offline docs and the gallery of returned images (in process)."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import AUTH, make_settings
from fastapi.testclient import TestClient
from helpers import png
from PIL import Image

from images_emulator.harness.gallery import Exhibit, Gallery
from images_emulator.imaging.thumbnail import THUMBNAIL_PX
from images_emulator.server.app import create_app
from images_emulator.web.docs import ASSETS

GPT = {"model": "gpt-image-1", "prompt": "a red fox", "quality": "low", "size": "1024x1024"}
GENERATIONS = "/v1/images/generations"


@pytest.fixture
def web() -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(api_key="sk-secret-key-1234")), headers=AUTH) as client:
        client.headers["authorization"] = "Bearer sk-secret-key-1234"
        yield client


def last_entry(client: TestClient) -> dict[str, Any]:
    entries: list[dict[str, Any]] = client.get("/__emulator/requests").json()["data"]
    return entries[-1]


def exhibit_of(client: TestClient, request_id: str) -> dict[str, Any]:
    response = client.get(f"/__emulator/requests/{request_id}/exhibit")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_home_page_links_to_the_dashboard_and_docs_and_is_not_journaled(web: TestClient) -> None:
    page = web.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'href="/__emulator/ui"' in page.text and 'href="/docs"' in page.text
    assert web.get("/__emulator/requests").json()["data"] == []


def test_the_home_page_and_the_dashboard_answer_head_probes(web: TestClient) -> None:
    for path in ("/", "/__emulator/ui"):
        probe, page = web.head(path), web.get(path)
        assert probe.status_code == 200 and probe.content == b""
        assert probe.headers["content-length"] == page.headers["content-length"] == str(len(page.content))


def test_dashboard_page_and_assets_come_from_the_package(web: TestClient) -> None:
    page = web.get("/__emulator/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    local = [s for s in sources if s.startswith("ui/")]
    assert {"ui/dashboard.js", "ui/dashboard.css", "ui/data.js"} <= set(local)
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]
    for source in local:
        asset = web.get("/__emulator/" + source)
        assert asset.status_code == 200 and asset.content, source
    assert web.get("/__emulator/ui/nope.js").status_code == 404


def test_a_generation_keeps_its_image_and_a_thumbnail_without_the_base64(web: TestClient) -> None:
    answer = web.post(GENERATIONS, json=GPT)
    sent = base64.b64decode(answer.json()["data"][0]["b64_json"])
    exhibit = exhibit_of(web, answer.headers["x-request-id"])
    assert [(p["role"], p["index"]) for p in exhibit["pictures"]] == [("final", 0)]
    assert exhibit["response"]["data"][0]["b64_json"].endswith("base64 chars]")
    assert exhibit["response"]["usage"] == answer.json()["usage"]
    picture = exhibit["pictures"][0]
    assert web.get(picture["image"]).content == sent
    thumbnail = web.get(picture["thumbnail"])
    assert thumbnail.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(thumbnail.content)) as small:
        assert max(small.size) == THUMBNAIL_PX


def test_a_stream_keeps_its_partial_images_and_the_final_one(web: TestClient) -> None:
    with web.stream("POST", GENERATIONS, json={**GPT, "stream": True, "partial_images": 2}) as answer:
        request_id = answer.headers["x-request-id"]
        body = b"".join(answer.iter_bytes())
    exhibit = exhibit_of(web, request_id)
    roles = [(p["role"], p["partial"]) for p in exhibit["pictures"]]
    assert roles == [("partial", 0), ("partial", 1), ("final", None)]
    assert [e["type"] for e in exhibit["response"]["events"]][-1] == "image_generation.completed"
    final = web.get(exhibit["pictures"][2]["image"]).content
    completed = json.loads(body.split(b"\n\n")[2].split(b"data: ", 1)[1])
    assert final == base64.b64decode(completed["b64_json"])


def test_a_url_answer_shows_the_image_behind_the_url(web: TestClient) -> None:
    answer = web.post(GENERATIONS, json={"model": "dall-e-2", "prompt": "a url", "size": "256x256"})
    url = answer.json()["data"][0]["url"]
    exhibit = exhibit_of(web, answer.headers["x-request-id"])
    assert exhibit["response"]["data"][0]["url"] == url
    assert web.get(exhibit["pictures"][0]["image"]).content == web.get(url).content


def test_an_edit_keeps_its_uploads_as_pictures_too(web: TestClient) -> None:
    upload = png((256, 256))
    answer = web.post(
        "/v1/images/edits",
        data={"model": "gpt-image-1", "prompt": "edit it", "quality": "low"},
        files={"image": ("cat.png", upload, "image/png")},
    )
    assert answer.status_code == 200, answer.text
    exhibit = exhibit_of(web, answer.headers["x-request-id"])
    assert [p["role"] for p in exhibit["pictures"]] == ["final", "upload"]
    with Image.open(io.BytesIO(web.get(exhibit["pictures"][1]["image"]).content)) as shown:
        assert shown.size == (THUMBNAIL_PX, THUMBNAIL_PX)  # a preview of the 256x256 upload


def test_an_error_is_journaled_with_its_code_param_and_model(web: TestClient) -> None:
    web.post(GENERATIONS, json={**GPT, "size": "13x13"})
    entry = last_entry(web)
    assert (entry["status"], entry["model"], entry["error"]) == (400, "gpt-image-1", {"code": "invalid_value",
                                                                                    "param": "size"})  # fmt: skip
    missing = web.get(f"/__emulator/requests/{entry['id']}/exhibit")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "exhibit_not_found"


def test_the_gallery_drops_the_oldest_past_its_byte_bound() -> None:
    gallery = Gallery(max_bytes=3000)
    for number in range(5):
        gallery.keep(f"req_{number}", Exhibit("application/json", raw=(b"x" * 800,)))
    assert gallery.size <= 3000
    assert gallery.get("req_0") is None and gallery.get("req_4") is not None
    gallery.keep("huge", Exhibit("application/json", raw=(b"x" * 5000,)))
    assert gallery.get("huge") is None and gallery.get("req_4") is not None


def test_gallery_bytes_zero_keeps_nothing(app_factory) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app_factory(gallery_bytes=0), headers=AUTH) as client:
        answer = client.post(GENERATIONS, json=GPT)
        assert answer.status_code == 200
        assert client.get(f"/__emulator/requests/{answer.headers['x-request-id']}/exhibit").status_code == 404


def test_settings_show_the_harness_options_but_never_a_secret(web: TestClient) -> None:
    info = web.get("/__emulator/settings")
    assert info.status_code == 200
    body = info.json()
    assert body["settings"]["api_date"] and "latency" in body["settings"] and "rate_limit_rpm" in body["settings"]
    assert "sk-secret-key-1234" not in info.text and "test-secret" not in info.text
    assert body["settings"]["api_key"] == "required"


def test_docs_and_redoc_load_every_asset_from_this_server(web: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = web.get(page).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
        assert sources and not [s for s in sources if "//" in s], (page, sources)
        assert "fonts.googleapis" not in html
        for source in sources:
            if source.startswith("/docs/assets/"):
                assert web.get(source).status_code == 200, source
    assert (ASSETS / "swagger-ui-bundle.js").stat().st_size > 100_000
    assert web.get("/docs/assets/..%2Fcore.py").status_code == 404


def test_journal_limit_gives_the_newest_entries_oldest_first(web: TestClient) -> None:
    for size in ("13x13", "14x14", "15x15"):
        web.post(GENERATIONS, json={**GPT, "size": size})
    newest = web.get("/__emulator/requests?limit=2").json()["data"]
    assert [e["body"]["size"] for e in newest] == ["14x14", "15x15"]
    assert web.get("/__emulator/requests?limit=0").json()["data"] == []
    bad = web.get("/__emulator/requests?limit=-1")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "limit"
    assert len(web.get("/__emulator/requests?limit=99999999999999999999999").json()["data"]) == 3  # all of it


@pytest.mark.parametrize("path", ["/__emulator/requests?status=500", "/__emulator/faults?limit=1"])
def test_an_admin_query_parameter_the_call_does_not_take_is_a_400_not_ignored(web: TestClient, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_parameter" and error["message"].startswith("Unknown query parameter")


def test_clearing_the_whole_journal_empties_the_gallery(web: TestClient) -> None:
    request_id = web.post(GENERATIONS, json=GPT).headers["x-request-id"]
    assert web.get(f"/__emulator/requests/{request_id}/exhibit").status_code == 200
    web.delete("/__emulator/requests")
    assert web.get(f"/__emulator/requests/{request_id}/exhibit").status_code == 404


def test_a_generation_this_process_did_not_keep_is_drawn_again_from_the_journal() -> None:
    app = create_app(make_settings())
    with TestClient(app, headers=AUTH) as client:
        answer = client.post(GENERATIONS, json={**GPT, "n": 2})
        with client.stream("POST", GENERATIONS, json={**GPT, "stream": True, "partial_images": 1}) as stream:
            streamed = stream.headers["x-request-id"]
            stream.read()
        edit = client.post("/v1/images/edits", data={"model": "gpt-image-1", "prompt": "e", "quality": "low"},
                           files={"image": ("a.png", png(), "image/png")})  # fmt: skip
        app.state.runtime.gallery.clear()  # as if another worker had answered them
        exhibit = exhibit_of(client, answer.headers["x-request-id"])
        sent = [base64.b64decode(item["b64_json"]) for item in answer.json()["data"]]
        assert [client.get(p["image"]).content for p in exhibit["pictures"]] == sent
        expected = answer.json()  # the answer made again: all but its base64 and its `created` second
        response = exhibit["response"]
        assert abs(response.pop("created") - expected.pop("created")) <= 1
        assert [item["b64_json"] for item in response.pop("data")] == [
            f"…[{len(item['b64_json'])} base64 chars]" for item in expected.pop("data")
        ]
        assert response == expected and "usage" in response
        roles = [(p["role"], p["partial"]) for p in exhibit_of(client, streamed)["pictures"]]
        assert roles == [("partial", 0), ("final", None)]
        gone = client.get(f"/__emulator/requests/{edit.headers['x-request-id']}/exhibit")
        assert gone.status_code == 404  # uploads are not in the journal: nothing to draw from


def test_uploads_too_large_for_the_gallery_are_let_go_before_the_answer() -> None:
    class Decoded:  # what the gallery counts of a decoded upload: its width and height
        width = height = 100

    gallery = Gallery(max_bytes=30_000)
    gallery.keep("req_edit", Exhibit("application/json", raw=(b"x" * 1000,), uploads=(Decoded(),)))
    kept = gallery.get("req_edit")
    assert kept is not None and kept.uploads == () and kept.raw == (b"x" * 1000,)
