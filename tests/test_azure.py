"""Azure OpenAI's paths, in-process: deployments, credentials, api-versions, Azure's envelopes and shapes,
and the harness (faults, journal, sessions) on them. The real clients: tests/test_azure_sdk.py."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import assert_error, png
from pydantic import ValidationError

from images_emulator.contract.errors import mask_key
from images_emulator.server.settings import Settings

KEY = "azure-key-0123456789"
DEPLOYMENTS = "pics=gpt-image-1,painter=dall-e-3"
VERSION = "2025-04-01-preview"
GENERATIONS = "/openai/deployments/{}/images/generations?api-version=" + VERSION
EDITS = "/openai/deployments/{}/images/edits?api-version=" + VERSION
V1 = "/openai/v1/images/generations"
GPT = {"prompt": "a red fox", "quality": "low"}
BEARER = {"authorization": "Bearer sk-any"}  # for /v1 next to Azure's api-key

ACCESS_DENIED = {
    "error": {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
        "valid key for an active subscription and use a correct regional API endpoint for your resource.",
    }
}
DEPLOYMENT_NOT_FOUND = {
    "error": {
        "code": "DeploymentNotFound",
        "message": "The API deployment for this resource does not exist. If you created the deployment within "
        "the last 5 minutes, please wait a moment and try again.",
    }
}
RESOURCE_NOT_FOUND = {"error": {"code": "404", "message": "Resource not found"}}
VERSION_NOT_SUPPORTED = {"error": {"code": "BadRequest", "message": "API version not supported"}}
SAFE = {"severity": "safe", "filtered": False}


@pytest.fixture
def azure(app_factory: Callable[..., Any]) -> Iterator[TestClient]:
    """In-process, with two configured deployments and Azure's `api-key` header (no --api-key)."""
    with TestClient(app_factory(azure_deployments=DEPLOYMENTS), headers={"api-key": KEY}) as client:
        yield client


@pytest.fixture
def keyed(app_factory: Callable[..., Any]) -> Iterator[TestClient]:
    """With `--api-key KEY`: only that key is accepted."""
    with TestClient(app_factory(api_key=KEY, azure_deployments=DEPLOYMENTS)) as client:
        yield client


# --- deployments ------------------------------------------------------------------------------------------


