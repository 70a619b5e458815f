"""The per-process objects every route shares: settings, image cache, URL signer and the test harness
state (journal, scheduled faults, fixtures, rate limiter, latency mode).

The harness state is in memory, per process: with `--workers` > 1 each worker has its own journal,
fault rules and rate-limit counters (use one worker when tests rely on them).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from fastapi import Request

from images_emulator.api.urls import UrlSigner
from images_emulator.contract.catalog import Catalog, api_day, catalog_as_of
from images_emulator.harness.faults import FaultBook
from images_emulator.harness.fixtures import Fixtures, load_fixtures
from images_emulator.harness.journal import Journal
from images_emulator.harness.latency import LatencyMode, parse_latency
from images_emulator.harness.ratelimit import RateLimiter
from images_emulator.imaging.cache import ImageCache
from images_emulator.server.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    cache: ImageCache
    signer: UrlSigner
    journal: Journal
    faults: FaultBook
    limiter: RateLimiter
    latency: LatencyMode
    fixtures: Fixtures | None = None
    api_date: date | None = None  # None: `today`

    def catalog(self) -> Catalog:
        """The API as of the configured date (the current day's, for `--api-date today`)."""
        return catalog_as_of(api_day(self.api_date))

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        """Raises FixturesError when --fixtures names a bad directory or file."""
        return cls(
            settings=settings,
            cache=ImageCache(settings.cache_bytes),
            signer=UrlSigner(settings.url_secret or secrets.token_hex(32), settings.url_ttl_seconds),
            journal=Journal(settings.journal_size),
            faults=FaultBook(),
            limiter=RateLimiter(settings.rate_limit_rpm, settings.rate_limit_ipm),
            latency=parse_latency(settings.latency),
            fixtures=load_fixtures(settings.fixtures) if settings.fixtures else None,
            api_date=settings.fixed_api_date,
        )


def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the app's Runtime."""
    return request.app.state.runtime
