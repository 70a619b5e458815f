"""Bad input against a real server (raw httpx2 and raw sockets): each case gets a clear 4xx or works,
never a 5xx and never a hang (every client has a timeout), and the server keeps serving.

The battery's requests carry the session `bad-input`, so the last test can check in the journal that
none of them was answered with a 5xx. Slow clients run against a server of their own whose header and
body deadlines are 1 s (`--header-timeout-seconds`, `--body-timeout-seconds`).
"""

from __future__ import annotations

import json
import socket
import time
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx2
import pytest
from conftest import API_KEY
from helpers import LEGACY, data_url, encode, png, png_declaring
from PIL import Image

from images_emulator.contract.params import EDIT_PARAMS, GENERATION_PARAMS, JSON_EDIT_PARAMS, VARIATION_PARAMS, Param
from images_emulator.contract.validation import edit_models, variation_models
from images_emulator.testing.process import EmulatorProcess

MODELS = LEGACY.models

SESSION = "bad-input"
HEADERS = {"Authorization": f"Bearer {API_KEY}", "X-Emulator-Session": SESSION}
TIMEOUT = 60.0  # seconds: any hang fails the test instead of blocking the run
GENERATIONS, EDITS, VARIATIONS = "/v1/images/generations", "/v1/images/edits", "/v1/images/variations"
GPT = {"model": "gpt-image-1", "size": "1024x1024", "quality": "low"}
DALLE2 = {"model": "dall-e-2", "size": "256x256", "response_format": "b64_json"}


# --- images -----------------------------------------------------------------------------------------------


PNG = png()  # square RGBA: valid for every model
DATA_URL = data_url(PNG)


BAD_FILES = {
    "text": b"this is not an image",
    "empty": b"",
    "truncated png": PNG[: len(PNG) // 2],
    "png signature only": PNG[:8],
    "corrupt pixel data": png_declaring(64, 64, idat=b"\x78\x9c" + bytes(range(256)) * 4),
    "gif": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    "bomb header 100000x100000": png_declaring(100_000, 100_000),
    "too many pixels 9000x9000": png_declaring(9000, 9000),
    "aspect 100000x10": png_declaring(100_000, 10),
}


# --- helpers ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http(server: EmulatorProcess) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base_url, headers=HEADERS, timeout=TIMEOUT) as client:
        yield client


def assert_refused(response: httpx2.Response, status: int = 400, *, code: str | None = None, param: Any = ...) -> None:
    """A 4xx in OpenAI's envelope (all four keys), with this status, and code/param when given."""
    assert response.status_code == status, response.text[:500]
    error = response.json()["error"]
    assert {"message", "type", "param", "code"} <= set(error), error
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    if param is not ...:
        assert error["param"] == param, error


def post_json_text(http: httpx2.Client, path: str, text: bytes, content_type: str = "application/json") -> Any:
    return http.post(path, content=text, headers={"content-type": content_type})


def form_edit(http: httpx2.Client, files: Any, **fields: Any) -> httpx2.Response:
    return http.post(EDITS, data={"prompt": "add a hat", **fields}, files=files)


# --- empty, truncated and non-JSON bodies -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"", b"   ", b'{"prompt": "a', b'{"prompt": "a"', b"{'prompt': 'a'}", b"prompt=a", b"\xff\xfe\x00", b"[", b"NaN"],
)
@pytest.mark.parametrize("path", [GENERATIONS, EDITS, "/__emulator/faults"])
def test_unparsable_json_is_a_400(http: httpx2.Client, path: str, body: bytes) -> None:
    assert_refused(post_json_text(http, path, body))


@pytest.mark.parametrize("body", [b"[]", b'"a cat"', b"42", b"null", b"true", b'[{"prompt": "a"}]'])
@pytest.mark.parametrize("path", [GENERATIONS, EDITS, "/__emulator/faults"])
def test_json_that_is_not_an_object_is_a_400(http: httpx2.Client, path: str, body: bytes) -> None:
    assert_refused(post_json_text(http, path, body))


def test_json_nested_within_the_parser_limit_is_a_400_and_journaled(http: httpx2.Client) -> None:
    assert_refused(post_json_text(http, GENERATIONS, b'{"prompt": ' + b"[" * 500 + b"]" * 500 + b"}"))
    assert http.get("/__emulator/requests", params={"session": SESSION}).status_code == 200


