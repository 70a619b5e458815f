"""Many processes, one emulator: two servers on one real Redis, and one server with `--workers 2`.

Faults, the journal, rate limits, sessions and the bytes behind edit URLs are shared; Redis lost while
running costs no image request, and the harness comes back by itself when Redis does.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx2
import openai
import pytest
from helpers import LEGACY_API_DATE, TODAY, png
from redis_server import RedisServer

from images_emulator.server.cli import shared_store
from images_emulator.server.settings import Settings
from images_emulator.server.workers import worker_count
from images_emulator.testing.process import EmulatorProcess

AUTH = {"Authorization": "Bearer sk-shared"}
BODY = {"model": "gpt-image-1.5", "size": "1024x1024", "quality": "low"}
GENERATIONS = "/v1/images/generations"
SECRET = {"EMULATOR_URL_SECRET": "shared-secret"}


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def pair(redis_url: str, *extra: str) -> tuple[EmulatorProcess, EmulatorProcess]:
    """Two emulators sharing one Redis under a prefix of their own (so tests never see each other's keys)."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    args = ("--store", redis_url, "--store-prefix", prefix, *extra)
    env = {**SECRET, "EMULATOR_API_DATE": TODAY}
    return EmulatorProcess(env=env, args=args), EmulatorProcess(env=env, args=args)


@pytest.fixture
def replicas(redis_server: RedisServer) -> Iterator[tuple[EmulatorProcess, EmulatorProcess]]:
    first, second = pair(redis_server.url)
    with first, second:
        yield first, second


def generate(server: EmulatorProcess, prompt: str, **headers: str) -> httpx2.Response:
    return httpx2.post(
        server.base_url + GENERATIONS, json={**BODY, "prompt": prompt}, headers={**AUTH, **headers}, timeout=60
    )


def journal(server: EmulatorProcess, session: str | None = None) -> list[dict]:
    params = {"session": session} if session else {}
    response = httpx2.get(server.base_url + "/__emulator/requests", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def concurrently(servers: tuple[EmulatorProcess, ...], count: int, **headers: str) -> list[int]:
    """`count` generations at once, spread over `servers`: their statuses."""
    async with httpx2.AsyncClient(timeout=60, headers={**AUTH, **headers}) as client:
        calls = [
            client.post(servers[i % len(servers)].base_url + GENERATIONS, json={**BODY, "prompt": f"p{i}"})
            for i in range(count)
        ]
        return [response.status_code for response in await asyncio.gather(*calls)]


def test_a_fault_scheduled_on_one_fires_exactly_times_across_both(replicas: tuple[EmulatorProcess, ...]) -> None:
    first, second = replicas
    rule = httpx2.post(first.base_url + "/__emulator/faults", json={"fault": "server_error", "times": 5}, timeout=30)
    assert rule.status_code == 201
    statuses = asyncio.run(concurrently((second, first), 16))
    assert sorted(statuses) == [200] * 11 + [500] * 5
    assert httpx2.get(second.base_url + "/__emulator/faults", timeout=30).json()["data"] == []


def test_the_journal_read_from_either_lists_every_request_in_order(replicas: tuple[EmulatorProcess, ...]) -> None:
    first, second = replicas
    sent = [generate((first, second)[i % 2], f"prompt {i}").headers["x-request-id"] for i in range(6)]
    for server in replicas:
        assert [entry["id"] for entry in journal(server)] == sent
        assert all(entry["status"] == 200 for entry in journal(server))


def test_a_burst_answered_by_both_is_all_in_the_journal_read_right_after(
    replicas: tuple[EmulatorProcess, ...],
) -> None:
    """Each process stores its entries in batches; a read waits for what the others have answered."""
    session = {"X-Emulator-Session": f"burst-{uuid.uuid4().hex[:6]}"}
    statuses = asyncio.run(concurrently(replicas, 40, **session))
    assert statuses == [200] * 40
    for server in replicas:
        assert len(journal(server, session["X-Emulator-Session"])) == 40


def test_a_request_in_flight_on_one_shows_in_the_journal_of_the_other(
    replicas: tuple[EmulatorProcess, ...],
) -> None:
    first, second = replicas
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(generate, first, "held", **{"X-Emulator-Latency-Ms": "3000"})
        deadline = time.monotonic() + 2.5
        in_flight: list[dict] = []
        while not in_flight and time.monotonic() < deadline:
            in_flight = [entry for entry in journal(second) if entry["status"] is None]
        assert [entry["path"] for entry in in_flight] == [GENERATIONS]
        assert held.result().status_code == 200
    assert [entry["status"] for entry in journal(second)] == [200]


def test_entries_stored_in_one_batch_keep_non_ascii_prompts_exactly(replicas: tuple[EmulatorProcess, ...]) -> None:
    prompts = ["café ☕", "猫と犬", "plain", "emoji 🦊🦊", "ünïcödé"]

    async def burst() -> None:
        async with httpx2.AsyncClient(timeout=60, headers=AUTH) as client:
            calls = [client.post(replicas[0].base_url + GENERATIONS, json={**BODY, "prompt": p}) for p in prompts]
            assert [r.status_code for r in await asyncio.gather(*calls)] == [200] * len(prompts)

    asyncio.run(burst())
    assert sorted(entry["body"]["prompt"] for entry in journal(replicas[1])) == sorted(prompts)


def test_an_images_per_minute_limit_holds_across_both(redis_server: RedisServer) -> None:
    first, second = pair(redis_server.url, "--rate-limit-ipm", "5")
    with first, second:
        statuses = [generate((first, second)[i % 2], f"p{i}").status_code for i in range(8)]
        assert statuses == [200] * 5 + [429] * 3
        refused = generate(second, "one more")
        assert refused.status_code == 429
        for unit in ("requests", "images"):  # every 429 carries both budgets
            assert {f"x-ratelimit-{what}-{unit}" for what in ("limit", "remaining", "reset")} <= set(refused.headers)
        assert refused.headers["x-ratelimit-remaining-images"] == "0"


def test_an_edit_url_minted_on_one_is_fetched_from_the_other(redis_server: RedisServer) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    args = ("--store", redis_server.url, "--store-prefix", prefix)
    env = {**SECRET, "EMULATOR_API_DATE": LEGACY_API_DATE}  # dall-e-2 answers URLs
    with EmulatorProcess(env=env, args=args) as first, EmulatorProcess(env=env, args=args) as second:
        response = httpx2.post(
            first.base_url + "/v1/images/edits",
            headers=AUTH,
            data={"model": "dall-e-2", "prompt": "a hat", "size": "256x256"},
            files={"image": ("a.png", png((64, 64)), "image/png")},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        url = response.json()["data"][0]["url"]
        fetched = httpx2.get(url.replace(first.base_url, second.base_url), timeout=30)
        assert fetched.status_code == 200 and fetched.content.startswith(b"\x89PNG")
        assert fetched.content == httpx2.get(url, timeout=30).content


def test_sessions_scope_faults_and_the_journal_across_both(replicas: tuple[EmulatorProcess, ...]) -> None:
    first, second = replicas
    scheduled = httpx2.post(
        first.base_url + "/__emulator/faults?session=alpha", json={"fault": "overloaded", "times": 1}, timeout=30
    )
    assert scheduled.status_code == 201
    assert generate(second, "other session", **{"X-Emulator-Session": "beta"}).status_code == 200
    assert generate(second, "its session", **{"X-Emulator-Session": "alpha"}).status_code == 503
    assert [entry["body"]["prompt"] for entry in journal(first, "alpha")] == ["its session"]
    assert [entry["body"]["prompt"] for entry in journal(first, "beta")] == ["other session"]


def test_redis_lost_and_back_loses_no_image_request(redis_server: RedisServer) -> None:
    first, second = pair(redis_server.url)
    with first, second:
        assert generate(first, "before").status_code == 200
        redis_server.stop()
        try:
            statuses = [generate((first, second)[i % 2], f"while down {i}").status_code for i in range(6)]
            assert statuses == [200] * 6  # the image path never needs the store
            down = httpx2.get(first.base_url + "/__emulator/requests", timeout=30)
            assert down.status_code == 503 and down.json()["error"]["code"] == "store_unavailable"
            health = httpx2.get(second.base_url + "/health", timeout=30).json()
            assert health["status"] == "degraded" and health["store"]["state"] == "unreachable"
        finally:
            redis_server.start()  # the same port: both emulators reconnect by themselves
        assert httpx2.get(second.base_url + "/health", timeout=30).json()["store"]["state"] == "ok"
        assert generate(second, "after").status_code == 200
        assert [entry["body"]["prompt"] for entry in journal(first)][-1] == "after"


def test_a_fault_fires_on_the_very_next_request_of_a_replica_that_keeps_the_rules(
    replicas: tuple[EmulatorProcess, ...],
) -> None:
    """Each process keeps the rules between changes; a change is acknowledged by all before it returns."""
    first, second = replicas
    for round_ in range(3):
        for warm in range(3):  # second subscribes at its first read, then holds "no rules"
            assert generate(second, f"warm {round_}.{warm}").status_code == 200
            time.sleep(0.1)
        rule = httpx2.post(first.base_url + "/__emulator/faults", json={"fault": "server_error"}, timeout=30)
        assert rule.status_code == 201
        assert generate(second, f"faulted {round_}").status_code == 500
        assert generate(second, f"after {round_}").status_code == 200


def test_after_redis_comes_back_a_fault_scheduled_on_one_fires_on_the_other(redis_server: RedisServer) -> None:
    first, second = pair(redis_server.url)
    with first, second:
        assert generate(second, "before").status_code == 200
        redis_server.restart()  # the same port, every connection dropped
        deadline = time.monotonic() + 10
        scheduled = None
        while time.monotonic() < deadline:
            scheduled = httpx2.post(first.base_url + "/__emulator/faults", json={"fault": "server_error"}, timeout=30)
            if scheduled.status_code == 201:
                break
            time.sleep(0.05)
        assert scheduled is not None and scheduled.status_code == 201
        assert generate(second, "faulted").status_code == 500
        assert generate(second, "after").status_code == 200


def test_two_workers_share_one_state_without_a_store_server() -> None:
    with EmulatorProcess(env={**SECRET, "EMULATOR_API_DATE": TODAY}, args=("--workers", "2")) as server:
        scheduled = httpx2.post(
            server.base_url + "/__emulator/faults", json={"fault": "server_error", "times": 3}, timeout=30
        )
        assert scheduled.status_code == 201
        statuses = asyncio.run(concurrently((server,), 16))
        assert sorted(statuses) == [200] * 13 + [500] * 3
        entries = journal(server)
        assert len(entries) == 16 and sorted(entry["status"] for entry in entries) == [200] * 13 + [500] * 3
        assert httpx2.get(server.base_url + "/health", timeout=30).json()["store"]["kind"] == "sqlite"


def test_two_workers_on_redis_answer_with_the_sdk(redis_server: RedisServer) -> None:
    args = ("--workers", "2", "--store", redis_server.url, "--store-prefix", f"w-{uuid.uuid4().hex[:8]}:")
    with EmulatorProcess(env={**SECRET, "EMULATOR_API_DATE": TODAY}, args=args) as server:
        client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="sk-shared", max_retries=0)
        httpx2.post(server.base_url + "/__emulator/faults", json={"fault": "rate_limit", "times": 2}, timeout=30)
        outcomes = []
        for i in range(4):
            try:
                client.images.generate(prompt=f"sdk {i}", **BODY)
                outcomes.append("ok")
            except openai.RateLimitError:
                outcomes.append("429")
        assert outcomes == ["429", "429", "ok", "ok"]


def test_an_unreachable_redis_at_start_is_a_clear_error_and_exit_code_1() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "images_emulator", "--store", "redis://127.0.0.1:1/0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "the store redis://127.0.0.1:1/0 is unreachable" in result.stderr


def test_memory_with_several_workers_is_refused_at_start() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "images_emulator", "--store", "memory", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "--store memory keeps the harness state" in result.stderr


def test_store_memory_without_workers_runs_one_worker_whatever_the_cores() -> None:
    with shared_store(Settings(store="memory")) as settings:
        assert worker_count(settings.workers) == 1 and settings.store == "memory"


def test_an_sqlite_value_changed_by_one_process_is_read_fresh_by_another(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Each process keeps the values it read until the shared version counter says one changed."""
    from images_emulator.harness.store.sqlite import SqliteBackend

    async def scenario() -> tuple[object, object, object]:
        one, other = SqliteBackend(tmp_path / "state.db"), SqliteBackend(tmp_path / "state.db")
        try:
            before = await other.read("faults")  # cached by `other`
            await one.update("faults", lambda _: ({"rules": ["r1"]}, None))
            after = await other.read("faults")
            await one.update("faults", lambda _: (None, None))
            return before, after, await other.read("faults")
        finally:
            await one.close()
            await other.close()

    assert asyncio.run(scenario()) == (None, {"rules": ["r1"]}, None)


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_a_shared_journal_keeps_the_newest_journal_size_requests(store: str, redis_server: RedisServer) -> None:
    args = ["--workers", "2", "--journal-size", "3"]
    if store == "redis":
        args += ["--store", redis_server.url, "--store-prefix", f"bound-{uuid.uuid4().hex[:8]}:"]
    with EmulatorProcess(env={**SECRET, "EMULATOR_API_DATE": TODAY}, args=tuple(args)) as server:
        sent = [generate(server, f"bounded {i}").headers["x-request-id"] for i in range(8)]
        assert [entry["id"] for entry in journal(server)] == sent[-3:]


def test_redis_orders_journal_entries_arriving_microseconds_apart(redis_server: RedisServer) -> None:
    """Arrival times reach Redis's sorted set with every digit: entries 20 us apart keep their order."""
    from images_emulator.harness.store import LogWrite
    from images_emulator.harness.store.redis import RedisBackend

    async def scenario() -> list[str]:
        backend = RedisBackend(redis_server.url, f"order-{uuid.uuid4().hex[:8]}:")
        try:
            at = 1_764_717_000.123_456
            later = LogWrite("a-later", at + 0.000_02, {"id": "later"})  # ids sort the other way round
            earlier = LogWrite("z-earlier", at, {"id": "earlier"})
            await backend.log_put("journal", [later, earlier], 10)
            return [item["id"] for item in await backend.log_items("journal", 10)]
        finally:
            await backend.close()

    assert asyncio.run(scenario()) == ["earlier", "later"]
