"""CORS: browser apps may call the API from any origin; the admin surface only from trusted ones.

The API paths (`/v1/...`, Azure's `/openai/...`, image URLs) answer every origin, as OpenAI's do, and
expose OpenAI's response headers. The admin surface and the dashboard (`/__emulator/...`) answer
only the same origin and `--cors-origins` (default: localhost origins), so a page a developer
happens to open can neither read the journal nor schedule faults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

EXPOSED_HEADERS = ", ".join(
    [
        "x-request-id",
        "openai-processing-ms",
        "openai-version",
        "retry-after",
        "retry-after-ms",
        "x-should-retry",
        "x-emulator-worker",
        *(f"x-ratelimit-{what}-{unit}" for what in ("limit", "remaining", "reset") for unit in ("requests", "images")),
    ]
)
LOCALHOST = re.compile(r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?")
ADMIN_PREFIX = "/__emulator/"
SESSION_API = re.compile(r"/__emulator/sessions/[^/]+/(v1|openai)/")


@dataclass(frozen=True)
class CorsPolicy:
    """`admin_origins`: extra origins the admin surface answers; () with `localhost` True: the default."""

    admin_origins: tuple[str, ...] = ()
    localhost: bool = True

    @classmethod
    def from_setting(cls, value: str | None) -> CorsPolicy:
        """`--cors-origins`: comma-separated origins (`*`: any), or None for localhost origins only."""
        if value is None:
            return cls()
        origins = tuple(origin.strip().rstrip("/") for origin in value.split(",") if origin.strip())
        return cls(origins, localhost=False)

    def allows(self, path: str, origin: str, host: str | None) -> bool:
        """Whether a browser page at `origin` may call `path` on this server (reached as `host`)."""
        if not path.startswith(ADMIN_PREFIX) or SESSION_API.match(path):
            return True
        if host and urlsplit(origin).netloc == host:
            return True  # the same origin: the dashboard itself
        if "*" in self.admin_origins or origin in self.admin_origins:
            return True
        return self.localhost and LOCALHOST.fullmatch(origin) is not None


def preflight_headers(origin: str, requested: Mapping[str, str], methods: Sequence[str]) -> list[tuple[bytes, bytes]]:
    """The headers of an allowed preflight's 200."""
    headers = [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-methods", ", ".join(methods).encode()),
        (b"access-control-max-age", b"600"),
        (b"vary", b"Origin"),
    ]
    asked = requested.get("access-control-request-headers")
    if asked:
        headers.append((b"access-control-allow-headers", asked.encode("latin-1")))
    return headers


def response_headers(origin: str) -> list[tuple[bytes, bytes]]:
    """What an allowed cross-origin answer adds."""
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
        (b"vary", b"Origin"),
    ]
