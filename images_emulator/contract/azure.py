"""Azure OpenAI's surface over the same API: api-versions, credentials, deployments and the per-image
content filter results of its responses (its error envelopes: contract/azure_errors.py).

Sources (cited again in docs/choices.md):
- api-versions: the folders of Azure/azure-rest-api-specs
  `specification/cognitiveservices/data-plane/AzureOpenAI/inference/{stable,preview}` whose spec has
  `/deployments/{deployment-id}/images/generations` (since 2023-12-01-preview) and `.../images/edits`
  (since 2025-04-01-preview).
- filter results: that spec's `examples/image_generation.yaml` (2025-04-01-preview).
- which api-version gets which error: see contract/azure_errors.py for the sources of each wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from images_emulator.contract.azure_errors import (
    AzureError,
    access_denied,
    api_version_not_supported,
    resource_not_found,
)
from images_emulator.contract.catalog import MODELS, Catalog

STABLE_VERSIONS = ("2024-02-01", "2024-06-01", "2024-10-21")
PREVIEW_VERSIONS = (
    "2023-12-01-preview",
    "2024-02-15-preview",
    "2024-03-01-preview",
    "2024-04-01-preview",
    "2024-05-01-preview",
    "2024-07-01-preview",
    "2024-08-01-preview",
    "2024-09-01-preview",
    "2024-10-01-preview",
    "2024-12-01-preview",
    "2025-01-01-preview",
    "2025-02-01-preview",
    "2025-03-01-preview",
    "2025-04-01-preview",
)
API_VERSIONS = frozenset(STABLE_VERSIONS + PREVIEW_VERSIONS)
EDITS_SINCE = "2025-04-01"  # the first api-version whose spec has `/images/edits`
V1_VERSIONS = frozenset({"preview"})  # `/openai/v1/...` takes no dated version (absent is fine too)


def edits_in(version: str) -> bool:
    """Whether `version` (one of API_VERSIONS) has the edits operation."""
    return version[:10] >= EDITS_SINCE


def check_key(api_key: str, authorization: str, expected: str | None) -> AzureError | None:
    """Azure's 401 unless `api-key: KEY` or `Authorization: Bearer TOKEN` (Entra ID) carries a credential;
    with `--api-key`, it must be that key."""
    scheme, _, token = authorization.strip().partition(" ")
    credentials = [c for c in (api_key.strip(), token.strip() if scheme.lower() == "bearer" else "") if c]
    if not credentials or (expected is not None and expected not in credentials):
        return access_denied()
    return None


def check_version(version: str | None, *, deployment_path: bool, edits: bool) -> AzureError | None:
    """Azure's answer to the request's `api-version` (None: absent), or None when it is served."""
    if not deployment_path:
        return None if version is None or version in V1_VERSIONS else api_version_not_supported()
    if version is None:
        return resource_not_found()
    if version not in API_VERSIONS:
        return api_version_not_supported()
    if edits and not edits_in(version):
        return resource_not_found()
    return None


def parse_deployments(text: str | None) -> Mapping[str, str]:
    """`NAME=MODEL[,NAME=MODEL...]` as name → model; ValueError for a malformed entry or an unknown model."""
    deployments: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, sep, model = (part.strip() for part in item.partition("="))
        if not sep or not name or not model or "/" in name:
            raise ValueError(f"azure-deployments entries are NAME=MODEL, not {item.strip()!r}")
        if model not in MODELS:
            raise ValueError(f"azure-deployments: {name}={model} names no model of the catalog ({', '.join(MODELS)})")
        deployments[name] = model
    return MappingProxyType(deployments)


def deployed_model(name: str, deployments: Mapping[str, str], catalog: Catalog) -> str | None:
    """The model deployment `name` serves: a configured one, else the model of that name served on the
    catalog's day; None when there is no such deployment."""
    if name in deployments:
        return deployments[name]
    return name if catalog.model(name) is not None else None


@dataclass(frozen=True)
class AzureCall:
    """A request on Azure's paths. `model` is the model its path's deployment serves; None on the v1 API,
    where the body's `model` names the deployment."""

    model: str | None = None


def content_filter_results() -> dict[str, Any]:
    """An image's `content_filter_results` in a successful answer (the spec's example: every category safe)."""
    return {name: {"severity": "safe", "filtered": False} for name in ("sexual", "violence", "hate", "self_harm")}


def prompt_filter_results() -> dict[str, Any]:
    """An image's `prompt_filter_results` in a successful answer (the spec's example)."""
    return {
        **content_filter_results(),
        "profanity": {"detected": False, "filtered": False},
        "custom_blocklists": {"filtered": False, "details": []},
    }
