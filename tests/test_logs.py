"""The server's log: a start-up banner and one line per request that explains it; `--version`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from conftest import AUTH

from images_emulator import __version__
from images_emulator.testing.process import free_port, wait_healthy

GPT = {"model": "gpt-image-1", "prompt": "a red fox", "quality": "low", "size": "1024x1024"}


def run_server(log: Path, *flags: str) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "images_emulator", "--port", str(port), *flags]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, 30, process)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=15)


def exercise(url: str) -> None:
    """A good request, a 400, an injected 429, all in session `s1`; an edit whose multipart body is broken."""
    headers = {**AUTH, "x-emulator-session": "s1"}
    with httpx2.Client(base_url=url, headers=headers, timeout=30) as http:
        assert http.post("/v1/images/generations", json=GPT).status_code == 200
        assert http.post("/v1/images/generations", json={**GPT, "size": "13x13"}).status_code == 400
        assert http.post("/__emulator/faults?session=s1", json={"fault": "rate_limit"}).status_code == 201
        assert http.post("/v1/images/generations", json=GPT).status_code == 429
        broken = {"content-type": "multipart/form-data; boundary=yyyy"}  # the parser warns of it: in our format too
        assert http.post("/v1/images/edits", content=b"--xxxx\r\nbroken", headers=broken).status_code == 400


@pytest.fixture
def json_log(tmp_path: Path) -> Path:
    log = tmp_path / "server.log"
    for url in run_server(log, "--log-format", "json"):
        exercise(url)
    return log


def test_json_log_has_a_banner_and_one_object_per_request(json_log: Path) -> None:
    lines = [json.loads(line) for line in json_log.read_text().splitlines() if line.strip()]
    banner = lines[0]
    assert banner["version"] == __version__ and banner["url"].startswith("http://127.0.0.1:")
    assert banner["api_date"] and banner["latency"] == "none" and "rate_limit_rpm" in banner
    requests = [line for line in lines if line.get("path") == "/v1/images/generations"]
    assert [r["status"] for r in requests] == [200, 400, 429]
    ok, bad, limited = requests
    assert ok["model"] == "gpt-image-1" and ok["session"] == "s1" and ok["request_id"].startswith("req_")
    assert (bad["code"], bad["param"]) == ("invalid_value", "size")
    assert limited["fault"] == "rate_limit" and limited["code"] == "rate_limit_exceeded"
    assert not [line for line in lines if "uvicorn.access" in line.get("logger", "")]


def test_text_log_explains_each_request_on_one_line(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    for url in run_server(log):
        exercise(url)
    text = log.read_text()
    assert f"images-emulator {__version__} at http://127.0.0.1:" in text
    bad = next(line for line in text.splitlines() if " 400 " in line)
    assert "POST /v1/images/generations model=gpt-image-1 400" in bad
    assert "code=invalid_value param=size session=s1" in bad
    assert any("fault=rate_limit" in line and " 429 " in line for line in text.splitlines())


def test_access_log_can_be_switched_off(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    for url in run_server(log, "--access-log", "false"):
        exercise(url)
    text = log.read_text()
    assert "images-emulator" in text and "/v1/images/generations" not in text


def test_version_flag_prints_the_version() -> None:
    done = subprocess.run([sys.executable, "-m", "images_emulator", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"images-emulator {__version__}"


def test_disconnect_fault_is_logged_as_the_fault_not_as_a_server_error(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    for url in run_server(log):
        with httpx2.Client(base_url=url, headers=AUTH, timeout=30) as http:
            for body in (GPT, {**GPT, "stream": True, "partial_images": 2}):
                assert http.post("/__emulator/faults", json={"fault": "disconnect"}).status_code == 201
                with pytest.raises(httpx2.RemoteProtocolError):
                    http.post("/v1/images/generations", json=body).read()
            assert http.get("/health").status_code == 200
    lines = log.read_text().splitlines()
    assert len([line for line in lines if "fault=disconnect" in line]) == 2
    assert not [line for line in lines if "ERROR" in line or "Traceback" in line]


@pytest.mark.parametrize(("flag", "value", "field"), [("--port", "99999", "port"), ("--port", "-1", "port")])
def test_a_bad_flag_stops_the_server_with_one_line_not_a_traceback(flag: str, value: str, field: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "images_emulator", flag, value], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.startswith("images-emulator: invalid configuration\n") and f"  {field}: " in done.stderr
    assert "Traceback" not in done.stderr


def test_what_a_client_sent_cannot_pose_as_another_field_or_line_in_the_text_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    for url in run_server(log):
        headers = {**AUTH, "x-emulator-session": "s fault=server_error"}
        with httpx2.Client(base_url=url, headers=headers, timeout=30) as http:
            assert http.post("/v1/images/generations", json={**GPT, "model": "m\nERROR forged"}).status_code >= 400
    [line] = [line for line in log.read_text().splitlines() if "/v1/images/generations" in line]
    assert 'model="m\\nERROR forged"' in line and 'session="s fault=server_error"' in line
    assert " fault=" not in line.replace('"s fault=', "")