@pytest.mark.parametrize("path", [GENERATIONS, EDITS, VARIATIONS])
@pytest.mark.parametrize("content_type", ["", "text/plain", "application/x-www-form-urlencoded", "image/png"])
def test_unsupported_content_types_are_a_400(http: httpx2.Client, path: str, content_type: str) -> None:
    response = http.post(path, content=b'{"prompt": "a cat"}', headers={"content-type": content_type})
    assert_refused(response, code="invalid_content_type")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"--b\r\n",
        b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nadd a hat',  # no closing boundary
        b"not multipart at all",
        b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
        + PNG[:100],
    ],
)
@pytest.mark.parametrize("path", [EDITS, VARIATIONS])
def test_empty_and_truncated_multipart_bodies_are_a_400(http: httpx2.Client, path: str, body: bytes) -> None:
    assert_refused(post_json_text(http, path, body, "multipart/form-data; boundary=b"))


# --- one request each, refused in the envelope ----------------------------------------------------------------

JSON = {"content-type": "application/json"}


def refused(
    path: str, *, id: str, status: int = 400, code: str | None = None, param: Any = ..., **request: Any
) -> Any:
    """A row of REFUSED: `http.post(path, **request)` gets a 4xx envelope with this status (and code/param)."""
    return pytest.param(path, request, {"status": status, "code": code, "param": param}, id=id)


REFUSED = [
    refused(
        GENERATIONS,
        content=b'{"prompt": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        headers=JSON,
        id="json-nested-deeper-than-the-parser-allows",
    ),
    refused(GENERATIONS, content=b"[" * 100_000, headers=JSON, id="a-bare-array-nested-deeper-than-the-parser-allows"),
    refused(
        GENERATIONS,
        content=zlib.compress(b'{"prompt": "a cat"}'),
        headers={**JSON, "content-encoding": "deflate"},
        id="a-compressed-body-is-refused-not-guessed",
    ),
    refused(
        GENERATIONS,
        content=rb'{"prompt": "a", "model": "\ud800\u0000"}',
        headers=JSON,
        status=404,
        id="odd-text-in-a-model-name-is-a-404",
    ),
    *[
        refused(
            path,
            content=b"--b--\r\n",
            headers={"content-type": "multipart/form-data"},
            id=f"{noun}-multipart-without-a-boundary",
        )
        for noun, path in (("edits", EDITS), ("variations", VARIATIONS))
    ],
    refused(
        EDITS,
        data={f"field{i}": "x" for i in range(150)},
        files={"image": ("a.png", PNG, "image/png")},
        id="more-than-a-hundred-form-fields",
    ),
    refused(
        EDITS,
        files={"image": (None, "not a file"), "prompt": (None, "a cat")},
        code="invalid_type",
        param="image",
        id="edits-an-image-sent-as-a-text-field-is-an-invalid-type",
    ),
    refused(
        VARIATIONS,
        files={"image": (None, "x")},
        code="invalid_type",
        param="image",
        id="variations-an-image-sent-as-a-text-field-is-an-invalid-type",
    ),
    refused(
        EDITS,
        data={"prompt": "ü" * 40_000},
        files={"image": ("a.png", PNG, "image/png")},
        code="string_above_max_length",
        param="prompt",
        id="a-40000-character-edit-prompt",
    ),
    refused(
        EDITS,
        data={"prompt": "add a hat"},
        files=[("image[]", (f"{i}.png", PNG, "image/png")) for i in range(17)],
        code="array_above_max_length",
        param="image",
        id="17-form-images",
    ),
    refused(
        EDITS,
        json={"prompt": "a", "images": [{"image_url": DATA_URL}] * 17},
        code="array_above_max_length",
        param="images",
        id="17-json-images",
    ),
]


