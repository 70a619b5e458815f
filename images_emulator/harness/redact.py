"""Credentials masked before anything reaches the journal: headers that can carry one, key-like body fields.

A header value keeps its scheme (`Bearer sk-****wxyz`, whatever the spacing; other schemes such as
Basic show nothing of their credentials); a value without a scheme is masked whole; a cookie keeps
its names. Body fields whose name says they hold a secret (api_key, password, token...) are masked
the same way, in JSON, multipart and text previews.
"""

from __future__ import annotations

import re
from typing import Any

from images_emulator.contract.errors import mask_key

CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "x-emulator-admin-key", "cookie"}
)
SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9_-]*)\s+(.*?)\s*", re.DOTALL)
SECRET_NAME = re.compile(r"api[_-]?key|secret|password|passwd|credential|authorization|(^|[_-])token$", re.I)
# `name=value` / `"name": "value"` in text that is not JSON the endpoint parsed (a form, a broken body).
SECRET_IN_TEXT = re.compile(
    r"""((?:api[_-]?key|secret|password|passwd|token|authorization)["']?\s*[:=]\s*["']?)([^"'&\s,;}]+)""", re.I
)


def mask_header(name: str, value: str) -> str:
    """`value` of header `name` as the journal shows it."""
    if name not in CREDENTIAL_HEADERS:
        return value
    if name == "cookie":
        return "; ".join(
            f"{cookie.partition('=')[0].strip()}=****" for cookie in value.split(";") if cookie.strip()
        )
    scheme = SCHEME.fullmatch(value) if name.endswith("authorization") else None
    if scheme is not None and scheme.group(2):
        if scheme.group(1).lower() != "bearer":  # Basic, Digest...: any part of the encoding gives a password away
            return f"{scheme.group(1)} ****"
        return f"{scheme.group(1)} {mask_key(scheme.group(2))}"
    return mask_key(value.strip())


def is_secret_field(name: str) -> bool:
    return SECRET_NAME.search(name) is not None


def mask_field(value: Any) -> Any:
    """A secret field's value: a string masked like a key, anything else (a number, an object) hidden."""
    return mask_key(value) if isinstance(value, str) else "****"


def mask_text(text: str) -> str:
    """`api_key=sk-...` and the like in free text, masked."""
    return SECRET_IN_TEXT.sub(lambda m: m.group(1) + mask_key(m.group(2)), text)
