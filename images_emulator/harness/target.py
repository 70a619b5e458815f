"""What fault rules and fixtures match a request by."""

from __future__ import annotations

from dataclasses import dataclass

from images_emulator.contract.endpoints import EndpointName


@dataclass(frozen=True)
class Target:
    """One valid request, as the harness sees it."""

    endpoint: EndpointName
    model: str
    family: str
    prompt: str
    stream: bool = False
    session: str | None = None
    request_id: str = ""
    n: int = 1
