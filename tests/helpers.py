"""Assertions shared by the test modules (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations

from typing import Any


def assert_error(
    response: Any,
    status: int,
    *,
    message: str,
    param: str | None,
    code: str | None,
    type: str = "invalid_request_error",
) -> None:
    """`response` is exactly OpenAI's envelope with these four fields and this status."""
    assert response.status_code == status, response.text
    assert response.json() == {"error": {"message": message, "type": type, "param": param, "code": code}}