@pytest.mark.parametrize(("path", "sent", "expected"), REFUSED)
def test_a_malformed_or_oversized_request_is_refused_in_the_envelope(
    http: httpx2.Client, path: str, sent: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert_refused(http.post(path, **sent), **expected)


# --- wrong types for every field of every endpoint (from validation.py's Param tables) ------------------------

JSON_WRONG = {
    "string": [12345, ["a"]],
    "enum": [12345, {"a": 1}],
    "size": [12345, {"a": 1}],
    "object": ["text", [1]],
    "integer": ["twelve", 1.5, True],
    "boolean": ["yes", 1],
}
FORM_WRONG = {"integer": ["twelve", "1.5"], "boolean": ["maybe", "2"]}  # strings and enums: sent as a file part


def model_taking(param: Param, models: tuple[str, ...]) -> str | None:
    """A model of the legacy date taking `param` (None: only today's models do; test_new_outputs.py)."""
    return next((name for name in models if param.supported_by(MODELS[name])), None)


def wrong_type_cases() -> Iterator[Any]:
    endpoints = [
        ("generations", GENERATION_PARAMS, tuple(MODELS)),
        ("edits json", JSON_EDIT_PARAMS, edit_models(LEGACY, json=True)),
        ("edits form", EDIT_PARAMS, edit_models(LEGACY, json=False)),
        ("variations", VARIATION_PARAMS, variation_models(LEGACY)),
    ]
    for endpoint, params, models in endpoints:
        form = endpoint.endswith("form") or endpoint == "variations"
        for param in params:
            model = model_taking(param, models)
            if model is None:
                continue
            values = FORM_WRONG.get(param.kind, [None]) if form else JSON_WRONG[param.kind]
            for value in values:
                yield pytest.param(endpoint, param.name, model, value, id=f"{endpoint}-{param.name}-{value!r}")
        model_value = None if form else 5
        yield pytest.param(endpoint, "model", models[0], model_value, id=f"{endpoint}-model")


@pytest.mark.parametrize(("endpoint", "name", "model", "value"), list(wrong_type_cases()))
def test_a_wrong_type_for_any_field_is_an_invalid_type_400(
    http: httpx2.Client, endpoint: str, name: str, model: str, value: Any
) -> None:
    """`value` None stands for "a file part where a text field belongs" (multipart strings and enums)."""
    fields: dict[str, Any] = {"model": model}
    if endpoint != "variations":
        fields["prompt"] = "a cat"
    if endpoint == "generations":
        response = http.post(GENERATIONS, json={**fields, name: value})
    elif endpoint == "edits json":
        response = http.post(EDITS, json={**fields, "images": [{"image_url": DATA_URL}], name: value})
    else:
        path = EDITS if endpoint == "edits form" else VARIATIONS
        files: list[Any] = [("image", ("a.png", PNG, "image/png"))]
        if value is None:
            files.append((name, ("field.txt", b"a value", "text/plain")))
            fields.pop(name, None)
        else:
            fields[name] = value
        response = http.post(path, data=fields, files=files)
    assert_refused(response, code="invalid_type", param=name)


# --- unusual text: lone surrogates, NUL, RTL, emoji, very long ------------------------------------------------

ODD_PROMPTS = {
    "lone high surrogate": rb'"a \ud800 fox"',
    "lone low surrogate": rb'"\udfff"',
    "reversed pair": rb'"\udc00\ud800"',
    "NUL": rb'"a\u0000fox\u0000"',
    "control characters": rb'"\u0001\u001b[31m\u007f\t\r\n"',
    "right-to-left": '"ثعلب أحمر في الثلج \u202egnirts desrever\u202c"'.encode(),
    "emoji": '"🦊 in ❄️ with 👨‍👩‍👧‍👦 and 🏳️‍🌈"'.encode(),
    "combining marks": '"Z̷̢̛̤a̸͖̓l̶̜̅g̵̱̈ó̶̞"'.encode(),
}


@pytest.mark.parametrize("prompt", ODD_PROMPTS.values(), ids=ODD_PROMPTS.keys())
@pytest.mark.parametrize("extra", [DALLE2, {**GPT, "stream": True, "partial_images": 1}, {"model": "dall-e-3"}])
def test_odd_prompts_work(http: httpx2.Client, prompt: bytes, extra: dict[str, Any]) -> None:
    body = b'{"prompt": ' + prompt + b", " + json.dumps(extra).encode()[1:]
    response = post_json_text(http, GENERATIONS, body)
    assert response.status_code == 200, response.text[:500]
    if extra.get("stream"):
        assert "event: image_generation.completed" in response.text
    else:
        assert response.json()["data"]


@pytest.mark.parametrize("prompt", ODD_PROMPTS.values(), ids=ODD_PROMPTS.keys())
def test_odd_prompts_work_for_edits(http: httpx2.Client, prompt: bytes) -> None:
    body = b'{"prompt": ' + prompt + b', "images": [{"image_url": "' + DATA_URL.encode() + b'"}], "quality": "low"}'
    response = post_json_text(http, EDITS, body)
    assert response.status_code == 200, response.text[:500]


@pytest.mark.parametrize(
    "body",
    [
        rb'{"prompt": "a", "size": "\ud800"}',
        rb'{"prompt": "a", "\ud800": 1}',
        rb'{"prompt": "a", "quality": "\u0000"}',
        rb'{"prompt": "a", "model": "gpt-image-1", "user": 5, "\udfff\ud800": "x"}',
    ],
)
def test_odd_text_in_refused_values_is_echoed_in_a_valid_envelope(http: httpx2.Client, body: bytes) -> None:
    assert_refused(post_json_text(http, GENERATIONS, body))


def test_the_journal_renders_whatever_was_sent(http: httpx2.Client) -> None:
    post_json_text(http, GENERATIONS, rb'{"prompt": "\ud800", "n": -1e400, "quality": 1e400}')  # JSON: any size
    response = http.get("/__emulator/requests", params={"session": SESSION})
    assert response.status_code == 200
    body = json.loads(response.text)["data"][-1]["body"]
    assert body == {"prompt": "\ud800", "n": "-Infinity", "quality": "Infinity"}  # non-finite numbers as words


@pytest.mark.parametrize(("model", "limit"), [("gpt-image-1", 32000), ("dall-e-3", 4000), ("dall-e-2", 1000)])
def test_a_40000_character_prompt_is_a_400(http: httpx2.Client, model: str, limit: int) -> None:
    response = http.post(GENERATIONS, json={"model": model, "prompt": "a fox " * 6666 + "abcd"})
    assert_refused(response, code="string_above_max_length", param="prompt")
    assert f"maximum length {limit}, but got a string with length 40000" in response.json()["error"]["message"]


def test_a_prompt_at_the_limit_works(http: httpx2.Client) -> None:
    response = http.post(GENERATIONS, json={**GPT, "prompt": "🦊" * 32_000})
    assert response.status_code == 200, response.text[:300]


# --- bad image files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", BAD_FILES.values(), ids=BAD_FILES.keys())
@pytest.mark.parametrize("model", ["gpt-image-1", "dall-e-2"])
def test_bad_image_files_are_a_400_for_edits(http: httpx2.Client, data: bytes, model: str) -> None:
    assert_refused(form_edit(http, {"image": ("a.png", data, "image/png")}, model=model))


@pytest.mark.parametrize("data", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_image_files_are_a_400_for_variations(http: httpx2.Client, data: bytes) -> None:
    assert_refused(http.post(VARIATIONS, files={"image": ("a.png", data, "image/png")}))


@pytest.mark.parametrize("data", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_image_files_are_a_400_as_a_mask(http: httpx2.Client, data: bytes) -> None:
    files = {"image": ("a.png", PNG, "image/png"), "mask": ("m.png", data, "image/png")}
    assert_refused(form_edit(http, files, model="gpt-image-1"))


@pytest.mark.parametrize("data", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_images_are_a_400_as_data_urls(http: httpx2.Client, data: bytes) -> None:
    url = data_url(data)
    assert_refused(http.post(EDITS, json={"prompt": "a", "images": [{"image_url": url}]}))


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png;base64,!!!not base64!!!",
        "data:image/png;base64",
        "data:,",
        "javascript:alert(1)",
        "",
        "data:" + "A" * 1000,
    ],
)
def test_malformed_data_urls_are_a_400(http: httpx2.Client, url: str) -> None:
    assert_refused(http.post(EDITS, json={"prompt": "a", "images": [{"image_url": url}]}))


def test_a_real_decompression_bomb_is_decoded_within_bounds(http: httpx2.Client) -> None:
    """6000x6000 zeros: 35 KB on the wire, 36 M pixels decoded (the cap): it works."""
    bomb = encode(Image.new("L", (6000, 6000)))
    assert len(bomb) < 100_000
    response = form_edit(http, {"image": ("bomb.png", bomb, "image/png")}, **GPT)
    assert response.status_code == 200, response.text[:300]


def test_a_7000_square_bomb_is_refused_before_decoding(http: httpx2.Client) -> None:
    """7000x7000 zeros: 49 M pixels, over the 36 M cap: a 400 from the header alone."""
    bomb = encode(Image.new("L", (7000, 7000)))
    response = form_edit(http, {"image": ("bomb.png", bomb, "image/png")}, **GPT)
    assert response.status_code == 400 and "at most 36000000 pixels" in response.json()["error"]["message"]


def test_a_60_mb_upload_is_a_400_not_a_crash(http: httpx2.Client) -> None:
    big = PNG + bytes(60 * 1024 * 1024)
    assert_refused(form_edit(http, {"image": ("big.png", big, "image/png")}), code="image_too_large")
    assert_refused(form_edit(http, {"image": ("big.png", big, "image/png")}, model="dall-e-2"))
    assert_refused(http.post(VARIATIONS, files={"image": ("big.png", big, "image/png")}))


def test_a_body_over_the_size_limit_is_a_413(http: httpx2.Client) -> None:
    huge = bytes(65 * 1024 * 1024)  # --max-body-bytes defaults to 64 MiB
    assert_refused(form_edit(http, {"image": ("huge.png", huge, "image/png")}), 413, code="request_too_large")
    body = b'{"prompt": "' + b"a" * len(huge) + b'"}'
    assert_refused(post_json_text(http, GENERATIONS, body), 413, code="request_too_large")


def test_16_images_work(http: httpx2.Client) -> None:
    files = [("image[]", (f"{i}.png", PNG, "image/png")) for i in range(16)]
    assert form_edit(http, files, **GPT).status_code == 200


# --- the harness's own input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"fault": "rate_limit", "retry_after": 1e306}',
        b'{"fault": "rate_limit", "retry_after": Infinity}',
        b'{"fault": "rate_limit", "retry_after": NaN}',
        b'{"fault": "timeout", "hold_seconds": 1e300}',
        b'{"fault": "timeout", "hold_seconds": "5"}',
        b'{"fault": "rate_limit", "should_retry": "false"}',
        b'{"fault": "rate_limit", "match": false}',
        b'{"fault": "rate_limit", "match": {"model": 5}}',
        b'{"fault": "rate_limit", "times": 1.5}',
    ],
)
def test_fault_rules_out_of_range_or_of_the_wrong_type_are_a_400(http: httpx2.Client, body: bytes) -> None:
    assert_refused(post_json_text(http, "/__emulator/faults", body))
    assert http.get("/__emulator/faults", params={"session": SESSION}).json()["data"] == []


