"""The request parameters of each endpoint, as data: JSON type, which models take them, their values.

validation.py checks a request against these tables; the OpenAPI document and the drift test read
them too. Table order is the order OpenAI checks in (contract §11).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from images_emulator.contract import errors
from images_emulator.contract.catalog import GIF_FRAMES, SVG_EFFORTS, EditRules, ModelSpec, SizeRule
from images_emulator.contract.job import SvgOptions

Kind = Literal["string", "integer", "boolean", "enum", "size", "object"]
_UNSET = object()  # Param.off_value: none


@dataclass(frozen=True)
class Param:
    """One request parameter: its JSON type, which models take it, and its allowed values."""

    name: str
    kind: Kind
    supported_by: Callable[[ModelSpec], bool] = lambda spec: True
    values: Callable[[ModelSpec], Sequence[str]] | None = None  # enum values, in OpenAI's message order
    aliases: Callable[[ModelSpec], Mapping[str, str]] | None = None  # accepted, not listed in messages
    bounds: Callable[[ModelSpec], tuple[int, int | None]] | None = None  # (min, max or None: unbounded)
    # kind "size": an open value checked by this rule instead of the enum, for models that have one.
    rule: Callable[[ModelSpec], SizeRule | None] | None = None
    required: bool = False
    off_value: object = _UNSET  # a model that does not take the param still accepts this value
    # kind "object": checks the object's own fields and returns the typed value.
    parse: Callable[[dict[str, Any]], Any] | None = None


def _has(attr: str) -> Callable[[ModelSpec], bool]:
    return lambda spec: bool(getattr(spec, attr))


def _values(attr: str) -> Callable[[ModelSpec], Sequence[str]]:
    return lambda spec: getattr(spec, attr)


def _takes_format(name: str) -> Callable[[ModelSpec], bool]:
    return lambda spec: name in spec.output_formats


def _size_rule(spec: ModelSpec) -> SizeRule | None:
    return spec.size_rule


def rule_of(param: Param, spec: ModelSpec) -> SizeRule | None:
    """The open-size rule `param` follows for `spec` (None: its values are a list)."""
    return param.rule(spec) if param.rule is not None else None


def edit_rules(spec: ModelSpec) -> EditRules:
    assert spec.edits is not None, f"{spec.name} takes no edits"
    return spec.edits


PROMPT = Param("prompt", "string", required=True)
N = Param("n", "integer", bounds=lambda spec: (1, spec.n_max))
QUALITY = Param(
    "quality",
    "enum",
    supported_by=_has("qualities"),
    values=_values("qualities"),
    aliases=lambda spec: spec.quality_aliases,
)
SIZE = Param("size", "size", values=_values("sizes"), rule=_size_rule)
STYLE = Param("style", "enum", supported_by=_has("styles"), values=_values("styles"))
RESPONSE_FORMAT = Param(
    "response_format", "enum", supported_by=_has("response_formats"), values=_values("response_formats")
)
OUTPUT_FORMAT = Param(
    "output_format", "enum", supported_by=_has("output_formats"), values=_values("output_formats")
)
OUTPUT_COMPRESSION = Param(
    "output_compression", "integer", supported_by=_has("output_formats"), bounds=lambda spec: (0, 100)
)
BACKGROUND = Param("background", "enum", supported_by=_has("backgrounds"), values=_values("backgrounds"))
MODERATION = Param("moderation", "enum", supported_by=_has("moderations"), values=_values("moderations"))
STREAM = Param("stream", "boolean", supported_by=_has("streaming"), off_value=False)
PARTIAL_IMAGES = Param(
    "partial_images", "integer", supported_by=_has("streaming"), bounds=lambda spec: (0, 3), off_value=0
)
USER = Param("user", "string")
SAFETY_IDENTIFIER = Param("safety_identifier", "string")
COMPLEXITY = Param("complexity", "enum", supported_by=_has("complexities"), values=_values("complexities"))
FRAME_COUNT = Param("frame_count", "integer", supported_by=_takes_format("gif"), bounds=lambda spec: GIF_FRAMES)
FRAME_DURATION_MS = Param(
    "frame_duration_ms", "integer", supported_by=_takes_format("gif"), bounds=lambda spec: (0, None)
)


def parse_svg(value: dict[str, Any]) -> SvgOptions:
    """`{"model": str, "reasoning": {"effort": ...}}` (PY-NEW `Svg`); unknown keys and bad values are 400s."""
    check_unknown_keys(value, {"model", "reasoning"}, prefix="svg.")
    model = value.get("model")
    if model is None:
        raise errors.missing_parameter("svg.model")
    if not isinstance(model, str):
        raise errors.invalid_type("svg.model", "a string", errors.json_type_name(model))
    if model == "":
        raise errors.empty_string("svg.model")
    reasoning = value.get("reasoning")
    if reasoning is None:
        return SvgOptions(model)
    if not isinstance(reasoning, dict):
        raise errors.invalid_type("svg.reasoning", "an object", errors.json_type_name(reasoning))
    check_unknown_keys(reasoning, {"effort"}, prefix="svg.reasoning.")
    effort = reasoning.get("effort")
    if effort is not None and not isinstance(effort, str):
        expected = f"one of {errors.quote_list(SVG_EFFORTS, 'or')}"
        raise errors.invalid_type("svg.reasoning.effort", expected, errors.json_type_name(effort))
    if effort is not None and effort not in SVG_EFFORTS:
        raise errors.invalid_value("svg.reasoning.effort", effort, SVG_EFFORTS)
    return SvgOptions(model, effort)


SVG = Param("svg", "object", supported_by=_takes_format("svg"), parse=parse_svg)

GENERATION_PARAMS: tuple[Param, ...] = (
    PROMPT,
    N,
    QUALITY,
    SIZE,
    STYLE,
    RESPONSE_FORMAT,
    OUTPUT_FORMAT,
    OUTPUT_COMPRESSION,
    BACKGROUND,
    MODERATION,
    STREAM,
    PARTIAL_IMAGES,
    COMPLEXITY,
    FRAME_COUNT,
    FRAME_DURATION_MS,
    SVG,
    USER,
    SAFETY_IDENTIFIER,
)

# Parameters whose presence makes a model-less generation use a GPT image model (contract §2).
GPT_ONLY_PARAMS = (
    "background",
    "moderation",
    "output_compression",
    "output_format",
    "partial_images",
    "stream",
)
GPT_ONLY_EDIT_PARAMS = (*GPT_ONLY_PARAMS, "input_fidelity")  # the same for a model-less edit

# Parameters whose JSON `null` counts as sent once the API refuses it (ApiRules.null_response_format_refused).
NULL_IS_SENT = ("response_format",)
FORM_OBJECTS = ("svg",)  # objects a multipart body sends as bracketed fields (PY-NEW: `svg[model]`)


def check_unknown_keys(body: Mapping[str, Any], known: set[str], prefix: str = "") -> None:
    for key in body:
        if key not in known:
            raise errors.unknown_parameter(prefix + key)


INPUT_FIDELITIES = ("high", "low")  # S `InputFidelity` order
EDIT_FORM_FILES = ("image", "image[]", "mask", "markup")  # multipart file parts (contract §5.1, §16)
EDIT_JSON_REFS = ("images", "mask", "markup")  # JSON image references (contract §5.2)
VARIATION_FILES = ("image", "image[]")  # `image[]` is known so that it gets the invalid_type answer


EDIT_QUALITY = Param(
    "quality",
    "enum",
    supported_by=lambda spec: bool(edit_rules(spec).qualities),
    values=lambda spec: edit_rules(spec).qualities,
    aliases=lambda spec: spec.quality_aliases,
)
EDIT_SIZE = Param("size", "size", values=lambda spec: edit_rules(spec).sizes, rule=_size_rule)
# Every edit model parses it; models without input fidelity then refuse `high` (check_input_fidelity).
INPUT_FIDELITY = Param("input_fidelity", "enum", values=lambda spec: INPUT_FIDELITIES)

# multipart/form-data edits: no `moderation`, no `style` (contract §5.1).
EDIT_PARAMS: tuple[Param, ...] = (
    PROMPT,
    N,
    EDIT_QUALITY,
    EDIT_SIZE,
    RESPONSE_FORMAT,
    OUTPUT_FORMAT,
    OUTPUT_COMPRESSION,
    BACKGROUND,
    INPUT_FIDELITY,
    STREAM,
    PARTIAL_IMAGES,
    COMPLEXITY,
    FRAME_COUNT,
    FRAME_DURATION_MS,
    SVG,
    USER,
    SAFETY_IDENTIFIER,
)
# application/json edits (GPT models only): `moderation` yes, `response_format` no (contract §5.2).
JSON_EDIT_PARAMS: tuple[Param, ...] = (
    PROMPT,
    N,
    EDIT_QUALITY,
    EDIT_SIZE,
    OUTPUT_FORMAT,
    OUTPUT_COMPRESSION,
    BACKGROUND,
    MODERATION,
    INPUT_FIDELITY,
    STREAM,
    PARTIAL_IMAGES,
    COMPLEXITY,
    FRAME_COUNT,
    FRAME_DURATION_MS,
    SVG,
    USER,
    SAFETY_IDENTIFIER,
)
VARIATION_PARAMS: tuple[Param, ...] = (N, SIZE, RESPONSE_FORMAT, USER)


