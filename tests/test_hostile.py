"""Hostile input (issue 18), sent for real: the admin API's key, origin and content type; keys masked in the
journal; never a 5xx from input; a catch-all 500 that keeps the envelope; caps on every wait; early answers
that reach clients still sending; bounded per-client tables."""

from __future__ import annotations

import base64
import json
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from helpers import png
from pydantic import ValidationError

from images_emulator.harness.ratelimit import RateLimiter
from images_emulator.harness.store.memory import MAX_EXPIRING_KEYS, MemoryBackend
from images_emulator.server.app import create_app
from images_emulator.server.settings import Settings
from images_emulator.testing import ImagesEmulator
from images_emulator.testing.process import EmulatorProcess

API_KEY = "sk-hostile-api-key-0123456789"
ADMIN_KEY = "admin-key-hostile-9876543210"
API = {"Authorization": f"Bearer {API_KEY}"}
ADMIN = {"X-Emulator-Admin-Key": ADMIN_KEY}
GENERATIONS = "/v1/images/generations"
SMALL = {"model": "dall-e-2", "prompt": "a cat", "size": "256x256", "response_format": "b64_json"}


@pytest.fixture(scope="module")
def locked() -> Iterator[EmulatorProcess]:
    """A server with an API key and a separate admin key."""
    args = ("--api-key", API_KEY, "--admin-key", ADMIN_KEY)
    with EmulatorProcess(env={"EMULATOR_URL_SECRET": "test-secret"}, args=args) as process:
        yield process


@pytest.fixture
def client(locked: EmulatorProcess) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=locked.base_url, timeout=30) as http:
        yield http


def envelope(response: httpx2.Response, status: int) -> dict[str, Any]:
    """The error of an OpenAI envelope with the usual headers."""
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"].startswith("req_")
    assert "openai-version" in response.headers
    error: dict[str, Any] = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    return error


def journal(http: httpx2.Client) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = http.get("/__emulator/requests", headers=ADMIN).json()["data"]
    return entries


# --- the admin API --------------------------------------------------------------------------------------