@pytest.mark.parametrize(
    "header", ["rate_limit; retry_after=1e400", "rate_limit; retry_after=inf", "timeout; hold_seconds=1e9"]
)
def test_fault_headers_out_of_range_are_a_400(http: httpx2.Client, header: str) -> None:
    response = http.post(GENERATIONS, json={**DALLE2, "prompt": "a"}, headers={"X-Emulator-Fault": header})
    assert_refused(response)


def test_fault_rules_take_null_match_keys_and_integral_times(http: httpx2.Client) -> None:
    body = {"fault": "overloaded", "times": 2.0, "match": {"model": None, "prompt_contains": "zebra"}}
    rule = http.post("/__emulator/faults", json=body, params={"session": SESSION}).json()
    assert (rule["times"], rule["match"]) == (2, {"prompt_contains": "zebra"})
    http.delete("/__emulator/faults", params={"session": SESSION})


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", GENERATIONS, "POST"),
        ("PUT", "/__emulator/requests", "DELETE, GET"),
        ("PATCH", "/__emulator/faults", "DELETE, GET, POST"),
        ("POST", "/health", "GET, HEAD"),
    ],
)
def test_wrong_methods_get_a_405_envelope_listing_every_allowed_method(
    http: httpx2.Client, method: str, path: str, allowed: str
) -> None:
    response = http.request(method, path)
    assert_refused(response, 405)
    assert response.headers["allow"] == allowed


