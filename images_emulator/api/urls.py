"""Signed, expiring, stateless image URLs for `response_format=url`.

The token carries everything needed to re-render the image (the RenderSpec), so any replica that
shares the secret can serve it: `<payload>.<signature>` with payload = base64url(zlib(JSON)).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import zlib
from dataclasses import asdict
from typing import Any

from images_emulator.contract.errors import ApiError

URL_PREFIX = "/images/"


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def blob_key(spec: Any) -> str:
    """Where the store keeps the bytes behind a URL that can't be re-rendered from its spec."""
    raw = json.dumps(asdict(spec), sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return "url-image:" + hashlib.sha256(raw).hexdigest()


class UrlSigner:
    """Signs and verifies image URL tokens with HMAC-SHA256."""

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._key = secret.encode()
        self.ttl_seconds = ttl_seconds

    def _sign(self, payload: str) -> str:
        return _b64e(hmac.new(self._key, payload.encode("utf-8", "surrogatepass"), hashlib.sha256).digest())

    def lifetime(self) -> str:
        """The URL lifetime in words: `60 minutes`, `1 minute`, `30 seconds`."""
        minutes, seconds = divmod(self.ttl_seconds, 60)
        if seconds:
            return f"{self.ttl_seconds} second{'s' if self.ttl_seconds != 1 else ''}"
        return f"{minutes} minute{'s' if minutes != 1 else ''}"

    def token(self, spec: Any, now: float | None = None) -> str:
        """A token for `spec` (a dataclass) that expires ttl_seconds from now."""
        expires = int((now if now is not None else time.time()) + self.ttl_seconds)
        document = {"exp": expires, "spec": asdict(spec)}
        raw = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
        payload = _b64e(zlib.compress(raw, 9))
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str, now: float | None = None) -> dict[str, Any]:
        """The spec fields of a valid token, or a 403 ApiError saying what is wrong."""
        payload, _, signature = token.partition(".")
        expected = self._sign(payload).encode()
        if not payload or not hmac.compare_digest(signature.encode("utf-8", "surrogatepass"), expected):
            raise ApiError(
                403,
                "This image URL's signature is invalid: it was not issued by this server (or its "
                "EMULATOR_URL_SECRET changed).",
                code="invalid_signature",
            )
        try:
            document = json.loads(zlib.decompress(_b64d(payload)).decode("utf-8", "surrogatepass"))
        except (ValueError, zlib.error, binascii.Error) as exc:
            raise ApiError(403, "This image URL is malformed.", code="invalid_signature") from exc
        if document["exp"] < (now if now is not None else time.time()):
            raise ApiError(
                403,
                f"This image URL has expired: image URLs are valid for {self.lifetime()} after the request "
                "that returned them.",
                code="url_expired",
            )
        spec: dict[str, Any] = document["spec"]
        return spec
