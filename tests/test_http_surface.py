"""Raw HTTP: auth, headers, CORS, URLs, docs, and error bodies outside validation."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from images_emulator.api.urls import UrlSigner
from images_emulator.contract.errors import NO_API_KEY_MESSAGE
from images_emulator.imaging.render import RenderSpec
from images_emulator.server.app import create_app
from images_emulator.server.settings import Settings


def test_health_is_ok_without_auth(api: TestClient) -> None:
    response = api.get("/health", headers={"Authorization": ""})
    assert response.json() == {"status": "ok", "store": {"kind": "memory", "url": "memory", "state": "ok"}}


def test_missing_authorization_is_401_with_openai_message() -> None:
    with TestClient(create_app(Settings(url_secret="s"))) as client:
        response = client.post("/v1/images/generations", json={"prompt": "x"})
    assert response.status_code == 401
    assert response.json() == {
        "error": {"message": NO_API_KEY_MESSAGE, "type": "invalid_request_error", "param": None, "code": None}
    }
    assert response.headers["x-request-id"].startswith("req_")


def test_wrong_key_is_invalid_api_key_with_masked_key() -> None:
    with TestClient(create_app(Settings(url_secret="s", api_key="sk-good"))) as client:
        response = client.post(
            "/v1/images/generations",
            json={"prompt": "x"},
            headers={"Authorization": "Bearer sk-proj-abcdefghijklmnop"},
        )
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "invalid_api_key"
    assert error["message"].startswith("Incorrect API key provided: sk-proj-****mnop.")


def test_cors_preflight_answers_the_origin(api: TestClient) -> None:
    response = api.options(
        "/v1/images/generations",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert response.headers["content-length"] == "0"  # an empty answer, not an empty chunked one


def test_cors_exposes_request_id(api: TestClient) -> None:
    response = api.post(
        "/v1/images/generations",
        json={"prompt": "x", "response_format": "b64_json"},
        headers={"Origin": "http://localhost:3000"},
    )
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


def test_unknown_route_is_openai_invalid_url(api: TestClient) -> None:
    response = api.post("/v1/images/nothing", json={})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid URL (POST /v1/images/nothing)"


def test_wrong_method_is_405_in_envelope(api: TestClient) -> None:
    response = api.get("/v1/images/generations")
    assert response.status_code == 405
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def _url_path(api: TestClient) -> str:
    url = api.post("/v1/images/generations", json={"prompt": "a url", "size": "256x256"}).json()["data"][0][
        "url"
    ]
    return url.split("testserver", 1)[1]


def test_signed_url_serves_the_image(api: TestClient) -> None:
    response = api.get(_url_path(api))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"


def test_forged_url_is_403(api: TestClient) -> None:
    path = _url_path(api)
    forged = path.replace(".png", "").rstrip("A") + "B.png"
    response = api.get(forged)
    assert response.status_code == 403
    assert "signature" in response.json()["error"]["message"]


def test_expired_url_is_403() -> None:
    signer = UrlSigner("test-secret", 3600)
    spec = RenderSpec(
        model="dall-e-2",
        prompt="x",
        width=256,
        height=256,
        quality="standard",
        background="opaque",
        output_format="png",
        output_compression=100,
    )
    token = signer.token(spec, now=time.time() - 7200)
    with TestClient(create_app(Settings(url_secret="test-secret"))) as client:
        response = client.get(f"/images/{token}.png")
    assert response.status_code == 403
    assert "expired" in response.json()["error"]["message"]


def test_url_signed_by_one_instance_is_served_by_another_with_same_secret(api: TestClient) -> None:
    path = _url_path(api)
    with TestClient(create_app(Settings(url_secret="test-secret"))) as other:
        assert other.get(path).status_code == 200


def test_public_url_sets_the_url_host() -> None:
    app = create_app(Settings(url_secret="s", public_url="http://emulator:8000"))
    with TestClient(app, headers={"Authorization": "Bearer k"}) as client:
        url = client.post("/v1/images/generations", json={"prompt": "x"}).json()["data"][0]["url"]
    assert url.startswith("http://emulator:8000/images/")


def test_openapi_describes_request_bodies(api: TestClient) -> None:
    document: dict[str, Any] = api.get("/openapi.json").json()
    body = document["paths"]["/v1/images/generations"]["post"]["requestBody"]
    assert "application/json" in body["content"]
    assert "prompt" in document["components"]["schemas"]["CreateImageRequest"]["properties"]
    assert api.get("/docs").status_code == 200


def test_request_body_over_the_limit_is_413() -> None:
    app = create_app(Settings(url_secret="s", max_body_bytes=2048))
    with TestClient(app, headers={"Authorization": "Bearer k"}) as client:
        response = client.post("/v1/images/generations", json={"prompt": "x" * 5000})
    assert response.status_code == 413
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_health_answers_head_probes(api: TestClient) -> None:
    response = api.head("/health")
    assert response.status_code == 200
    assert response.content == b""
