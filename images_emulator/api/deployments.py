"""Azure's deployments in front of validation: the model a request on Azure's paths is for."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from images_emulator.api.runtime import Runtime
from images_emulator.contract.azure import deployed_model
from images_emulator.contract.azure_errors import deployment_not_found
from images_emulator.contract.catalog import Catalog
from images_emulator.contract.errors import missing_parameter
from images_emulator.harness.context import request_context


def deployed(request: Request, runtime: Runtime, body: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """`body` with `model` set to the model the request's Azure deployment serves (off Azure's paths,
    `body` itself). A deployment path's deployment wins over any `model` sent (Azure ignores it); on the
    v1 API, `model` names the deployment. The journal keeps the body as sent."""
    call = request_context(request.scope).azure
    if call is None:
        return body
    model = call.model
    if model is None:
        name = body.get("model")
        if name is None:
            raise missing_parameter("model")
        if not isinstance(name, str):
            return body  # validation refuses its type, in the usual words
        model = deployed_model(name, runtime.config.azure_deployments, catalog)
        if model is None:
            raise deployment_not_found()
    return {**body, "model": model}