def test_a_configured_deployment_serves_its_model_whatever_model_the_body_names(azure: TestClient) -> None:
    response = azure.post(GENERATIONS.format("pics"), json={**GPT, "model": "dall-e-2"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["usage"]["output_tokens"] == 272  # gpt-image-1, low, 1024x1024
    assert "content_filter_results" not in body["data"][0]


def test_a_deployment_named_like_a_model_serves_it_without_configuration(azure: TestClient) -> None:
    response = azure.post(GENERATIONS.format("gpt-image-1"), json=GPT)
    assert response.status_code == 200, response.text
    assert response.json()["quality"] == "low"


@pytest.mark.parametrize(
    "path, body",
    [
        pytest.param(GENERATIONS.format("nope"), GPT, id="deployment-path"),
        pytest.param(V1, {**GPT, "model": "nope"}, id="v1-model"),
        pytest.param(GENERATIONS.format("gpt-image-2.6-flare"), GPT, id="model-not-served-on-the-api-date"),
    ],
)
def test_an_unknown_deployment_gets_deployment_not_found(azure: TestClient, path: str, body: Any) -> None:
    response = azure.post(path, json=body)
    assert (response.status_code, response.json()) == (404, DEPLOYMENT_NOT_FOUND)


def test_the_same_bytes_on_other_deployments_are_other_jobs(azure: TestClient) -> None:
    raw = b'{"prompt": "a red fox"}'
    headers = {"content-type": "application/json"}
    plain = azure.post("/v1/images/generations", content=raw, headers={**headers, "authorization": "Bearer k"})
    on_pics = azure.post(GENERATIONS.format("pics"), content=raw, headers=headers)
    on_painter = azure.post(GENERATIONS.format("painter"), content=raw, headers=headers)
    assert [r.status_code for r in (plain, on_pics, on_painter)] == [200, 200, 200]
    assert "usage" not in plain.json() and "revised_prompt" not in plain.json()["data"][0]  # dall-e-2
    assert "usage" in on_pics.json()  # gpt-image-1
    assert "revised_prompt" in on_painter.json()["data"][0]  # dall-e-3


def test_the_v1_api_takes_the_deployment_as_model(azure: TestClient) -> None:
    for path in (V1, V1 + "?api-version=preview"):
        response = azure.post(path, json={**GPT, "model": "pics"})
        assert response.status_code == 200, response.text
        assert response.json()["usage"]["output_tokens"] == 272


def test_the_v1_api_without_model_is_refused_like_a_missing_parameter(azure: TestClient) -> None:
    assert_error(
        azure.post(V1, json=GPT),
        400,
        message="Missing required parameter: 'model'.",
        param="model",
        code="missing_required_parameter",
    )


def test_validation_on_azure_paths_is_the_v1_validation(azure: TestClient) -> None:
    bad = {**GPT, "size": "1x1"}
    on_v1 = azure.post(
        "/v1/images/generations", json={**bad, "model": "gpt-image-1"}, headers={"authorization": "Bearer k"}
    )
    on_azure = azure.post(GENERATIONS.format("gpt-image-1"), json=bad)
    assert on_v1.status_code == on_azure.status_code == 400
    assert on_azure.json() == on_v1.json()


def test_unknown_deployments_setting_is_refused() -> None:
    for value in ("pics", "pics=no-such-model", "=gpt-image-1"):
        with pytest.raises(ValidationError, match="azure-deployments"):
            Settings(azure_deployments=value)


# --- credentials ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="none"),
        pytest.param({"authorization": "Basic abc"}, id="not-bearer"),
        pytest.param({"api-key": ""}, id="empty-api-key"),
    ],
)
def test_missing_credentials_get_azures_401(app_factory: Callable[..., Any], headers: dict[str, str]) -> None:
    with TestClient(app_factory()) as client:
        response = client.post(GENERATIONS.format("gpt-image-1"), json=GPT, headers=headers)
    assert (response.status_code, response.json()) == (401, ACCESS_DENIED)


def test_any_api_key_or_entra_token_is_accepted_without_api_key_setting(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory()) as client:
        for headers in ({"api-key": "anything"}, {"authorization": "Bearer eyJ0eXAi.entra.token"}):
            assert client.post(GENERATIONS.format("gpt-image-1"), json=GPT, headers=headers).status_code == 200


@pytest.mark.parametrize(
    "headers, status",
    [
        pytest.param({"api-key": KEY}, 200, id="api-key"),
        pytest.param({"authorization": f"Bearer {KEY}"}, 200, id="bearer"),
        pytest.param({"api-key": "wrong"}, 401, id="wrong-api-key"),
        pytest.param({"authorization": "Bearer wrong"}, 401, id="wrong-bearer"),
    ],
)
def test_with_api_key_setting_only_that_key_is_accepted(
    keyed: TestClient, headers: dict[str, str], status: int
) -> None:
    response = keyed.post(GENERATIONS.format("pics"), json=GPT, headers=headers)
    assert response.status_code == status, response.text
    if status == 401:
        assert response.json() == ACCESS_DENIED


def test_the_azure_key_does_not_open_v1_and_v1_keeps_openais_401(keyed: TestClient) -> None:
    response = keyed.post("/v1/images/generations", json={**GPT, "model": "gpt-image-1"}, headers={"api-key": KEY})
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("You didn't provide an API key.")


