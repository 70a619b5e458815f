"""The API as of a date: which models are served, the default model, retired endpoints and today's wording."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import TODAY, assert_error, png
from pydantic import ValidationError

from images_emulator.contract.catalog import CATALOG_DATE, MODELS, catalog_as_of
from images_emulator.server.app import create_app
from images_emulator.server.settings import Settings

AUTH = {"Authorization": "Bearer sk-test"}
GENERATIONS = "/v1/images/generations"
USER_ERROR = "image_generation_user_error"


def client(api_date: str, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(api_date=api_date, url_secret="s", **settings)), headers=AUTH)


@pytest.fixture(scope="module")
def today() -> Any:
    with client(TODAY) as api:
        yield api


# --- the date setting ---------------------------------------------------------------------------------


def test_the_default_api_date_is_the_catalog_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMULATOR_API_DATE")
    assert Settings().api_date == CATALOG_DATE.isoformat() == TODAY


def test_today_follows_the_clock() -> None:
    assert Settings(api_date="today").fixed_api_date is None
    with client("today") as api:
        day = datetime.now(UTC).date()
        assert api.app.state.runtime.catalog().day == day  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["2026-13-01", "yesterday", "2026/05/01", "20260501", ""])
def test_a_bad_api_date_stops_the_server_at_start_with_a_clear_message(value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "images_emulator", "--api-date", value], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "api_date" in result.stderr and "api-date must be 'today' or a date YYYY-MM-DD" in result.stderr


def test_a_date_before_the_first_model_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match=r"api-date 1999-01-01 is before the Images API's first model \(dall-e-2"):
        Settings(api_date="1999-01-01")
    assert Settings(api_date="2022-11-03").fixed_api_date == date(2022, 11, 3)


# --- models live and retire by date --------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_a_model_is_served_from_its_release_until_the_day_before_its_shutdown(name: str) -> None:
    spec = MODELS[name]
    assert catalog_as_of(spec.released).model(name) is not None
    assert catalog_as_of(date.fromordinal(spec.released.toordinal() - 1)).model(name) is None
    if spec.shutdown is not None:
        assert catalog_as_of(date.fromordinal(spec.shutdown.toordinal() - 1)).model(name) is not None
        assert catalog_as_of(spec.shutdown).model(name) is None
        assert name in catalog_as_of(spec.shutdown).retired()


def test_todays_models_are_the_sdks_and_the_retired_ones_are_gone() -> None:
    served = set(catalog_as_of(date.fromisoformat(TODAY)).models)
    assert {"gpt-image-2.5-sunburst", "gpt-image-2.5-flare-2026-09-08", "gpt-image-2.6-flare"} <= served
    assert {"chatgpt-image-latest", "gpt-image-1.5", "gpt-image-1-mini"} <= served
    assert not {"dall-e-2", "dall-e-3", "gpt-image-1"} & served
    after = set(catalog_as_of(date(2026, 12, 1)).models)
    assert not {"gpt-image-1.5", "gpt-image-1-mini", "chatgpt-image-latest"} & after


@pytest.mark.parametrize("model", ["dall-e-3", "dall-e-2", "gpt-image-1", "gpt-image-7", ""])
def test_a_retired_or_unknown_model_is_todays_400_does_not_exist(today: TestClient, model: str) -> None:
    assert_error(
        today.post(GENERATIONS, json={"model": model, "prompt": "a fox"}),
        400,
        message=f"The model '{model}' does not exist.",
        type=USER_ERROR,
        param="model",
        code="invalid_value",
    )


def test_a_model_is_refused_on_its_shutdown_day() -> None:
    body = {"model": "gpt-image-1.5", "prompt": "a fox", "quality": "low", "size": "1024x1024"}
    with client("2026-11-30") as api:
        assert api.post(GENERATIONS, json=body).status_code == 200
    with client("2026-12-01") as api:
        error = api.post(GENERATIONS, json=body).json()["error"]
    assert error["message"] == "The model 'gpt-image-1.5' does not exist."


def test_before_2026_05_12_an_unknown_model_is_the_old_404() -> None:
    with client("2026-05-11") as api:
        response = api.post(GENERATIONS, json={"model": "gpt-image-2.5-sunburst", "prompt": "a fox"})
    assert_error(
        response,
        404,
        message="The model `gpt-image-2.5-sunburst` does not exist or you do not have access to it.",
        param=None,
        code="model_not_found",
    )


@pytest.mark.parametrize("path", [GENERATIONS, "/v1/images/edits"])
def test_today_the_model_is_required(today: TestClient, path: str) -> None:
    if path == GENERATIONS:
        response = today.post(path, json={"prompt": "a fox"})
    else:
        response = today.post(path, data={"prompt": "a fox"}, files={"image": ("a.png", png(), "image/png")})
    assert_error(
        response, 400, message="Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
    )


def test_until_2026_05_11_a_model_less_generation_is_dall_e_2() -> None:
    with client("2026-05-11") as api:
        response = api.post(GENERATIONS, json={"prompt": "a fox"})
    assert response.status_code == 200
    assert "url" in response.json()["data"][0] and "usage" not in response.json()


@pytest.mark.parametrize(
    ("api_date", "fields", "model"),
    [
        ("2025-05-01", {}, "dall-e-2"),
        ("2025-05-01", {"output_format": "webp"}, "gpt-image-1"),
        ("2025-05-01", {"input_fidelity": "high"}, "gpt-image-1"),
        ("2025-05-01", {"stream": "false"}, "dall-e-2"),
        ("2025-12-16", {"output_format": "webp"}, "gpt-image-1.5"),
        ("2026-05-11", {}, "gpt-image-1.5"),
    ],
)
def test_a_model_less_edit_is_dall_e_2_unless_a_gpt_only_parameter_is_set(
    api_date: str, fields: dict[str, str], model: str
) -> None:
    files = {"image": ("a.png", png(), "image/png")}
    with client(api_date) as api:
        model_less = api.post("/v1/images/edits", files=files, data={"prompt": "a hat", **fields})
        named = api.post("/v1/images/edits", files=files, data={"prompt": "a hat", **fields, "model": model})
    assert model_less.status_code == named.status_code == 200, model_less.text
    if model == "dall-e-2":
        assert "usage" not in model_less.json() and "url" in model_less.json()["data"][0]
    else:  # the same picture (it shows the model) and the same usage
        assert model_less.json()["data"] == named.json()["data"]
        assert model_less.json()["usage"] == named.json()["usage"]


def test_variations_are_a_404_from_2026_05_12(today: TestClient) -> None:
    files = {"image": ("a.png", png(), "image/png")}
    assert_error(
        today.post("/v1/images/variations", files=files, data={"model": "dall-e-2"}),
        404,
        message="Invalid URL (POST /v1/images/variations)",
        param=None,
        code=None,
    )
    with client("2026-05-11") as api:
        response = api.post("/v1/images/variations", files=files, data={"response_format": "b64_json"})
    assert response.status_code == 200, response.text


def test_the_openapi_document_follows_the_date(today: TestClient) -> None:
    document = today.get("/openapi.json").json()
    create = document["components"]["schemas"]["CreateImageRequest"]
    assert "model" in create["required"]
    assert "gpt-image-2.5-sunburst" in str(create["properties"]["model"])
    assert "dall-e-3" not in str(create["properties"]["model"])
    variations = document["paths"]["/v1/images/variations"]["post"]
    assert variations["deprecated"] is True and "404" in variations["responses"]


# --- today's wording ------------------------------------------------------------------------------------

STANDARD = "Supported sizes are 1024x1024, 1024x1536, 1536x1024, and auto."
SIZE_CASES = [
    ("gpt-image-1.5", "123x456", f"Invalid size '123x456'. {STANDARD}"),
    ("gpt-image-2.6-sunburst", "2048x2048", f"Invalid size '2048x2048'. {STANDARD}"),
    ("gpt-image-2", "1792x936", "Invalid size '1792x936'. Width and height must both be divisible by 16."),
    ("gpt-image-2.5-sunburst", "4096x1024", "The longest edge must be less than or equal to 3840."),
    ("gpt-image-2.5-flare", "512x512", "Requested resolution is below the current minimum pixel budget."),
    ("gpt-image-2", "2560x3840", "Invalid size '2560x3840'. Requested resolution exceeds the current pixel budget."),
    ("gpt-image-2", "bogus", "Expected WIDTHxHEIGHT, for example '1824x1024'."),
    ("gpt-image-2", "0x0", "Expected WIDTHxHEIGHT, for example '1824x1024'."),
    ("gpt-image-2", "3840x1152", "Invalid size '3840x1152'. The aspect ratio must be between 1:3 and 3:1."),
]  # fmt: skip


@pytest.mark.parametrize(("model", "size", "message"), SIZE_CASES)
def test_size_errors_have_todays_type_param_code_and_message(
    today: TestClient, model: str, size: str, message: str
) -> None:
    response = today.post(GENERATIONS, json={"model": model, "prompt": "a fox", "size": size})
    assert_error(response, 400, message=message, type=USER_ERROR, param="size", code="invalid_value")


def test_edits_use_todays_size_wording_too(today: TestClient) -> None:
    response = today.post(
        "/v1/images/edits",
        data={"model": "gpt-image-1.5", "prompt": "a fox", "size": "512x512"},
        files={"image": ("a.png", png(), "image/png")},
    )
    assert_error(
        response,
        400,
        message="Invalid size '512x512'. Supported sizes are 1024x1024, 1024x1536, 1536x1024, and auto.",
        type=USER_ERROR,
        param="size",
        code="invalid_value",
    )


def test_response_format_null_on_a_gpt_model_is_unknown_today_and_omitted_before() -> None:
    body = {"model": "gpt-image-1.5", "prompt": "a fox", "quality": "low", "response_format": None}
    with client(TODAY) as api:
        assert_error(
            api.post(GENERATIONS, json=body),
            400,
            message="Unknown parameter: 'response_format'.",
            param="response_format",
            code="unknown_parameter",
        )
        other_nulls = {"model": "gpt-image-1.5", "prompt": "a fox", "quality": "low", "style": None, "size": None}
        assert api.post(GENERATIONS, json=other_nulls).status_code == 200  # other nulls still mean omitted
    with client("2026-05-11") as api:
        assert api.post(GENERATIONS, json=body).status_code == 200


@pytest.mark.parametrize("api_date", ["2026-05-01", "2026-05-11"])
@pytest.mark.parametrize("quality", ["standard", "auto", "hd"])
def test_dall_e_2_refuses_any_quality_at_every_date(api_date: str, quality: str) -> None:
    with client(api_date) as api:
        generation = api.post(GENERATIONS, json={"model": "dall-e-2", "prompt": "a fox", "quality": quality})
        edit = api.post(
            "/v1/images/edits",
            data={"model": "dall-e-2", "prompt": "a fox", "quality": quality},
            files={"image": ("a.png", png(), "image/png")},
        )
    for response in (generation, edit):
        assert_error(
            response, 400, message="Unknown parameter: 'quality'.", param="quality", code="unknown_parameter"
        )


def test_gpt_image_2_takes_transparent_backgrounds_from_2026_08_25() -> None:
    body = {"model": "gpt-image-2", "prompt": "a logo", "quality": "low", "background": "transparent"}
    with client("2026-08-24") as api:
        response = api.post(GENERATIONS, json=body)
    assert response.status_code == 400
    message = "Invalid value: 'transparent'. Supported values are: 'opaque' and 'auto'."
    assert response.json()["error"]["message"] == message
    with client("2026-08-25") as api:
        response = api.post(GENERATIONS, json=body)
    assert response.status_code == 200 and response.json()["background"] == "transparent"


# --- the new models ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-image-2.5-sunburst", "gpt-image-2.5-flare-2026-09-08"])
def test_the_2_5_models_take_open_sizes_xhigh_max_and_transparency(today: TestClient, model: str) -> None:
    tokens = {}
    for quality in ("high", "xhigh", "max"):
        body = {"model": model, "prompt": "a sticker", "size": "1536x864", "quality": quality}
        body["background"] = "transparent"
        response = today.post(GENERATIONS, json=body)
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["quality"], result["size"], result["background"]) == (quality, "1536x864", "transparent")
        tokens[quality] = result["usage"]["output_tokens"]
    assert tokens["high"] < tokens["xhigh"] < tokens["max"]


@pytest.mark.parametrize("model", ["gpt-image-2.6-sunburst", "gpt-image-1.5", "chatgpt-image-latest"])
def test_models_without_xhigh_list_what_they_take(today: TestClient, model: str) -> None:
    assert_error(
        today.post(GENERATIONS, json={"model": model, "prompt": "a fox", "quality": "xhigh"}),
        400,
        message="Invalid value: 'xhigh'. Supported values are: 'low', 'medium', 'high', and 'auto'.",
        param="quality",
        code="invalid_value",
    )


def test_chatgpt_image_latest_follows_gpt_image_1_5s_rules(today: TestClient) -> None:
    body = {"model": "chatgpt-image-latest", "prompt": "a fox", "quality": "low", "size": "1536x1024"}
    response = today.post(GENERATIONS, json=body)
    assert response.status_code == 200
    reference = today.post(GENERATIONS, json={**body, "model": "gpt-image-1.5"}).json()
    assert response.json()["usage"] == reference["usage"]
