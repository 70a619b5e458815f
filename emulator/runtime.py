"""The per-process objects every route shares (settings, image cache, URL signer)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request

from .image_cache import ImageCache
from .settings import Settings
from .urls import UrlSigner


@dataclass
class Runtime:
    settings: Settings
    cache: ImageCache
    signer: UrlSigner

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        return cls(
            settings=settings,
            cache=ImageCache(settings.cache_bytes),
            signer=UrlSigner(settings.url_secret or secrets.token_hex(32), settings.url_ttl_seconds),
        )


def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the app's Runtime."""
    return request.app.state.runtime
