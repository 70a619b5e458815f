"""The admin key (`--admin-key`) on the admin surface `/__emulator/...`, and JSON-only admin writes.

With an admin key set (it defaults to `--api-key`), every `/__emulator/...` path but the session API
paths (`/__emulator/sessions/<id>/v1/...`, which take the API key like `/v1`) needs it, as
`X-Emulator-Admin-Key: KEY`, `Authorization: Bearer KEY`, or HTTP Basic with KEY as the password (any
user): a browser then prompts for it on the dashboard and re-sends it on the dashboard's own fetches.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
from collections.abc import Mapping

from images_emulator.contract.errors import ApiError

ADMIN_PREFIX = "/__emulator"
ADMIN_KEY_HEADER = "x-emulator-admin-key"
CHALLENGE = {"www-authenticate": 'Basic realm="images-emulator"'}


def is_admin_path(path: str) -> bool:
    """Whether `path` (its session API prefix already removed) is on the admin surface."""
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


def offered_keys(headers: Mapping[str, str]) -> list[str]:
    """Every admin key the request offers: the admin header, a bearer token, a Basic password."""
    keys = [headers[ADMIN_KEY_HEADER].strip()] if ADMIN_KEY_HEADER in headers else []
    scheme, _, value = headers.get("authorization", "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        keys.append(value)
    elif scheme.lower() == "basic" and value:
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            keys.append(base64.b64decode(value, validate=True).decode("utf-8").partition(":")[2])
    return keys


def _same(offered: str, expected: str) -> bool:
    return hmac.compare_digest(offered.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def check_admin_key(headers: Mapping[str, str], expected: str | None) -> ApiError | None:
    """A 401 (with a Basic challenge) unless the request offers `expected`; None when no key is set."""
    if expected is None:
        return None
    offered = offered_keys(headers)
    if any(_same(key, expected) for key in offered):
        return None
    what = "an incorrect admin key" if offered else "no admin key"
    return ApiError(
        401,
        f"The emulator's admin API needs its admin key, and this request has {what}. Send it as "
        "'X-Emulator-Admin-Key: KEY', 'Authorization: Bearer KEY', or HTTP Basic with KEY as the password "
        "(the server's --admin-key, or its --api-key when no admin key is set).",
        code="invalid_admin_key",
        headers=CHALLENGE,
    )


def check_admin_write(method: str, headers: Mapping[str, str]) -> ApiError | None:
    """A 400 for an admin write whose body is not JSON: a foreign page can send a `text/plain` POST
    without a preflight, never an `application/json` one."""
    if method not in ("POST", "PUT", "PATCH", "DELETE"):
        return None
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    has_body = headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers
    if kind == "application/json" or kind.endswith("+json") or (not kind and not has_body):
        return None
    return ApiError(
        400,
        f"Invalid Content-Type header ({kind or 'none'}): the admin API takes JSON bodies with "
        "'Content-Type: application/json'.",
        code="invalid_content_type",
    )
