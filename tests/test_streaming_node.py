"""Streaming with the official Node SDK (`npm install openai` once per session, in a temp dir)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import helpers
import pytest

from images_emulator.testing.process import EmulatorProcess

API_KEY = "sk-test-emulator"  # as in conftest
NODE_OPENAI = os.environ.get("EMULATOR_TEST_NODE_OPENAI", "openai@7")  # npm spec of the SDK under test

STREAM_SCRIPT = """
import crypto from 'node:crypto';
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: process.env.API_KEY, maxRetries: 0 });
const stream = await client.images.generate({
  model: 'gpt-image-1', prompt: 'a harbour at dusk', stream: true, partial_images: 2,
  size: '1024x1536', quality: 'low',
});
for await (const event of stream) {
  console.log(JSON.stringify({
    type: event.type,
    partial_image_index: event.partial_image_index ?? null,
    b64_length: event.b64_json.length,
    b64_sha256: crypto.createHash('sha256').update(event.b64_json).digest('hex'),
    usage: event.usage ?? null,
  }));
}
"""


@pytest.fixture(scope="session")
def node_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with the Node `openai` package installed (skips when node/npm are unavailable)."""
    return helpers.node_openai(tmp_path_factory.mktemp("node-openai"), NODE_OPENAI)


def run_node(directory: Path, script: str, env: dict[str, str]) -> list[dict[str, Any]]:
    """Run an ES module in `directory`; its stdout as JSON lines."""
    path = directory / "script.mjs"
    path.write_text(script)
    result = subprocess.run(
        ["node", str(path)], cwd=directory, capture_output=True, text=True, timeout=120, env={**os.environ, **env}
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_node_sdk_streams_partials_then_completed(node_sdk: Path, server: EmulatorProcess, openai_client: Any) -> None:
    events = run_node(node_sdk, STREAM_SCRIPT, {"BASE_URL": server.base_url + "/v1", "API_KEY": API_KEY})
    assert [(e["type"], e["partial_image_index"]) for e in events] == [
        ("image_generation.partial_image", 0),
        ("image_generation.partial_image", 1),
        ("image_generation.completed", None),
    ]
    assert all(e["b64_length"] > 1000 for e in events)
    assert events[-1]["usage"]["output_tokens"] == 408 + 2 * 100
    plain = openai_client.images.generate(
        model="gpt-image-1", prompt="a harbour at dusk", size="1024x1536", quality="low"
    )
    assert events[-1]["b64_sha256"] == hashlib.sha256(plain.data[0].b64_json.encode()).hexdigest()
