"""`python -m images_emulator.server.healthcheck`: exit 0 when this machine's emulator answers GET /health
with 200, else 1 (the container's HEALTHCHECK; it follows EMULATOR_PORT and EMULATOR_HOST like the server)."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from images_emulator.server.settings import Settings

WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def health_url(settings: Settings) -> str:
    """Where the server of `settings` answers /health from this machine (loopback for a wildcard bind)."""
    host = "127.0.0.1" if settings.host in WILDCARD_HOSTS else settings.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port}/health"


def main() -> int:
    url = health_url(Settings())
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"images-emulator healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
