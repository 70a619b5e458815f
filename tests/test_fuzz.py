"""Schemathesis against our own /openapi.json, in process (ASGI), with a fixed seed and a bounded budget.

Every operation (the three image endpoints, the signed-URL images, the admin API, /health) is fuzzed
with schema-valid and schema-violating requests, plus schemathesis's coverage cases (boundaries,
missing parts, unexpected methods). Checks:

- no 5xx, and no status the document does not list for the operation (`not_a_server_error`,
  `status_code_conformance`); every error is OpenAI's envelope with its four keys (`openai_error_envelope`);
- bodies match the documented shapes and media types (JSON, each SSE event, images); undocumented
  methods get 405 with an `Allow` header listing the documented ones;
- schema-violating requests are refused with a 4xx (`negative_data_rejection`);
- `/v1` refuses a missing or wrong API key (`ignored_auth`; the app runs with `--api-key`).

Deliberately off for the image endpoints: `positive_data_acceptance` (a schema-valid request may get a
400). The document, like OpenAI's own, cannot say which model takes which size, `n` or parameter, nor
the cross-field rules (transparent jpeg, png compression, dall-e-2's square RGBA input); the emulator
answers those 400s because the real API does. It stays on for the admin API, whose rules the schema
states fully.

Random bytes are never an image, so 2 in 3 schema-valid edits and variations get a real PNG (data URL
for JSON edits), and 1 in 2 image fetches a real signed token: the decode, render, stream and
URL-serving paths are fuzzed too, not only validation.

Budget: EMULATOR_FUZZ_EXAMPLES (default 25) examples per operation in the fuzzing phase; the seed
(EMULATOR_FUZZ_SEED) is fixed and generation deterministic, so a failure reproduces run after run.
A longer hunt: `EMULATOR_FUZZ_EXAMPLES=400 EMULATOR_FUZZ_SEED=7 python -m pytest tests/test_fuzz.py`.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from helpers import data_url, encode
from PIL import Image
from schemathesis.config import SchemathesisConfig

from images_emulator.imaging.render import RenderSpec
from images_emulator.server.app import create_app
from images_emulator.server.settings import Settings

FUZZ_KEY = "sk-fuzz-emulator"
SEED = int(os.environ.get("EMULATOR_FUZZ_SEED", "20250611"))
MAX_EXAMPLES = int(os.environ.get("EMULATOR_FUZZ_EXAMPLES", "25"))
ENVELOPE_KEYS = {"message", "type", "param", "code"}

APP = create_app(Settings(url_secret="fuzz-secret", api_key=FUZZ_KEY, journal_size=50))
CLIENT = TestClient(APP, headers={"Authorization": f"Bearer {FUZZ_KEY}"})  # the harness's admin calls (its key)

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large", "large_base_example"],
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "mode": "all"},
        "auth": {"openapi": {"ApiKeyAuth": {"bearer": FUZZ_KEY}}},
        "phases": {"stateful": {"enabled": False}},
        "operations": [
            {"include-path-regex": "^/v1/", "checks": {"positive_data_acceptance": {"enabled": False}}},
        ],
    }
)

schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)


def _png() -> bytes:
    """A 64x64 RGBA PNG with a transparent half: a valid input for every edit model and for variations
    (kept here: helpers.png() pictures are fully opaque, and the transparent half also makes it a valid markup)."""
    img = Image.new("RGBA", (64, 64), (200, 60, 40, 255))
    img.paste((0, 0, 0, 0), (0, 0, 64, 32))
    return encode(img)


PNG = _png()
DATA_URL = data_url(PNG)
TOKEN = APP.state.runtime.signer.token(
    RenderSpec("dall-e-2", "a fuzzed fox", 256, 256, "standard", "opaque", "png", 100)
)
_turns = itertools.count()


@schemathesis.check
def openai_error_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx body is `{"error": {"message", "type", "param", "code", ...}}`."""
    if response.status_code < 400:
        return None
    document = json.loads(response.content)
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict) or not set(error) >= ENVELOPE_KEYS:
        raise AssertionError(f"{response.status_code} body is not OpenAI's error envelope: {response.content[:300]!r}")
    if not isinstance(error["message"], str) or not isinstance(error["type"], str):
        raise AssertionError(f"error.message and error.type must be strings: {error!r}")
    return True


def feed_real_images(case: Any) -> None:
    """Put a real image (or signed token) into some schema-valid cases (see the module docstring)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    turn = next(_turns)
    if case.path == "/images/{token}" and turn % 2 == 0:
        case.path_parameters = {"token": f"{TOKEN}.png"}
        return
    body = case.body
    if not case.path.startswith("/v1/images/") or not isinstance(body, dict) or turn % 3 == 0:
        return
    if case.media_type == "multipart/form-data":
        for name in ("image", "mask"):
            if isinstance(body.get(name), list):
                body[name] = [PNG] * len(body[name])
            elif body.get(name) is not None:
                body[name] = PNG
    elif isinstance(body.get("images"), list):
        body["images"] = [{"image_url": DATA_URL} for _ in body["images"]]
        if isinstance(body.get("mask"), dict):
            body["mask"] = {"image_url": DATA_URL}


@schema.parametrize()
def test_the_api_honours_its_openapi_document(case: Any) -> None:
    feed_real_images(case)
    try:
        case.call_and_validate()
    finally:  # scheduled faults must not leak into the next example
        assert CLIENT.post("/__emulator/reset").status_code == 200


def test_the_document_describes_every_body_status_and_the_auth() -> None:
    document = APP.openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert "422" not in statuses, (method, path)  # validation problems are answered 400
            if method == "post" and path != "/__emulator/reset":
                assert operation["requestBody"]["content"], (method, path)
            if path.startswith("/v1/"):
                assert operation["security"] == [{"ApiKeyAuth": []}]
                assert {"200", "400", "401", "408", "413", "429", "500", "503"} <= statuses
    edits = document["paths"]["/v1/images/edits"]["post"]["requestBody"]["content"]
    assert set(edits) == {"multipart/form-data", "application/json"}
    assert document["components"]["securitySchemes"]["ApiKeyAuth"] == {"type": "http", "scheme": "bearer"}
