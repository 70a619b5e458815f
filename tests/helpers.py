"""Assertions shared by the test modules (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations

from datetime import date
from typing import Any

from emulator.catalog import catalog_as_of

# The suite written for the API of mid-2026 runs as of that date (conftest sets EMULATOR_API_DATE);
# tests of today's API pass TODAY explicitly.
LEGACY_API_DATE = "2026-05-01"
TODAY = "2026-11-19"
LEGACY = catalog_as_of(date.fromisoformat(LEGACY_API_DATE))


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
