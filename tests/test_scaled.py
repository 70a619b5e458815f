"""The shared-service setup of docker-compose.scale.yml, run for real on loopback: three replicas on one
Redis behind nginx with deploy/nginx.conf (its upstream rewritten to the replicas' ports)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest
from helpers import TODAY
from redis_server import RedisServer

from images_emulator.testing.process import EmulatorProcess, free_port

NGINX_CONF = Path(__file__).resolve().parents[1] / "deploy" / "nginx.conf"


@pytest.fixture(scope="module")
def balanced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The load balancer's URL, with three replicas behind it."""
    if shutil.which("nginx") is None:
        raise RuntimeError("nginx is not installed (Debian package nginx; .ci/run installs it)")
    directory = tmp_path_factory.mktemp("nginx")
    port = free_port()
    with RedisServer() as redis:
        args = ("--store", redis.url, "--store-prefix", f"scaled-{uuid.uuid4().hex[:8]}:")
        env = {"EMULATOR_URL_SECRET": "scaled", "EMULATOR_API_DATE": TODAY, "EMULATOR_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        replicas = [EmulatorProcess(env=env, args=args) for _ in range(3)]
        for replica in replicas:
            replica.start()
        try:
            servers = "".join(f"server 127.0.0.1:{replica.port};\n" for replica in replicas)
            conf = re.sub(r"server emulator:8000[^;]*;", servers, NGINX_CONF.read_text())
            conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};").replace("/tmp/", f"{directory}/")
            (directory / "nginx.conf").write_text(conf)
            nginx = subprocess.Popen(["nginx", "-c", str(directory / "nginx.conf"), "-g", "daemon off;"])
            try:
                url = f"http://127.0.0.1:{port}"
                deadline = time.monotonic() + 20
                while True:  # poll the balancer's /health
                    try:
                        if httpx2.get(url + "/health", timeout=1).status_code == 200:
                            break
                    except httpx2.TransportError:
                        if time.monotonic() > deadline or nginx.poll() is not None:
                            raise
                    time.sleep(0.05)
                yield url
            finally:
                nginx.terminate()
                nginx.wait()
        finally:
            for replica in replicas:
                replica.stop()


def test_every_replica_answers_and_the_harness_is_one(balanced: str) -> None:
    client = openai.OpenAI(base_url=balanced + "/v1", api_key="sk-scaled", max_retries=0)
    httpx2.post(balanced + "/__emulator/faults", json={"fault": "server_error", "times": 2}, timeout=30)
    workers, failures = set(), 0
    for i in range(12):
        try:
            response = client.images.with_raw_response.generate(model="gpt-image-1.5", prompt=f"p{i}", quality="low")
            workers.add(response.headers["x-emulator-worker"])
        except openai.InternalServerError:
            failures += 1
    assert failures == 2 and len(workers) == 3  # three replicas answered, the fault fired twice in all
    statuses = [entry["status"] for entry in httpx2.get(balanced + "/__emulator/requests", timeout=30).json()["data"]]
    assert statuses.count(500) == 2 and statuses.count(200) == 10


def test_a_stream_passes_the_balancer_event_by_event(balanced: str) -> None:
    client = openai.OpenAI(base_url=balanced + "/v1", api_key="sk-scaled", max_retries=0)
    events = list(client.images.generate(model="gpt-image-2.5-flare", prompt="a fox", stream=True, partial_images=2))
    assert [event.type for event in events][-1] == "image_generation.completed" and len(events) == 3