# --- raw sockets: clients that stall, drip or disconnect ---------------------------------------------------------


def connect(server: EmulatorProcess, timeout: float = TIMEOUT) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=timeout)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a socket timeout fails the test)."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:  # closed while bytes we sent were still unread: what came before counts
        pass
    return b"".join(chunks)


def eventually(condition: Any, timeout: float = TIMEOUT) -> Any:
    """Poll `condition()` until it returns something truthy (failing after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return result


def status_and_error(raw: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)["error"]


def request_head(path: str = GENERATIONS, *, length: int = 100, content_type: str = "application/json") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_KEY}\r\n"
        f"X-Emulator-Session: {SESSION}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


@pytest.fixture(scope="module")
def impatient_server() -> Iterator[EmulatorProcess]:
    """A server that gives clients 1 s for their headers and 1 s for their body."""
    args = ("--header-timeout-seconds", "1", "--body-timeout-seconds", "1")
    with EmulatorProcess(env={"EMULATOR_URL_SECRET": "test-secret"}, args=args) as process:
        yield process


def test_a_stalled_body_gets_a_408_and_the_connection_is_closed(impatient_server: EmulatorProcess) -> None:
    with connect(impatient_server) as sock:
        sock.sendall(request_head() + b'{"prompt": "a ')
        status, error = status_and_error(read_until_closed(sock))
    assert status == 408 and error["code"] == "request_timeout"


def test_a_stalled_multipart_body_gets_a_408(impatient_server: EmulatorProcess) -> None:
    part = b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
    with connect(impatient_server) as sock:
        sock.sendall(
            request_head(EDITS, length=10_000, content_type="multipart/form-data; boundary=b") + part + PNG[:50]
        )
        status, error = status_and_error(read_until_closed(sock))
    assert status == 408 and error["code"] == "request_timeout"


def test_a_body_dripped_byte_by_byte_gets_a_408(impatient_server: EmulatorProcess) -> None:
    """The deadline is for the whole body, so a client that keeps sending, slowly, is cut off too."""
    with connect(impatient_server) as sock:
        sock.sendall(request_head(length=10_000))
        answer = b""
        while not answer:
            try:
                sock.sendall(b" ")
            except OSError:  # closed by the server: its 408 is waiting to be read
                break
            sock.settimeout(0.2)
            try:
                answer = sock.recv(65536)
            except TimeoutError:
                continue
        sock.settimeout(TIMEOUT)
        raw = answer + read_until_closed(sock)
    assert status_and_error(raw)[0] == 408


def test_headers_dripped_byte_by_byte_get_a_408_and_a_close(impatient_server: EmulatorProcess) -> None:
    head = request_head()
    with connect(impatient_server) as sock:
        sent = 0
        sock.settimeout(0.2)
        while True:  # one byte per 0.2 s: the whole head would take 40 s
            try:
                sock.sendall(head[sent : sent + 1])
                sent += 1
                raw = sock.recv(65536)
                break
            except TimeoutError:
                continue
            except OSError:
                raw = b""
                break
        sock.settimeout(TIMEOUT)
        raw += read_until_closed(sock)
    assert sent < len(head)
    status, error = status_and_error(raw)
    assert status == 408 and error["code"] == "request_timeout"


def test_a_head_stalled_after_a_first_answer_on_the_same_connection_gets_a_408(
    impatient_server: EmulatorProcess,
) -> None:
    """The deadline is armed again when the next head begins on a kept-alive connection."""
    with connect(impatient_server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        sock.sendall(request_head()[:20])  # then nothing: the head never ends
        started = time.monotonic()
        status, error = status_and_error(read_until_closed(sock))
    assert status == 408 and error["code"] == "request_timeout"
    assert time.monotonic() - started < 4  # the 1 s deadline, not uvicorn's 5 s keep-alive


def generation_request(body: dict[str, Any], *, cut: int = 0) -> bytes:
    """A whole generation request on the wire, less its last `cut` bytes."""
    data = json.dumps(body).encode()
    raw = request_head(length=len(data)) + data
    return raw[: len(raw) - cut]


STREAMED = {"model": "gpt-image-1", "prompt": "a fox", "size": "1024x1024", "quality": "low",
            "stream": True, "partial_images": 1}  # fmt: skip
LAST_CHUNK = b"0\r\n\r\n"


def test_a_head_stalled_after_a_streamed_answer_gets_a_408(impatient_server: EmulatorProcess) -> None:
    """After a stream, as after any answer, the next head on the connection has its deadline."""
    with connect(impatient_server) as sock:
        sock.sendall(generation_request(STREAMED))
        stream = b""
        while not stream.endswith(LAST_CHUNK) and (chunk := sock.recv(65536)):
            stream += chunk
        assert stream.startswith(b"HTTP/1.1 200") and b"image_generation.completed" in stream
        sock.sendall(b"GET /health HTTP/1.1\r\nHost")  # then nothing
        status, error = status_and_error(read_until_closed(sock))
    assert status == 408 and error["code"] == "request_timeout"


def test_a_body_stalled_behind_a_pipelined_stream_gets_a_408(impatient_server: EmulatorProcess) -> None:
    with connect(impatient_server) as sock:
        sock.sendall(generation_request(STREAMED) + generation_request({"prompt": "a cat " * 20}, cut=60))
        raw = read_until_closed(sock)
    stream, _, second = raw.partition(LAST_CHUNK)
    assert stream.startswith(b"HTTP/1.1 200") and b"image_generation.completed" in stream
    status, error = status_and_error(second)
    assert status == 408 and error["code"] == "request_timeout"


def test_an_answer_to_a_client_waiting_for_100_continue_comes_whole_and_closes(
    impatient_server: EmulatorProcess,
) -> None:
    """A client that sent `Expect: 100-continue` sends its body only once told to: an answer given before
    (here a 401) is not held back waiting for that body, and the connection closes after it."""
    head = (
        f"POST {EDITS} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 2000000\r\n\r\n"
    ).encode()
    with connect(impatient_server) as sock:
        sock.sendall(head)
        raw = read_until_closed(sock)
    head_out, _, _ = raw.partition(b"\r\n\r\n")
    assert b"100 Continue" not in raw and b"connection: close" in head_out.lower()
    status, error = status_and_error(raw)
    assert status == 401 and error["message"].startswith("You didn't provide an API key")


def test_a_408_for_a_stalled_body_comes_whole(impatient_server: EmulatorProcess) -> None:
    """Its head and body leave together at the deadline: the body is not held for a second deadline."""
    with connect(impatient_server) as sock:
        sock.sendall(request_head() + b'{"prompt": "a ')
        first = sock.recv(65536)
        head_at = time.monotonic()
        raw = first + read_until_closed(sock)
        whole_at = time.monotonic()
    status, error = status_and_error(raw)
    assert status == 408 and error["code"] == "request_timeout"
    assert whole_at - head_at < 0.5, "the body came a deadline (1 s) after the head"


def test_a_pipelined_head_whose_end_comes_after_the_first_answer_is_read_whole(
    impatient_server: EmulatorProcess,
) -> None:
    """Request 2's head arrives with request 1, all but its last 2 bytes; they come after request 1's answer,
    with a 24 KB body. Request 2 is answered (its body is not taken for a head over 16 KiB)."""
    first = generation_request({**GPT, "prompt": "a fox"})
    second = generation_request({**GPT, "prompt": "a fox " * 4000})
    end = second.index(b"\r\n\r\n") + 4
    with connect(impatient_server) as sock:
        sock.sendall(first + second[: end - 2])
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := sock.recv(65536)):
            answer += chunk
        length = int(answer.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(answer.partition(b"\r\n\r\n")[2]) < length and (chunk := sock.recv(65536)):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
        sock.sendall(second[end - 2 :])
        again = b""
        while b"\r\n\r\n" not in again and (chunk := sock.recv(65536)):
            again += chunk
    assert again.startswith(b"HTTP/1.1 200"), again[:300]


def test_a_head_probe_of_health_gets_the_headers_of_its_get(impatient_server: EmulatorProcess) -> None:
    """RFC 9110: a HEAD answer's `content-length` is the one GET's would have; no body follows it."""
    with connect(impatient_server) as sock:
        sock.sendall(
            b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        raw = read_until_closed(sock)
    head_answer, _, rest = raw.partition(b"\r\n\r\n")
    get_head, _, get_body = rest.partition(b"\r\n\r\n")
    assert head_answer.startswith(b"HTTP/1.1 200") and get_head.startswith(b"HTTP/1.1 200"), "no body between them"
    assert f"content-length: {len(get_body)}".encode() in head_answer.lower()


def test_a_connection_that_sends_nothing_is_closed(impatient_server: EmulatorProcess) -> None:
    with connect(impatient_server) as sock:
        assert read_until_closed(sock) == b""


def test_a_client_that_leaves_mid_body_is_recorded_as_a_400(impatient_server: EmulatorProcess) -> None:
    with connect(impatient_server) as sock:
        sock.sendall(request_head(length=1000) + b'{"prompt": "a')
        sock.shutdown(socket.SHUT_WR)
        read_until_closed(sock)
    with httpx2.Client(base_url=impatient_server.base_url, timeout=TIMEOUT) as client:

        def finished() -> list[int] | None:  # once the server is done with the abandoned request
            statuses = [e["status"] for e in client.get("/__emulator/requests").json()["data"]]
            return None if None in statuses else statuses

        assert eventually(finished)[-1] == 400


def test_a_malformed_request_line_gets_a_400_envelope(impatient_server: EmulatorProcess) -> None:
    with connect(impatient_server) as sock:
        sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        raw = read_until_closed(sock)
    status, error = status_and_error(raw)
    assert status == 400 and set(error) >= {"message", "type", "param", "code"}
    assert b'\r\n\r\n{"error":{"message":' in raw, "compact JSON, as every other answer"


def test_headers_growing_past_16_kib_get_a_400_envelope(impatient_server: EmulatorProcess) -> None:
    """An unfinished head larger than 16 KiB is refused at once (it is not buffered until the deadline)."""
    with connect(impatient_server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000)
        status, error = status_and_error(read_until_closed(sock))
    assert status == 400 and set(error) >= {"message", "type", "param", "code"}


def test_the_server_keeps_serving_while_clients_stall(server: EmulatorProcess, http: httpx2.Client) -> None:
    """40 connections stalled in their headers or their body (default deadlines: 10 s and 60 s, so they are
    all still open): other clients are answered meanwhile."""
    with ExitStack() as stack:
        stalled = [stack.enter_context(connect(server)) for _ in range(40)]
        for i, sock in enumerate(stalled):
            sock.sendall(request_head()[:30] if i % 2 else request_head() + b'{"prompt"')
        assert http.get("/health").status_code == 200
        assert http.post(GENERATIONS, json={**GPT, "prompt": "served while others stall"}).status_code == 200
        assert (
            http.post(EDITS, data={"prompt": "a", **GPT}, files={"image": ("a.png", PNG, "image/png")}).status_code
            == 200
        )
        for sock in stalled:
            sock.settimeout(0.05)
            with pytest.raises(TimeoutError):
                sock.recv(1)  # still open, still unanswered


# --- after the battery ------------------------------------------------------------------------------------------


def test_after_the_battery_the_server_still_serves_and_answered_no_5xx(
    server: EmulatorProcess, impatient_server: EmulatorProcess, http: httpx2.Client
) -> None:
    for process in (server, impatient_server):
        assert process.process is not None and process.process.poll() is None
        with httpx2.Client(base_url=process.base_url, headers=HEADERS, timeout=TIMEOUT) as client:
            assert client.get("/health").json()["status"] == "ok"
            response = client.post(GENERATIONS, json={**GPT, "prompt": "still here"})
            assert response.status_code == 200 and response.json()["data"][0]["b64_json"]

    def settled() -> list[dict[str, Any]] | None:  # the stalled clients' requests finish once they left
        entries = http.get("/__emulator/requests", params={"session": SESSION}).json()["data"]
        return None if any(e["status"] is None for e in entries) else entries

    journal = eventually(settled)
    assert len(journal) > 100
    assert [e for e in journal if e["status"] is None or e["status"] >= 500] == []
