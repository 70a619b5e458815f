"""Azure OpenAI's image paths, answered by the same endpoints as `/v1` (docs/azure.md):

- `POST /openai/deployments/{deployment}/images/generations` and `.../images/edits`, with a required
  `api-version` query; the path's deployment decides the model;
- `POST /openai/v1/images/generations` and `.../images/edits` (`api-version=preview` optional), where
  `model` names the deployment.

The entry (server/asgi.py) checks Azure's credentials first. Only envelopes and shapes differ from `/v1`:
Azure's 404s and api-version answers, its content-policy 400 and rate-limit 429, and per-image filter results.
"""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import Response

from images_emulator.api.routes import edits, generations
from images_emulator.api.runtime import Runtime
from images_emulator.contract.azure import AzureCall, check_version, deployed_model
from images_emulator.contract.azure_errors import (
    call_rate_limited,
    content_policy_violation,
    deployment_not_found,
    resource_not_found,
)
from images_emulator.contract.errors import ApiError
from images_emulator.harness.context import request_context
from images_emulator.harness.ratelimit import RATE_LIMIT_CODE

DEPLOYMENT_PATH = re.compile(r"/openai/deployments/([^/]+)/images/(generations|edits)")
V1_PATH = re.compile(r"/openai/v1/images/(generations|edits)")
HANDLERS = {"generations": generations.create_image, "edits": edits.create_image_edit}


def route(path: str) -> tuple[str | None, str] | None:
    """(deployment, endpoint name) of an Azure image path (deployment None: the v1 API); None: no such path."""
    if match := DEPLOYMENT_PATH.fullmatch(path):
        return match[1], match[2]
    if match := V1_PATH.fullmatch(path):
        return None, match[1]
    return None


async def azure_endpoint(request: Request, runtime: Runtime) -> Response:
    """Any request to `/openai/...`, its credentials already checked."""
    found = route(request.scope["path"]) if request.method == "POST" else None
    if found is None:
        raise resource_not_found()
    deployment, name = found
    version = request.query_params.get("api-version")
    error = check_version(version, deployment_path=deployment is not None, edits=name == "edits")
    if error is not None:
        raise error
    model = None
    if deployment is not None:
        model = deployed_model(deployment, runtime.config.azure_deployments, runtime.catalog())
        if model is None:
            raise deployment_not_found()
    context = request_context(request.scope)
    context.azure = AzureCall(model)
    try:
        return await HANDLERS[name](request, runtime)
    except ApiError as exc:
        if context.fault == "content_policy":  # a fault or fixture refusing the prompt: Azure's shape
            raise content_policy_violation() from exc
        if exc.code == RATE_LIMIT_CODE and "retry-after" in exc.headers:  # the gateway's answer to a wait
            raise call_rate_limited(name, version, exc) from exc
        raise