# --- api-versions and paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, status, body",
    [
        pytest.param("/openai/deployments/pics/images/generations", 404, RESOURCE_NOT_FOUND, id="missing"),
        pytest.param(
            "/openai/deployments/pics/images/generations?api-version=2030-01-01",
            400,
            VERSION_NOT_SUPPORTED,
            id="unknown",
        ),
        pytest.param(
            "/openai/deployments/pics/images/edits?api-version=2024-10-21", 404, RESOURCE_NOT_FOUND, id="edits-too-old"
        ),
        pytest.param(V1 + "?api-version=2025-04-01-preview", 400, VERSION_NOT_SUPPORTED, id="v1-dated"),
        pytest.param(
            "/openai/deployments/pics/chat/completions?api-version=2024-10-21",
            404,
            RESOURCE_NOT_FOUND,
            id="no-such-path",
        ),
        pytest.param("/openai/images/generations?api-version=2024-10-21", 404, RESOURCE_NOT_FOUND, id="no-deployment"),
    ],
)
def test_azures_answers_for_api_versions_and_paths(azure: TestClient, path: str, status: int, body: Any) -> None:
    response = azure.post(path, json={**GPT, "model": "pics"})
    assert (response.status_code, response.json()) == (status, body)


@pytest.mark.parametrize("version", ["2023-12-01-preview", "2024-02-01", "2024-10-21", "2025-04-01-preview"])
def test_generations_are_served_on_every_images_api_version(azure: TestClient, version: str) -> None:
    response = azure.post(f"/openai/deployments/pics/images/generations?api-version={version}", json=GPT)
    assert response.status_code == 200, response.text


def test_a_get_on_an_image_path_is_resource_not_found(azure: TestClient) -> None:
    response = azure.get(GENERATIONS.format("pics"))
    assert (response.status_code, response.json()) == (404, RESOURCE_NOT_FOUND)


# --- Azure's shapes ---------------------------------------------------------------------------------------


def test_dall_e_3_answers_carry_azures_filter_results(azure: TestClient) -> None:
    body = {"prompt": "a lighthouse", "response_format": "b64_json"}
    [item] = azure.post(GENERATIONS.format("painter"), json=body).json()["data"]
    assert list(item) == ["revised_prompt", "prompt_filter_results", "b64_json", "content_filter_results"]
    assert item["content_filter_results"] == {"sexual": SAFE, "violence": SAFE, "hate": SAFE, "self_harm": SAFE}
    assert item["prompt_filter_results"] == {
        **item["content_filter_results"],
        "profanity": {"detected": False, "filtered": False},
        "custom_blocklists": {"filtered": False, "details": []},
    }
    [url_item] = azure.post(GENERATIONS.format("painter"), json={"prompt": "a lighthouse"}).json()["data"]
    assert list(url_item) == ["revised_prompt", "prompt_filter_results", "url", "content_filter_results"]


def test_the_same_dall_e_3_request_on_v1_has_no_filter_results(azure: TestClient) -> None:
    body = {"model": "dall-e-3", "prompt": "a lighthouse", "response_format": "b64_json"}
    response = azure.post("/v1/images/generations", json=body, headers={"authorization": "Bearer k"})
    azure_body = azure.post(GENERATIONS.format("dall-e-3"), json=body).json()
    [item] = response.json()["data"]
    assert "content_filter_results" not in item
    assert item["b64_json"] == azure_body["data"][0]["b64_json"]  # the same image


def test_the_content_policy_fault_answers_azures_400(azure: TestClient) -> None:
    for deployment in ("painter", "pics"):
        body = {"prompt": "a red fox"}
        response = azure.post(GENERATIONS.format(deployment), json=body, headers={"x-emulator-fault": "content_policy"})
        assert response.status_code == 400
        error = response.json()["error"]
        assert set(error) == {"code", "message", "type", "inner_error"}
        assert (error["code"], error["type"]) == ("content_policy_violation", "invalid_request_error")
        assert error["message"].startswith("Your request was rejected as a result of our safety system.")
        inner = error["inner_error"]
        assert inner["code"] == "ResponsibleAIPolicyViolation"
        assert inner["content_filter_results"]["violence"] == {"filtered": True, "severity": "high"}
        assert inner["content_filter_results"]["jailbreak"] == {"detected": False, "filtered": False}


