"""The three image endpoints, each named once: its path, the noun pictures and URLs use, its stream events."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

EndpointName = Literal["generations", "edits", "variations"]


@dataclass(frozen=True)
class Endpoint:
    name: EndpointName
    path: str  # the OpenAI path
    noun: str  # one request's work: "a generation", shown in captions and carried by image URLs
    events: str | None  # the SSE event prefix (`image_generation.completed`); None: no streaming

    def event(self, kind: str) -> str:
        """The `type` of a stream event of this endpoint (`partial_image`, `completed`)."""
        if self.events is None:
            raise ValueError(f"{self.name} does not stream")
        return f"{self.events}.{kind}"


GENERATIONS = Endpoint("generations", "/v1/images/generations", "generation", "image_generation")
EDITS = Endpoint("edits", "/v1/images/edits", "edit", "image_edit")
VARIATIONS = Endpoint("variations", "/v1/images/variations", "variation", None)

ENDPOINTS: MappingProxyType[EndpointName, Endpoint] = MappingProxyType(
    {endpoint.name: endpoint for endpoint in (GENERATIONS, EDITS, VARIATIONS)}
)
BY_NOUN = MappingProxyType({endpoint.noun: endpoint for endpoint in ENDPOINTS.values()})


def endpoint_named(text: str) -> Endpoint | None:
    """The endpoint a user names: `/v1/images/edits`, `images/edits`, `/images/edits` or `edits` (None: none)."""
    name = text.strip().strip("/").removeprefix("v1/").removeprefix("images/")
    return next((endpoint for endpoint in ENDPOINTS.values() if endpoint.name == name), None)
