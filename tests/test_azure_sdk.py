"""Azure OpenAI with the real clients against a real server: the Python `AzureOpenAI` (sync, async,
streaming, edits, Entra ID tokens), the v1 API with a plain `OpenAI`, and Node's `AzureOpenAI`."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helpers
import httpx2
import openai
import pytest
from helpers import png

from images_emulator.testing.process import EmulatorProcess

KEY = "azure-key-0123456789"
VERSION = "2025-04-01-preview"
NODE_OPENAI = os.environ.get("EMULATOR_TEST_NODE_OPENAI_AZURE", "openai@6")  # node 20: openai 7 needs node 22


@pytest.fixture(scope="module")
def azure_server() -> Iterator[EmulatorProcess]:
    """A real server (the suite's legacy date: dall-e-3 and gpt-image-1 served) with two deployments."""
    args = ("--azure-deployments", "pics=gpt-image-1,painter=dall-e-3")
    with EmulatorProcess(env={"EMULATOR_URL_SECRET": "test-secret"}, args=args) as process:
        yield process


@pytest.fixture
def journal(azure_server: EmulatorProcess) -> Iterator[Any]:
    """The server's journal entries, cleared before and after the test."""
    url = azure_server.base_url + "/__emulator/requests"
    httpx2.delete(url)
    yield lambda: httpx2.get(url).json()["data"]
    httpx2.delete(url)


def azure_client(server: EmulatorProcess, **options: Any) -> openai.AzureOpenAI:
    options.setdefault("api_key", KEY)
    return openai.AzureOpenAI(azure_endpoint=server.base_url, api_version=VERSION, max_retries=0, **options)


def test_azure_openai_generates_on_a_deployment(azure_server: EmulatorProcess, journal: Any) -> None:
    img = azure_client(azure_server).images.generate(model="pics", prompt="a red fox", quality="low", size="1536x1024")
    assert img.size == "1536x1024" and img.usage is not None and img.usage.output_tokens == 400
    [entry] = journal()
    assert (entry["path"], entry["query"], entry["status"]) == (
        "/openai/deployments/pics/images/generations",
        f"api-version={VERSION}",
        200,
    )
    assert entry["headers"]["api-key"] != KEY  # masked


def test_dall_e_3_with_an_entra_token_has_azures_filter_results(azure_server: EmulatorProcess) -> None:
    client = azure_client(
        azure_server, api_key=None, azure_ad_token="eyJ0eXAiOiJKV1Qi.entra", azure_deployment="painter"
    )
    img = client.images.generate(model="dall-e-3", prompt="a lighthouse", response_format="b64_json")
    [item] = img.data
    assert item.revised_prompt and item.b64_json
    extra = item.model_extra or {}
    assert extra["content_filter_results"]["violence"] == {"severity": "safe", "filtered": False}
    assert extra["prompt_filter_results"]["profanity"] == {"detected": False, "filtered": False}


def test_async_azure_openai_generates(azure_server: EmulatorProcess) -> None:
    async def generate() -> Any:
        client = openai.AsyncAzureOpenAI(
            azure_endpoint=azure_server.base_url, api_version=VERSION, api_key=KEY, max_retries=0
        )
        async with client:
            return await client.images.generate(model="gpt-image-1", prompt="a red fox", quality="low")

    img = asyncio.run(generate())
    assert img.size == "1024x1024" and img.data and img.data[0].b64_json


def test_azure_openai_streams_partials_then_the_same_final_image(azure_server: EmulatorProcess) -> None:
    client = azure_client(azure_server)
    request = {"model": "pics", "prompt": "a harbour at dusk", "quality": "low", "size": "1024x1536"}
    events = list(client.images.generate(**request, stream=True, partial_images=2))
    assert [event.type for event in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    plain = client.images.generate(**request)
    assert plain.data and events[-1].b64_json == plain.data[0].b64_json


def test_azure_openai_edits_on_a_deployment(azure_server: EmulatorProcess, journal: Any) -> None:
    client = azure_client(azure_server)
    img = client.images.edit(
        model="pics", image=("a.png", png((64, 64)), "image/png"), prompt="add a hat", quality="low"
    )
    assert img.data and img.data[0].b64_json and img.usage is not None
    [entry] = journal()
    assert entry["path"] == "/openai/deployments/pics/images/edits"
    assert entry["body"]["prompt"] == "add a hat"


def test_azure_errors_reach_the_sdk_with_azures_codes(azure_server: EmulatorProcess) -> None:
    client = azure_client(azure_server)
    with pytest.raises(openai.NotFoundError) as missing:
        client.images.generate(model="nope", prompt="a red fox")
    assert missing.value.code == "DeploymentNotFound"
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.generate(model="painter", prompt="a fox", extra_headers={"X-Emulator-Fault": "content_policy"})
    assert refused.value.code == "content_policy_violation"
    assert isinstance(refused.value.body, dict)
    assert refused.value.body["inner_error"]["code"] == "ResponsibleAIPolicyViolation"
    with pytest.raises(openai.RateLimitError, match="ImageGenerations_Create Operation under Azure") as limited:
        client.images.generate(model="pics", prompt="a fox", extra_headers={"X-Emulator-Fault": "rate_limit"})
    assert limited.value.code == "429" and limited.value.response.headers["retry-after"] == "1"
    old = openai.AzureOpenAI(azure_endpoint=azure_server.base_url, api_version="2024-10-21", api_key=KEY, max_retries=0)
    with pytest.raises(openai.NotFoundError, match="Resource not found"):
        old.images.edit(model="pics", image=("a.png", png((64, 64)), "image/png"), prompt="add a hat")


def test_the_v1_api_with_a_plain_openai_client(azure_server: EmulatorProcess, journal: Any) -> None:
    client = openai.OpenAI(base_url=azure_server.base_url + "/openai/v1/", api_key=KEY, max_retries=0)
    img = client.images.generate(model="pics", prompt="a red fox", quality="low")
    assert img.usage is not None and img.usage.output_tokens == 272
    edited = client.images.edit(
        model="pics", image=("a.png", png((64, 64)), "image/png"), prompt="add a hat", quality="low"
    )
    assert edited.data and edited.data[0].b64_json
    assert [e["path"] for e in journal()] == ["/openai/v1/images/generations", "/openai/v1/images/edits"]


# --- Node's AzureOpenAI --------------------------------------------------------------------------------------

NODE_SCRIPT = """
import crypto from 'node:crypto';
import { AzureOpenAI } from 'openai';

const client = new AzureOpenAI({
  endpoint: process.env.ENDPOINT, apiKey: process.env.API_KEY, apiVersion: process.env.API_VERSION, maxRetries: 0,
});
const sha = (text) => crypto.createHash('sha256').update(text).digest('hex');
const painted = await client.images.generate({ model: 'painter', prompt: 'a lighthouse', response_format: 'b64_json' });
console.log(JSON.stringify({ kind: 'generate', item_keys: Object.keys(painted.data[0]),
  filters: painted.data[0].content_filter_results }));
const stream = await client.images.generate({
  model: 'pics', prompt: 'a harbour at dusk', stream: true, partial_images: 1, quality: 'low',
});
for await (const event of stream) {
  const usage = event.usage ?? null;
  console.log(JSON.stringify({ kind: 'stream', type: event.type, sha: sha(event.b64_json), usage }));
}
try {
  await client.images.generate({ model: 'nope', prompt: 'x' });
} catch (error) {
  console.log(JSON.stringify({ kind: 'error', status: error.status, code: error.code }));
}
"""


@pytest.fixture(scope="module")
def node_azure_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with the Node `openai` package (6.x: AzureOpenAI on node 20); skips without node/npm."""
    return helpers.node_openai(tmp_path_factory.mktemp("node-openai-azure"), NODE_OPENAI)


def test_node_azure_openai_generates_streams_and_sees_azures_errors(
    node_azure_sdk: Path, azure_server: EmulatorProcess
) -> None:
    script = node_azure_sdk / "azure.mjs"
    script.write_text(NODE_SCRIPT)
    # Without the OPENAI_* variables the pytest plugin sets: Node's AzureOpenAI refuses a base URL beside
    # an endpoint.
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("OPENAI_")}
    env = {**inherited, "ENDPOINT": azure_server.base_url, "API_KEY": KEY, "API_VERSION": VERSION}
    result = subprocess.run(
        ["node", str(script)], cwd=node_azure_sdk, capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    generated, *streamed, error = lines
    assert generated["item_keys"] == ["revised_prompt", "prompt_filter_results", "b64_json", "content_filter_results"]
    assert generated["filters"]["hate"] == {"severity": "safe", "filtered": False}
    assert [e["type"] for e in streamed] == ["image_generation.partial_image", "image_generation.completed"]
    assert streamed[-1]["usage"]["output_tokens"] == 272 + 100
    plain = azure_client(azure_server).images.generate(model="pics", prompt="a harbour at dusk", quality="low")
    assert plain.data and plain.data[0].b64_json
    assert streamed[-1]["sha"] == hashlib.sha256(plain.data[0].b64_json.encode()).hexdigest()
    assert base64.b64decode(plain.data[0].b64_json)[:8] == b"\x89PNG\r\n\x1a\n"
    assert error == {"kind": "error", "status": 404, "code": "DeploymentNotFound"}