AZURE_RATE_LIMIT = (
    "Requests to the {} Operation under Azure OpenAI API version {} have exceeded call rate limit of your current "
    "OpenAI S0 pricing tier. Please retry after {}. Please go here: https://aka.ms/oai/quotaincrease if you would "
    "like to further increase the default rate limit."
)


def test_the_rate_limit_fault_answers_azures_429_with_the_retry_headers(azure: TestClient) -> None:
    response = azure.post(GENERATIONS.format("pics"), json=GPT, headers={"x-emulator-fault": "rate_limit"})
    assert response.status_code == 429
    assert response.json() == {
        "error": {"code": "429", "message": AZURE_RATE_LIMIT.format("ImageGenerations_Create", VERSION, "1 second")}
    }
    assert response.headers["retry-after"] == "1" and "retry-after-ms" in response.headers
    assert "x-ratelimit-remaining-requests" in response.headers
    on_v1 = azure.post("/openai/v1/images/generations", json={**GPT, "model": "pics"},
                       headers={"x-emulator-fault": "rate_limit; retry_after=7"})  # fmt: skip
    assert on_v1.json()["error"]["message"] == AZURE_RATE_LIMIT.format("ImageGenerations_Create", "v1", "7 seconds")


def test_a_rate_limit_over_rpm_answers_azures_429_and_quota_faults_stay_openais(
    app_factory: Callable[..., Any],
) -> None:
    with TestClient(app_factory(rate_limit_rpm=1, rate_limit_ipm=1), headers={"api-key": KEY}) as client:
        files = {"image": ("a.png", png((64, 64)), "image/png")}
        assert client.post(EDITS.format("gpt-image-1"), files=files, data={"prompt": "a hat"}).status_code == 200
        limited = client.post(EDITS.format("gpt-image-1"), files=files, data={"prompt": "a hat"})
        assert limited.status_code == 429
        error = limited.json()["error"]
        assert set(error) == {"code", "message"} and error["code"] == "429"
        assert error["message"].startswith(f"Requests to the ImageGenerations_Edit Operation under Azure OpenAI API "
                                           f"version {VERSION} have exceeded call rate limit")  # fmt: skip
        assert int(limited.headers["retry-after"]) >= 1
        too_large = client.post(GENERATIONS.format("gpt-image-1"), json={**GPT, "n": 2}, headers={"api-key": "k2"})
        assert too_large.status_code == 429 and too_large.headers["x-should-retry"] == "false"
        assert too_large.json()["error"]["message"].startswith("Request too large")  # no wait to name
        quota = client.post(GENERATIONS.format("gpt-image-1"), json=GPT,
                            headers={"x-emulator-fault": "insufficient_quota"})  # fmt: skip
        assert quota.status_code == 429 and quota.json()["error"]["code"] == "insufficient_quota"


def test_other_faults_answer_as_on_v1(azure: TestClient) -> None:
    headers = {"x-emulator-fault": "server_error"}
    on_azure = azure.post(GENERATIONS.format("pics"), json=GPT, headers=headers)
    assert on_azure.status_code == 500
    assert on_azure.json()["error"]["type"] == "server_error"
    assert on_azure.headers["x-request-id"] in on_azure.json()["error"]["message"]


def test_edits_on_the_deployment_path(azure: TestClient) -> None:
    files = {"image": ("a.png", png((64, 64)), "image/png")}
    response = azure.post(EDITS.format("pics"), files=files, data={"prompt": "add a hat", "quality": "low"})
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["input_tokens_details"]["image_tokens"] > 0


# --- the harness on Azure's paths -------------------------------------------------------------------------


