"""SIGTERM (a container stop): the server stops accepting, lets in-flight requests finish within
`--graceful-seconds`, ends what is still running after that, and exits 0 — one worker or several."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2
import pytest

from images_emulator.testing.process import EmulatorProcess

BODY = {"model": "gpt-image-1", "prompt": "a held lighthouse", "quality": "low", "size": "1024x1024"}
AUTH = {"Authorization": "Bearer sk-shutdown"}


def held_request(server: EmulatorProcess, latency_ms: int, outcome: dict[str, object]) -> threading.Thread:
    """A generation held `latency_ms` by simulated latency, sent from a thread; `outcome` gets its status
    or the exception the client saw."""

    def send() -> None:
        try:
            headers = {**AUTH, "X-Emulator-Latency-Ms": str(latency_ms)}
            response = httpx2.post(server.base_url + "/v1/images/generations", json=BODY, headers=headers, timeout=30)
            outcome["status"] = response.status_code
            outcome["bytes"] = len(response.content)
        except httpx2.HTTPError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def wait_in_flight(server: EmulatorProcess) -> None:
    """Until the journal shows the held request (it arrived; its answer is pending)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        entries = httpx2.get(server.base_url + "/__emulator/requests", timeout=5).json()["data"]
        if any(entry["path"] == "/v1/images/generations" for entry in entries):
            return
        time.sleep(0.02)
    raise AssertionError("the held request never reached the server")


def terminate(server: EmulatorProcess) -> tuple[int, float]:
    """SIGTERM the server; (its exit code, seconds it took to exit)."""
    assert server.process is not None
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(timeout=30)
    return code, time.monotonic() - started


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_lets_an_in_flight_request_finish_then_exits_0(workers: str) -> None:
    with EmulatorProcess(args=("--workers", workers, "--graceful-seconds", "10")) as server:
        outcome: dict[str, object] = {}
        thread = held_request(server, 1500, outcome)
        wait_in_flight(server)
        code, seconds = terminate(server)
        thread.join(timeout=30)
    assert outcome.get("status") == 200, outcome
    assert int(str(outcome["bytes"])) > 1000  # the whole image answer, not a cut body
    assert code == 0
    assert seconds < 9  # it left as soon as the request was done, not at the graceful limit


def test_sigterm_ends_requests_still_held_after_the_graceful_period_and_exits_0() -> None:
    with EmulatorProcess(args=("--workers", "1", "--graceful-seconds", "1")) as server:
        outcome: dict[str, object] = {}
        thread = held_request(server, 20_000, outcome)
        wait_in_flight(server)
        code, seconds = terminate(server)
        thread.join(timeout=30)
    assert code == 0
    assert seconds < 5  # the graceful second, then the held request is ended: no 20 s wait, no SIGKILL
    assert "error" in outcome or outcome.get("status") != 200, outcome


def test_a_new_connection_after_sigterm_is_refused() -> None:
    with EmulatorProcess(args=("--workers", "1", "--graceful-seconds", "10")) as server:
        outcome: dict[str, object] = {}
        thread = held_request(server, 1500, outcome)
        wait_in_flight(server)
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)  # uvicorn closes its listening socket at once; give the signal time to land
        with pytest.raises(httpx2.ConnectError):
            httpx2.get(server.base_url + "/health", timeout=2)
        thread.join(timeout=30)
        assert server.process.wait(timeout=30) == 0
    assert outcome.get("status") == 200


PARENT = """
import sys, time
from images_emulator.testing.process import EmulatorProcess
server = EmulatorProcess(args=tuple(sys.argv[1:])).start()
print(server.process.pid, server.base_url, server.log_path, flush=True)
time.sleep(120)
"""


def gone(pid: int) -> bool:
    """The process has exited (reaped, or a zombie waiting for a parent that does not reap)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_server_started_by_a_program_that_is_killed_stops_with_it(workers: str) -> None:
    """The pytest plugin's server (EmulatorProcess, `--exit-with-stdin`) must not outlive a killed test run."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, "--workers", workers], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    pid_text, base_url, log_path = parent.stdout.readline().split()
    pid = int(pid_text)
    assert httpx2.get(base_url + "/health").status_code == 200
    parent.kill()  # SIGKILL: nothing of the parent's runs; only its end of the pipe closes
    parent.wait()
    deadline = time.monotonic() + 15
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    Path(log_path).unlink(missing_ok=True)  # the killed parent's to remove
    assert gone(pid), "the emulator outlived the program that started it"
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(base_url + "/health")


def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'state.db'}"  # not the CLI's temporary one: a killed supervisor leaves it
    with EmulatorProcess(args=("--workers", "2", "--store", store)) as server:
        assert server.process is not None
        supervisor = server.process.pid
        with open(f"/proc/{supervisor}/task/{supervisor}/children") as listing:
            workers = [int(pid) for pid in listing.read().split()]
        assert len(workers) == 2
        server.process.kill()  # SIGKILL: the supervisor passes nothing on
        server.process.wait()
        deadline = time.monotonic() + 15
        while not all(gone(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(gone(pid) for pid in workers), "a worker outlived its supervisor"
