"""Azure OpenAI's error envelopes: `{"error": {"code", "message", ...}}`, no `type`/`param` (docs/azure.md).

Sources of the wording (also in docs/choices.md):
- 401: Azure's answer quoted in issue 15;
- DeploymentNotFound: its answer as users quote it (e.g. Azure-Samples/azure-search-openai-demo-csharp#379);
- `Resource not found` for a missing api-version: MicrosoftDocs/azure-docs#114602, ThinkInAIXYZ/deepchat#262;
- `API version not supported` (400 BadRequest), also for a dated version on `/openai/v1`: as Azure AI
  Foundry users quote it;
- the content-policy refusal: BerriAI/litellm#16072 (dall-e-3 on Azure);
- the 429 over a rate limit: Azure's answer as its users quote it for every operation (e.g.
  jasonacox/TinyLLM#17, alex-wolf-ps/dbchatprov2#2), "1 second" in the singular; the generations
  operation's name as Azure's logs give it (`ImageGenerations_Create`), the edits one by analogy.
"""

from __future__ import annotations

from typing import Any

from images_emulator.contract.errors import ApiError


class AzureError(ApiError):
    """An error in Azure's own envelope: `{"error": {"code", "message", ...extra}}` (no `type`/`param`)."""

    def error_object(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


ACCESS_DENIED_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for "
    "an active subscription and use a correct regional API endpoint for your resource."
)
DEPLOYMENT_NOT_FOUND_MESSAGE = (
    "The API deployment for this resource does not exist. If you created the deployment within the last 5 "
    "minutes, please wait a moment and try again."
)
CONTENT_POLICY_MESSAGE = (
    "Your request was rejected as a result of our safety system. Your prompt may contain text that is not "
    "allowed by our safety system."
)

CALL_RATE_LIMIT_MESSAGE = (
    "Requests to the {operation} Operation under Azure OpenAI API version {version} have exceeded call rate limit "
    "of your current OpenAI S0 pricing tier. Please retry after {seconds} second{plural}. Please go here: "
    "https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."
)
OPERATIONS = {"generations": "ImageGenerations_Create", "edits": "ImageGenerations_Edit"}
V1_VERSION = "v1"  # what the message names on `/openai/v1` without an api-version


def access_denied() -> AzureError:
    return AzureError(401, ACCESS_DENIED_MESSAGE, code="401")


def deployment_not_found() -> AzureError:
    return AzureError(404, DEPLOYMENT_NOT_FOUND_MESSAGE, code="DeploymentNotFound")


def resource_not_found() -> AzureError:
    """A path Azure does not serve, or a deployment path without `api-version`."""
    return AzureError(404, "Resource not found", code="404")


def api_version_not_supported() -> AzureError:
    return AzureError(400, "API version not supported", code="BadRequest")


def content_policy_violation() -> AzureError:
    """Azure's 400 for a prompt its safety system refuses (the `content_policy` fault on Azure's paths).
    The filtered category matches the OpenAI fault's moderation category (violence)."""
    results = {
        "hate": {"filtered": False, "severity": "safe"},
        "jailbreak": {"detected": False, "filtered": False},
        "self_harm": {"filtered": False, "severity": "safe"},
        "sexual": {"filtered": False, "severity": "safe"},
        "violence": {"filtered": True, "severity": "high"},
    }
    return AzureError(
        400,
        CONTENT_POLICY_MESSAGE,
        code="content_policy_violation",
        extra={
            "type": "invalid_request_error",
            "inner_error": {"code": "ResponsibleAIPolicyViolation", "content_filter_results": results},
        },
    )


def call_rate_limited(endpoint: str, version: str | None, limited: ApiError) -> AzureError:
    """Azure's 429 for `limited` (the `rate_limit` fault's or `--rate-limit-*`'s 429, whose headers it keeps) on
    `endpoint` ("generations" or "edits"); the wait it names is the 429's `retry-after`."""
    retry_after = limited.headers["retry-after"]
    seconds = int(retry_after) if retry_after.isdigit() else 1
    message = CALL_RATE_LIMIT_MESSAGE.format(
        operation=OPERATIONS[endpoint],
        version=version or V1_VERSION,
        seconds=seconds,
        plural="" if seconds == 1 else "s",
    )
    return AzureError(429, message, code="429", headers=limited.headers)