def test_the_journal_records_azure_requests_with_path_query_and_masked_key(azure: TestClient) -> None:
    azure.post(GENERATIONS.format("pics"), json=GPT)
    azure.post("/openai/deployments/pics/chat/completions?api-version=2024-10-21", json={})
    azure.post("/v1/images/generatoins", json={}, headers={"authorization": "Bearer k"})
    entries = azure.get("/__emulator/requests").json()["data"]
    assert [(e["path"], e["query"], e["status"]) for e in entries] == [
        ("/openai/deployments/pics/images/generations", f"api-version={VERSION}", 200),
        ("/openai/deployments/pics/chat/completions", "api-version=2024-10-21", 404),
        ("/v1/images/generatoins", "", 404),
    ]
    assert entries[0]["body"] == GPT
    assert entries[0]["headers"]["api-key"] == mask_key(KEY) != KEY


def test_a_session_path_tags_azure_requests(azure: TestClient) -> None:
    path = "/__emulator/sessions/s1" + GENERATIONS.format("pics")
    assert azure.post(path, json=GPT).status_code == 200
    [entry] = azure.get("/__emulator/requests?session=s1").json()["data"]
    assert entry["path"] == "/openai/deployments/pics/images/generations"


@pytest.mark.parametrize(
    "path, request_options, status",
    [
        pytest.param(GENERATIONS.format("pics"), {"content": b"{bad"}, 400, id="broken-json"),
        pytest.param(GENERATIONS.format("pics"), {"json": [1, 2]}, 400, id="json-array"),
        pytest.param(GENERATIONS.format("%00%ff"), {"json": GPT}, 404, id="control-bytes-deployment"),
        pytest.param(GENERATIONS.format("a" * 5000), {"json": GPT}, 404, id="huge-deployment"),
        pytest.param(V1, {"json": {**GPT, "model": ["pics"]}}, 400, id="v1-model-array"),
        pytest.param(V1, {"json": {**GPT, "model": ""}}, 404, id="v1-model-empty"),
        pytest.param(
            "/openai/v1/images/edits",
            {"data": {"prompt": "x"}, "files": {"model": ("m.png", b"x", "image/png")}},
            400,
            id="v1-model-as-file",
        ),
        pytest.param(GENERATIONS.format("pics") + "&api-version=%ff", {"json": GPT}, 400, id="two-api-versions"),
    ],
)
def test_hostile_requests_on_azure_paths_get_a_4xx(
    azure: TestClient, path: str, request_options: dict[str, Any], status: int
) -> None:
    response = azure.post(path, **request_options)
    assert response.status_code == status, response.text
    assert "error" in response.json()


def test_fixtures_and_latency_apply_on_azure_paths(
    app_factory: Callable[..., Any], azure: TestClient, tmp_path: Path
) -> None:
    (tmp_path / "cat.png").write_bytes(png((32, 32), "RGB", seed=3))
    rules = (
        '- match: {prompt: "(?i)cat"}\n  image: cat.png\n- match: {prompt: "(?i)forbidden"}\n  error: content_policy\n'
    )
    (tmp_path / "fixtures.yaml").write_text(rules)
    cat = {**GPT, "prompt": "a cat"}
    rendered = azure.post(GENERATIONS.format("gpt-image-1"), json=cat).json()["data"][0]["b64_json"]  # no fixtures
    with TestClient(app_factory(fixtures=tmp_path), headers={"api-key": KEY}) as client:
        served = client.post(GENERATIONS.format("gpt-image-1"), json=cat).json()["data"][0]["b64_json"]
        on_v1 = client.post("/v1/images/generations", json={**cat, "model": "gpt-image-1"}, headers=BEARER)
        assert served == on_v1.json()["data"][0]["b64_json"] != rendered  # the fixture, as on /v1
        refused = client.post(GENERATIONS.format("gpt-image-1"), json={**GPT, "prompt": "forbidden"})
        assert refused.status_code == 400
        assert refused.json()["error"]["inner_error"]["code"] == "ResponsibleAIPolicyViolation"
        started = time.perf_counter()
        slow = client.post(GENERATIONS.format("gpt-image-1"), json=GPT, headers={"x-emulator-latency-ms": "300"})
        assert slow.status_code == 200 and time.perf_counter() - started >= 0.3
        entries = client.get("/__emulator/requests").json()["data"]
        assert [e["fault"] for e in entries] == [None, None, "content_policy", None]