ADMIN_CALLS = [
    ("GET", "/__emulator/requests", None),
    ("DELETE", "/__emulator/requests", None),
    ("GET", "/__emulator/faults", None),
    ("POST", "/__emulator/faults", {"fault": "timeout", "hold_seconds": 600}),
    ("DELETE", "/__emulator/faults", None),
    ("DELETE", "/__emulator/faults/fault_1", None),
    ("POST", "/__emulator/reset", None),
    ("GET", "/__emulator/anything-else", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
@pytest.mark.parametrize(
    "credentials",
    [{}, {"X-Emulator-Admin-Key": "wrong"}, API, {"Authorization": "Basic " + base64.b64encode(b"u:wrong").decode()}],
    ids=["none", "wrong-header", "api-key", "wrong-basic"],
)
def test_every_admin_route_needs_the_admin_key(
    client: httpx2.Client, method: str, path: str, body: Any, credentials: dict[str, str]
) -> None:
    response = client.request(method, path, json=body, headers=credentials)
    error = envelope(response, 401)
    assert error["code"] == "invalid_admin_key"
    assert response.headers["www-authenticate"] == 'Basic realm="images-emulator"'
    assert client.get("/__emulator/faults", headers=ADMIN).json()["data"] == []  # nothing was scheduled


@pytest.mark.parametrize(
    "credentials",
    [
        ADMIN,
        {"Authorization": f"Bearer {ADMIN_KEY}"},
        {"Authorization": "Basic " + base64.b64encode(f"any:{ADMIN_KEY}".encode()).decode()},
    ],
    ids=["header", "bearer", "basic"],
)
def test_the_admin_key_opens_the_admin_api_as_header_bearer_or_basic_password(
    client: httpx2.Client, credentials: dict[str, str]
) -> None:
    assert client.get("/__emulator/requests", headers=credentials).status_code == 200


def test_health_stays_open_and_session_api_paths_take_the_api_key(client: httpx2.Client) -> None:
    assert client.get("/health").status_code == 200
    path = "/__emulator/sessions/s-1/v1/images/generations"
    assert envelope(client.post(path, json=SMALL), 401)["code"] != "invalid_admin_key"
    assert client.post(path, json=SMALL, headers=API).status_code == 200


def test_the_admin_key_defaults_to_the_api_key() -> None:
    with TestClient(create_app(Settings(url_secret="s", api_key=API_KEY))) as http:
        assert http.get("/__emulator/requests").status_code == 401
        assert http.get("/__emulator/requests", headers=API).status_code == 200
    with TestClient(create_app(Settings(url_secret="s"))) as http:
        assert http.get("/__emulator/requests").status_code == 200  # no key configured: open, as before


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b", None]
)
def test_admin_writes_must_be_json(client: httpx2.Client, content_type: str | None) -> None:
    """A foreign page can POST text/plain or a form without a preflight, never application/json."""
    headers = {**ADMIN, **({"Content-Type": content_type} if content_type else {})}
    body = b'{"fault": "timeout", "hold_seconds": 600}'
    response = client.post("/__emulator/faults", content=body, headers=headers)
    assert envelope(response, 400)["code"] == "invalid_content_type"
    assert client.get("/__emulator/faults", headers=ADMIN).json()["data"] == []


def test_a_foreign_page_can_neither_read_nor_write_the_admin_api(client: httpx2.Client) -> None:
    evil = {"Origin": "https://evil.example", **ADMIN}
    read = client.get("/__emulator/requests", headers=evil)
    assert envelope(read, 403)["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in read.headers
    write = client.post("/__emulator/faults", json={"fault": "timeout"}, headers=evil)
    assert write.status_code == 403
    preflight = client.options(
        "/__emulator/faults",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers
    local = client.get("/__emulator/requests", headers={**ADMIN, "Origin": "http://localhost:3000"})
    assert local.headers["access-control-allow-origin"] == "http://localhost:3000"
    api = client.post(GENERATIONS, json=SMALL, headers={**API, "Origin": "https://evil.example"})
    assert api.status_code == 200 and api.headers["access-control-allow-origin"] == "https://evil.example"


def test_a_session_cannot_delete_another_sessions_fault(client: httpx2.Client) -> None:
    rule = client.post("/__emulator/faults?session=a", json={"fault": "server_error"}, headers=ADMIN).json()
    try:
        other = client.delete(f"/__emulator/faults/{rule['id']}?session=other", headers=ADMIN)
        assert envelope(other, 404)["code"] == "fault_not_found"
        assert [r["id"] for r in client.get("/__emulator/faults?session=a", headers=ADMIN).json()["data"]] == [
            rule["id"]
        ]
    finally:
        client.delete("/__emulator/faults", headers=ADMIN)


def test_images_emulator_sends_the_admin_key(locked: EmulatorProcess) -> None:
    emulator = ImagesEmulator(url=locked.base_url, api_key=API_KEY, admin_key=ADMIN_KEY).session()
    emulator.fault("server_error", prompt_contains="never-sent")
    assert [rule["fault"] for rule in emulator.faults()] == ["server_error"]
    emulator.client(max_retries=0).images.generate(**SMALL)
    assert [entry["status"] for entry in emulator.requests()] == [200]
    emulator.reset()


# --- keys masked in the journal -------------------------------------------------------------------------

SECRETS = {
    "raw": ("authorization", "sk-raw-secret-ABCDEFGH1234"),
    "tab": ("authorization", "Bearer\tsk-tab-secret-ABCDEFGH1234"),
    "spaces": ("authorization", "Bearer   sk-spaces-secret-ABCDEF1234"),
    "azure": ("api-key", "azure-secret-ABCDEFGH1234"),
    "x-api-key": ("x-api-key", "xapi-secret-ABCDEFGH1234"),
    "proxy": ("proxy-authorization", "Basic " + base64.b64encode(b"user:proxy-secret-pw").decode()),
    "cookie": ("cookie", "session=cookie-secret-ABCDEF; theme=dark"),
    "short": ("authorization", "Bearer sk-short9"),
    "admin": ("x-emulator-admin-key", "admin-secret-ABCDEFGH1234"),
}


def test_credentials_are_masked_wherever_they_appear_in_the_journal() -> None:
    with TestClient(create_app(Settings(url_secret="s"))) as http:
        for name, (header, value) in SECRETS.items():
            body = {**SMALL, "prompt": name, "api_key": f"sk-body-secret-{name}-1234", "password": "hunter2hunter2"}
            http.post(GENERATIONS, json=body, headers={header: value})
        form = {"prompt": "form", "model": "dall-e-2", "client_secret": "form-secret-ABCDEFGH1234"}
        http.post("/v1/images/variations", data=form, files={"image": ("a.png", png((64, 64)), "image/png")},
                  headers=API)  # fmt: skip
        http.post(
            GENERATIONS, content=b"api_key=text-secret-ABCDEFGH1234&x=1", headers={**API, "Content-Type": "text/plain"}
        )
        entries = http.get("/__emulator/requests").json()["data"]
    text = json.dumps(entries)
    secrets = ["raw-secret", "tab-secret", "spaces-secret", "azure-secret", "xapi-secret", SECRETS["proxy"][1][6:]]
    secrets += [
        "admin-secret",
        "cookie-secret",
        "dark",
        "hunter2",
        "sk-body-secret",
        "form-secret",
        "text-secret",
        "short9",
    ]
    for secret in secrets:
        assert secret not in text, secret
    shown = {
        name: entry["headers"][header]
        for (name, (header, _)), entry in zip(SECRETS.items(), entries[: len(SECRETS)], strict=True)
    }
    assert shown["tab"] == "Bearer sk-****1234"  # any spacing: the scheme kept, the key masked
    assert shown["spaces"] == "Bearer sk-****1234"
    assert shown["short"] == "Bearer ****"
    assert shown["raw"] == "sk-****1234"
    assert shown["cookie"] == "session=****; theme=****"
    assert shown["proxy"] == "Basic ****"
    read = [entry["body"] for entry in entries if isinstance(entry["body"], dict) and "password" in entry["body"]]
    assert len(read) >= 2 and all(body["password"] == "****ter2" for body in read)  # short: at most 4 shown
    assert all(body["api_key"].startswith("sk-****") for body in read)
    [variation] = [entry for entry in entries if entry["path"] == "/v1/images/variations"]
    assert variation["body"]["client_secret"] == "for****1234"


# --- never a 5xx from input -----------------------------------------------------------------------------


def multipart_body(boundary: str, fields: dict[str, str], image: bytes | None = None) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    if image is not None:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n".encode()
            + image
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def test_hostile_urls_boundaries_and_integers_get_a_4xx_envelope_and_finished_entries(
    client: httpx2.Client,
) -> None:
    client.delete("/__emulator/requests", headers=ADMIN)
    assert envelope(client.get("/images/abc.%C3%A9.png"), 403)["code"] == "invalid_signature"
    boundary = "b" * 300
    for path in ("/v1/images/edits", "/v1/images/variations", GENERATIONS, "/v1/nope"):
        body = multipart_body(boundary, {"prompt": "x"}, png((64, 64)))
        response = client.post(
            path, content=body, headers={**API, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        assert 400 <= response.status_code < 500 and envelope(response, response.status_code)
    image = png((64, 64))
    for value in ("+-1", "--1", "-+1", "1" * 4400, "１", "1_0", "0x1", " "):
        for name in ("n", "partial_images", "output_compression"):
            for path, fields in (
                ("/v1/images/edits", {"prompt": "x", "model": "gpt-image-1"}),
                ("/v1/images/variations", {"model": "dall-e-2"}),
            ):
                body = multipart_body("bnd", {**fields, name: value}, image)
                response = client.post(
                    path, content=body, headers={**API, "Content-Type": "multipart/form-data; boundary=bnd"}
                )
                assert envelope(response, 400), (path, name, value)
    entries = journal(client)
    assert len(entries) > 40
    assert all(entry["status"] is not None and 400 <= entry["status"] < 500 for entry in entries)
    assert all(entry["duration_ms"] is not None for entry in entries)


def test_an_unexpected_error_is_a_500_envelope_with_its_request_id_logged_once(tmp_path: Path) -> None:
    """A real bug, provoked for real: the SQLite store is damaged under a running server."""
    database = tmp_path / "state.db"
    args = ("--store", f"sqlite:///{database}", "--workers", "1")
    with (
        EmulatorProcess(env={"EMULATOR_URL_SECRET": "s"}, args=args) as server,
        httpx2.Client(base_url=server.base_url, timeout=30, headers={"Authorization": "Bearer k"}) as http,
    ):
        with sqlite3.connect(database) as db:  # a rule stored without its id: the image endpoint's fault lookup raises
            rules = {"next": 1, "rules": [{"fault": "server_error"}]}
            db.execute("INSERT INTO kv (key, value) VALUES ('faults', ?)", (json.dumps(rules),))
        response = http.post(GENERATIONS, json=SMALL)
        error = envelope(response, 500)
        assert error["type"] == "server_error"
        assert response.headers["x-request-id"] in error["message"]
        assert response.headers["x-emulator-worker"]
        [entry] = http.get("/__emulator/requests").json()["data"]
        assert (entry["status"], entry["duration_ms"] is not None) == (500, True)
        with sqlite3.connect(database) as db:
            db.execute("DROP TABLE log")  # a FastAPI route (the journal) now raises
        listing = http.get("/__emulator/requests")
        assert envelope(listing, 500)["type"] == "server_error"
        assert http.get("/health").status_code == 200  # the server goes on
        logged = server.log()
    assert logged.count("Traceback") == 2, logged
    assert "KeyError: 'id'" in logged and "no such table: log" in logged


# --- caps on every wait ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1e300", "600001", "inf", "nan", "-1"])
def test_a_latency_header_past_ten_minutes_is_a_400(client: httpx2.Client, value: str) -> None:
    response = client.post(GENERATIONS, json=SMALL, headers={**API, "X-Emulator-Latency-Ms": value})
    assert envelope(response, 400)["code"] == "invalid_emulator_header"


def test_holds_past_ten_minutes_are_refused_by_rules_headers_and_settings(client: httpx2.Client) -> None:
    rule = client.post("/__emulator/faults", json={"fault": "timeout", "hold_seconds": 86_400}, headers=ADMIN)
    assert envelope(rule, 400)["param"] == "hold_seconds"
    header = client.post(GENERATIONS, json=SMALL, headers={**API, "X-Emulator-Fault": "timeout; hold_seconds=601"})
    assert envelope(header, 400)["param"] == "hold_seconds"
    with pytest.raises(ValidationError):
        Settings(fault_hold_seconds=601)
    with pytest.raises(ValidationError):
        Settings(latency="600001")
    assert client.get("/__emulator/faults", headers=ADMIN).json()["data"] == []


# --- early answers reach clients that send the whole body first -----------------------------------------


@pytest.mark.parametrize("megabytes", [8, 20])
def test_a_client_that_sends_its_whole_body_first_gets_the_401(locked: EmulatorProcess, megabytes: int) -> None:
    request = urllib.request.Request(
        locked.base_url + GENERATIONS, data=b" " * (megabytes << 20), headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 401
    assert json.loads(refused.value.read())["error"]["code"] is None  # no key: OpenAI's missing-key 401


def test_a_body_over_the_limit_sent_whole_first_gets_the_413() -> None:
    with EmulatorProcess(env={"EMULATOR_URL_SECRET": "s"}, args=("--max-body-bytes", str(4 << 20))) as server:
        request = urllib.request.Request(
            server.base_url + GENERATIONS,
            data=b" " * (6 << 20),
            headers={"Content-Type": "application/json", "Authorization": "Bearer k"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)
        assert refused.value.code == 413
        assert refused.value.headers["connection"] == "close"


# --- bounded per-client tables --------------------------------------------------------------------------


def test_keys_refused_with_a_401_get_no_rate_limit_window() -> None:
    settings = Settings(url_secret="s", api_key=API_KEY, rate_limit_rpm=1000)
    with TestClient(create_app(settings)) as http:
        store = http.app.state.runtime.harness.store  # type: ignore[attr-defined]
        for index in range(200):
            assert (
                http.post(GENERATIONS, json=SMALL, headers={"Authorization": f"Bearer wrong-{index}"}).status_code
                == 401
            )
        assert store.expiring_keys == 0
        assert http.post(GENERATIONS, json=SMALL, headers=API).status_code == 200
        assert store.expiring_keys == 1


async def test_rate_limit_windows_are_bounded_in_number() -> None:
    """A client inventing keys (no --api-key: every key passes) cannot grow the store past its bound."""
    store = MemoryBackend()
    limiter = RateLimiter(store, rpm=5, ipm=None)
    for index in range(MAX_EXPIRING_KEYS + 2_000):
        assert await limiter.admit(f"key-{index}", 1, "dall-e-2") is None
    assert store.expiring_keys == MAX_EXPIRING_KEYS
    await limiter.reset()
    assert store.expiring_keys == 0


def test_scheduled_faults_are_capped_with_a_clear_400() -> None:
    with TestClient(create_app(Settings(url_secret="s")), headers={"Authorization": "Bearer k"}) as http:
        for _ in range(1000):
            assert (
                http.post("/__emulator/faults", json={"fault": "server_error", "match": {"model": "none"}}).status_code
                == 201
            )
        refused = http.post("/__emulator/faults", json={"fault": "server_error"})
        assert refused.status_code == 400 and "at most 1000" in refused.json()["error"]["message"]
        assert http.post(GENERATIONS, json=SMALL).status_code == 200  # 1000 rules scanned, none matches


# --- memory and responsiveness under hostile bodies -----------------------------------------------------


def rss_mib(server: EmulatorProcess) -> int:
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS")


class HealthWatch:
    """GET /health every 20 ms on its own connection; the slowest answer."""

    def __init__(self, server: EmulatorProcess) -> None:

        self.server, self.worst, self.stop = server, 0.0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:

        with httpx2.Client(base_url=self.server.base_url, timeout=30) as http:
            while not self.stop.is_set():
                started = time.perf_counter()
                assert http.get("/health").status_code == 200
                self.worst = max(self.worst, time.perf_counter() - started)
                self.stop.wait(0.02)

    def __enter__(self) -> HealthWatch:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def post_raw(server: EmulatorProcess, path: str, body: bytes, content_type: str) -> int:
    """POST over a plain socket (the body sent whole, then the answer read); the status."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_KEY}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((server.host, server.port), timeout=120) as sock:
        sock.sendall(head + body)
        answer = b""
        while chunk := sock.recv(1 << 16):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


@pytest.fixture(scope="module")
def plain() -> Iterator[EmulatorProcess]:
    """One worker: the process whose memory is measured is the one that serves."""
    args = ("--api-key", API_KEY, "--workers", "1")
    with EmulatorProcess(env={"EMULATOR_URL_SECRET": "test-secret"}, args=args) as process:
        yield process


def test_hostile_json_bodies_leave_memory_bounded_and_health_fast(plain: EmulatorProcess) -> None:
    """The issue's bodies: 16 MB of tiny containers (three times), large ones just within the parser's
    container limit, and 16 MB of keys or of numbers (refused before parsing, like the containers). RSS
    stays under 300 MB, returns to near where it was, and /health answers in 100 ms."""
    containers = b'{"prompt":"a","x":[' + b",".join([b"{}"] * ((16 << 20) // 3)) + b"]}"
    within = b'{"prompt":"a","x":[' + b",".join([b"{}"] * 99_000) + b'],"y":"' + b"a" * (15 << 20) + b'"}'
    escapes = b'{"prompt":"' + b"\\u00e9" * ((16 << 20) // 6) + b'"}'
    keys = b'{"prompt":"a",' + b",".join(b'"k%07d":0' % i for i in range((16 << 20) // 12)) + b"}"
    numbers = b'{"prompt":"a","x":[' + b",".join([b"0"] * ((16 << 20) // 2)) + b"]}"
    before = rss_mib(plain)
    peak = before
    with HealthWatch(plain) as health:
        for body in (containers, containers, containers, within, escapes, keys, numbers):
            assert post_raw(plain, GENERATIONS, body, "application/json") == 400
            peak = max(peak, rss_mib(plain))
    after = rss_mib(plain)
    assert peak < 300 and after < before + 40, (before, peak, after)
    assert health.worst < 0.1, f"/health took {health.worst * 1000:.0f} ms"


def test_large_uploads_give_their_memory_back(plain: EmulatorProcess) -> None:
    """Two edits of two 6000x6000 PNGs (the pixel cap; a few hundred KB each, 144 MB each decoded): what
    the process holds afterwards does not grow with them, and its peak stays under 300 MB."""
    image = png((6000, 6000))
    fields = {"prompt": "x", "model": "gpt-image-1"}
    held = []
    for round_ in range(2):
        parts = [multipart_body("bnd", {**fields, "prompt": f"x{round_}"})[: -len("--bnd--\r\n")]]
        for index in range(2):
            parts.append(
                f'--bnd\r\nContent-Disposition: form-data; name="image[]"; filename="{index}.png"\r\n'
                "Content-Type: image/png\r\n\r\n".encode()
                + image
                + b"\r\n"
            )
        body = b"".join(parts) + b"--bnd--\r\n"
        assert post_raw(plain, "/v1/images/edits", body, "multipart/form-data; boundary=bnd") == 200
        held.append(rss_mib(plain))
    assert held[1] < 200 and held[1] <= held[0] + 10, held


def test_size_auto_follows_the_exif_orientation_of_the_first_image() -> None:
    """A landscape JPEG whose EXIF says it is shown rotated (a phone photo) is a portrait for `size: auto`."""
    from helpers import encode, picture
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # stored 1536x1024, shown rotated by 90°: 1024x1536
    photo = encode(picture((1536, 1024), "RGB"), "JPEG", exif=exif)
    with TestClient(create_app(Settings(url_secret="s")), headers={"Authorization": "Bearer k"}) as http:
        response = http.post(
            "/v1/images/edits",
            data={"model": "gpt-image-1", "prompt": "x", "size": "auto", "quality": "low"},
            files={"image": ("photo.jpg", photo, "image/jpeg")},
        )
    assert response.status_code == 200, response.text
    assert response.json()["size"] == "1024x1536"


def test_images_emulator_takes_the_admin_key_from_its_server_args() -> None:
    """`--api-key` in the args (what the pytest plugin's ini passes): the admin key it defaults to is sent."""
    with ImagesEmulator(args=("--api-key", API_KEY)) as emulator:
        view = emulator.session()
        view.fault("server_error", prompt_contains="never-sent")
        assert len(view.faults()) == 1
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(emulator.server_url + "/__emulator/faults")
        assert refused.value.code == 401


async def test_expired_values_do_not_pile_up_in_the_sqlite_store(tmp_path: Path) -> None:
    """Windows of keys never seen again (the SQLite store the workers share) are deleted as writes go on."""
    from images_emulator.harness.store.sqlite import SWEEP_EVERY, SqliteBackend

    store = SqliteBackend(tmp_path / "state.db")
    try:
        for index in range(SWEEP_EVERY * 2):
            await store.update(f"rate:{index}", lambda _: ({"n": 1}, None), ttl=0.000_001)
    finally:
        await store.close()
    with sqlite3.connect(tmp_path / "state.db") as db:
        (rows,) = db.execute("SELECT COUNT(*) FROM kv").fetchone()
    assert rows < SWEEP_EVERY


def test_sigterm_ends_a_held_request_with_a_503_envelope_within_the_graceful_period() -> None:
    """A `timeout` fault holding for the longest allowed (600 s) does not keep a stopping server alive."""
    server = EmulatorProcess(env={"EMULATOR_URL_SECRET": "s"}, args=("--workers", "1", "--graceful-seconds", "1"))
    server.start()
    answers: list[httpx2.Response] = []

    def held() -> None:
        headers = {**API, "X-Emulator-Fault": "timeout; hold_seconds=600"}
        answers.append(httpx2.post(server.base_url + GENERATIONS, json=SMALL, headers=headers, timeout=60))

    thread = threading.Thread(target=held)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while "timeout" not in json.dumps(httpx2.get(server.base_url + "/__emulator/requests").json()):
            assert time.monotonic() < deadline, "the held request never arrived"
            time.sleep(0.05)
        assert server.process is not None
        stopping = time.monotonic()
        server.process.terminate()
        assert server.process.wait(timeout=10) == 0
        assert time.monotonic() - stopping < 5
        thread.join(timeout=10)
    finally:
        server.stop()
    [answer] = answers
    assert envelope(answer, 503)["code"] == "server_shutting_down"


@pytest.mark.parametrize(
    ("ttl", "words"), [(1, "1 second"), (90, "90 seconds"), (60, "1 minute"), (3600, "60 minutes")]
)
def test_an_expired_url_says_how_long_urls_live_even_below_a_minute(ttl: int, words: str) -> None:
    from dataclasses import dataclass

    from images_emulator.api.urls import UrlSigner
    from images_emulator.contract.errors import ApiError

    @dataclass
    class Spec:
        prompt: str

    signer = UrlSigner("secret", ttl)
    token = signer.token(Spec("x"), now=0)
    with pytest.raises(ApiError) as expired:
        signer.verify(token, now=ttl + 1)
    assert f"valid for {words} after" in expired.value.message


@pytest.mark.parametrize(
    "line", [b"GET /v1/\xc3\xa9 HTTP/1.1", b"GET \xe9/__emulator/faults HTTP/1.1", b"NOT HTTP AT ALL"]
)
def test_a_request_the_parser_refuses_gets_a_400_envelope_with_the_usual_headers(
    locked: EmulatorProcess, line: bytes
) -> None:
    with socket.create_connection((locked.host, locked.port), timeout=30) as sock:
        sock.sendall(line + b"\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        while chunk := sock.recv(1 << 16):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    assert headers[b"x-request-id"].startswith(b"req_") and b"openai-version" in headers
    assert set(json.loads(body)["error"]) == {"message", "type", "param", "code"}


def test_a_prompt_of_32000_commas_is_still_parsed() -> None:
    """The bound on JSON values before parsing leaves room for the longest prompt made of separators."""
    body = {"model": "gpt-image-1", "prompt": ",:" * 16_000, "quality": "low", "size": "1024x1024"}
    with TestClient(create_app(Settings(url_secret="s")), headers={"Authorization": "Bearer k"}) as http:
        assert http.post(GENERATIONS, json=body).status_code == 200
