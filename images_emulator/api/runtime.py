"""What every route of one emulator process shares: its options, the image cache, the URL signer, the
test harness, and the API date it answers as."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from fastapi import Request

from images_emulator.api.known_bodies import KnownBodies
from images_emulator.api.urls import UrlSigner
from images_emulator.contract.catalog import Catalog, api_day, catalog_as_of
from images_emulator.harness.gallery import Gallery
from images_emulator.harness.state import Harness
from images_emulator.imaging.cache import ImageCache


@dataclass(frozen=True)
class ApiConfig:
    """The HTTP surface's options (server/settings.py maps the flags onto them)."""

    max_body_bytes: int = 64 * 1024 * 1024
    body_timeout_seconds: float = 60.0
    public_url: str | None = None  # where clients reach this server, for image URLs
    stream_interval_ms: int = 0  # pause between streamed events
    # Azure deployment name → model (--azure-deployments); a model's own name needs no entry.
    azure_deployments: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass
class Runtime:
    config: ApiConfig
    cache: ImageCache
    signer: UrlSigner
    harness: Harness
    api_date: date | None = None  # None: `today`
    bodies: KnownBodies = field(default_factory=KnownBodies)  # small JSON bodies seen lately
    gallery: Gallery = field(default_factory=lambda: Gallery(0))  # what image requests returned, per process

    def catalog(self) -> Catalog:
        """The API as of the configured date (the current day's, for `--api-date today`)."""
        return catalog_as_of(api_day(self.api_date))


async def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the app's Runtime (async: no threadpool hop per request)."""
    runtime: Runtime = request.app.state.runtime
    return runtime
