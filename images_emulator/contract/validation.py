"""Request values + the model's catalog entry → typed values, or the ApiError OpenAI would answer.

Check order follows contract §11: unknown keys → model → parameters the model does not take →
each parameter in table order (prompt → images → n → enums → ranges) → cross-field rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from images_emulator.contract import errors
from images_emulator.contract.catalog import (
    GIF_FRAMES,
    OUTPUT_FORMATS,
    SVG_EFFORTS,
    Catalog,
    EditRules,
    ModelSpec,
    SizeRule,
)
from images_emulator.contract.errors import ApiError
from images_emulator.contract.job import Job, SvgOptions
from images_emulator.contract.resolve import build_job

Kind = Literal["string", "integer", "boolean", "enum", "size", "object"]
_UNSET = object()


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


def _rule(param: Param, spec: ModelSpec) -> SizeRule | None:
    return param.rule(spec) if param.rule is not None else None


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

_BOOL_STRINGS = {"true": True, "false": False}


# Parameters whose JSON `null` counts as sent once the API refuses it (ApiRules.null_response_format_refused).
NULL_IS_SENT = ("response_format",)


def drop_nulls(body: Mapping[str, Any], keep: Sequence[str] = ()) -> dict[str, Any]:
    """JSON `null` means the parameter was omitted (contract §3), except for the names in `keep`."""
    return {k: v for k, v in body.items() if v is not None or k in keep}


def kept_nulls(catalog: Catalog) -> tuple[str, ...]:
    """The parameters whose `null` is refused like a value on this API date."""
    return NULL_IS_SENT if catalog.rules.null_response_format_refused else ()


def coerce(param: Param, value: Any, spec: ModelSpec, *, form: bool) -> Any:
    """The value as the param's Python type, or raise OpenAI's invalid_type error."""
    if form and isinstance(value, str) and param.kind in ("integer", "boolean"):
        return _coerce_form_string(param, value)
    if param.kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise errors.invalid_type(param.name, "an integer", errors.json_type_name(value))
    if param.kind == "boolean":
        if isinstance(value, bool):
            return value
        raise errors.invalid_type(param.name, "a boolean", errors.json_type_name(value))
    if param.kind == "object":
        if isinstance(value, dict):
            return value
        raise errors.invalid_type(param.name, "an object", errors.json_type_name(value))
    if isinstance(value, str):
        return value
    expected = "a string"
    if param.kind in ("enum", "size") and param.values is not None and _rule(param, spec) is None:
        expected = f"one of {errors.quote_list(param.values(spec), 'or')}"
    raise errors.invalid_type(param.name, expected, errors.json_type_name(value))


def _coerce_form_string(param: Param, value: str) -> int | bool:
    """Multipart fields arrive as text: `n="2"`, `stream="true"`."""
    text = value.strip()
    if param.kind == "integer":
        if text.lstrip("+-").isdigit() and text.isascii():
            return int(text)
        raise errors.unconvertible_string(param.name, "an integer")
    if text.lower() in _BOOL_STRINGS:
        return _BOOL_STRINGS[text.lower()]
    raise errors.unconvertible_string(param.name, "a boolean")


def check_value(param: Param, value: Any, spec: ModelSpec, *, today: bool) -> Any:
    """The accepted (possibly alias-mapped) value, or raise the matching ApiError (`today`: the wording
    of the API since 2026-05-12)."""
    if param.kind == "size" and param.values is not None:
        check_size(value, param.values(spec), _rule(param, spec), today=today)
    elif param.kind == "enum" and param.values is not None:
        aliases = param.aliases(spec) if param.aliases else {}
        if value in aliases:
            return aliases[value]
        if value not in param.values(spec):
            raise errors.invalid_value(param.name, value, param.values(spec))
    if param.bounds is not None:
        low, high = param.bounds(spec)
        error = errors.integer_out_of_range(param.name, value, low, high)
        if error is not None:
            raise error
    if param.name == "prompt":
        check_prompt(value, spec.prompt_max)
    if param.parse is not None:
        return param.parse(value)
    return value


def check_size(value: str, sizes: Sequence[str], rule: SizeRule | None, *, today: bool) -> None:
    """A size the model takes: by its open-size rule, else from its list."""
    if rule is not None:
        problem = rule.check(value)
        if problem is not None:
            raise errors.open_size_error(value, problem, rule, today=today)
    elif value not in sizes:
        raise errors.invalid_size(value, sizes, today=today)


def check_prompt(prompt: str, limit: int) -> None:
    if prompt == "":
        raise errors.empty_string("prompt")
    if len(prompt) > limit:
        raise errors.string_too_long("prompt", limit, len(prompt))


def check_unknown_keys(body: Mapping[str, Any], known: set[str], prefix: str = "") -> None:
    for key in body:
        if key not in known:
            raise errors.unknown_parameter(prefix + key)


def resolve_model(body: Mapping[str, Any], catalog: Catalog, default: str | None) -> ModelSpec:
    """The ModelSpec named by `model` (or the endpoint's `default`; None: `model` is required), or the
    API's answer for an unknown or retired model."""
    name = body.get("model")
    if name is None:
        if default is None:
            raise errors.missing_parameter("model")
        name = default
    elif not isinstance(name, str):
        raise errors.invalid_type("model", "a string", errors.json_type_name(name))
    spec = catalog.model(name)
    if spec is None:
        raise errors.unknown_model(name, today=catalog.rules.user_error_wording)
    return spec


def default_generation_model(body: Mapping[str, Any], catalog: Catalog) -> str | None:
    """The generation model of a request without `model` (contract §2), None when it is required."""
    gpt = catalog.rules.generation_gpt_default
    gpt_only = any(body.get(p) not in (None, False, "false") for p in GPT_ONLY_PARAMS)
    if gpt is not None and gpt_only and catalog.model(gpt) is not None:
        return gpt
    return catalog.rules.generation_default


def typed_values(
    body: Mapping[str, Any], params: Sequence[Param], spec: ModelSpec, *, form: bool = False, today: bool = False
) -> dict[str, Any]:
    """The typed, checked values of `params` in `body` (once `refuse_unsupported` has passed)."""
    values: dict[str, Any] = {}
    for param in params:
        if param.name not in body:
            if param.required:
                raise errors.missing_parameter(param.name)
            continue
        typed = coerce(param, body[param.name], spec, form=form)
        if param.supported_by(spec):
            values[param.name] = check_value(param, typed, spec, today=today)
    return values


def _param_named(params: Sequence[Param], name: str) -> Param | None:
    return next((p for p in params if p.name == name), None)


def _is_off_value(param: Param, value: Any, spec: ModelSpec, form: bool) -> bool:
    if param.off_value is _UNSET:
        return False
    try:
        return coerce(param, value, spec, form=form) == param.off_value
    except ApiError:
        return False


def check_output_options(values: Mapping[str, Any], *, mask: bool = False) -> None:
    """Cross-field rules of the GPT output options (contract §11, §16); `mask`: an edit sent one."""
    output_format = values.get("output_format", "png")
    rules = OUTPUT_FORMATS[output_format]
    for name, needs in (("frame_count", "gif"), ("frame_duration_ms", "gif"), ("svg", "svg")):
        if name in values and output_format != needs:
            raise errors.unsupported_parameter(name, f"is only supported with output_format '{needs}'")
    refused = {
        "stream": not rules.streaming and values.get("stream", False),
        "partial_images": not rules.streaming and values.get("partial_images", 0) > 0,
        "output_compression": not rules.compression and "output_compression" in values,
        "mask": not rules.mask and mask,
    }
    for name, refuse in refused.items():
        if refuse:
            raise errors.unsupported_parameter(name, f"is not supported with output_format '{output_format}'")
    if rules.n_max is not None and values.get("n", 1) > rules.n_max:
        raise ApiError(
            400,
            f"Invalid 'n': output_format '{output_format}' requires n={rules.n_max}, but got {values['n']} instead.",
            param="n",
            code="invalid_value",
        )
    if values.get("background") == "transparent" and output_format == "jpeg":
        raise ApiError(
            400,
            "Transparent background is not supported for output_format 'jpeg'. "
            "Set output_format to be png or webp when background is 'transparent'.",
            param="background",
            code="invalid_value",
        )
    if output_format == "png" and values.get("output_compression", 100) < 100:
        raise ApiError(
            400,
            "Compression less than 100 is not supported for PNG output format",
            type="image_generation_user_error",
            code="invalid_png_output_compression",
        )


def validate_generation(body: Mapping[str, Any], catalog: Catalog) -> Job:
    """A `/v1/images/generations` JSON body → Job, or the ApiError OpenAI would answer on `catalog.day`."""
    body = drop_nulls(body, kept_nulls(catalog))
    check_unknown_keys(body, {"model", *(p.name for p in GENERATION_PARAMS)})
    spec = resolve_model(body, catalog, default_generation_model(body, catalog))
    refuse_unsupported(body, GENERATION_PARAMS, spec, form=False)
    values = typed_values(drop_nulls(body), GENERATION_PARAMS, spec, today=catalog.rules.user_error_wording)
    check_output_options(values)
    return build_job("generations", spec, values)


# --- edits and variations (contract §5, §6) ----------------------------------------------------------

T = TypeVar("T")
INPUT_FIDELITIES = ("high", "low")  # S `InputFidelity` order
EDIT_FORM_FILES = ("image", "image[]", "mask", "markup")  # multipart file parts (contract §5.1, §16)
EDIT_JSON_REFS = ("images", "mask", "markup")  # JSON image references (contract §5.2)
VARIATION_FILES = ("image", "image[]")  # `image[]` is known so that it gets the invalid_type answer


def _edit_rules(spec: ModelSpec) -> EditRules:
    assert spec.edits is not None, f"{spec.name} takes no edits"
    return spec.edits


EDIT_QUALITY = Param(
    "quality",
    "enum",
    supported_by=lambda spec: bool(_edit_rules(spec).qualities),
    values=lambda spec: _edit_rules(spec).qualities,
    aliases=lambda spec: spec.quality_aliases,
)
EDIT_SIZE = Param("size", "size", values=lambda spec: _edit_rules(spec).sizes, rule=_size_rule)
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


def edit_models(catalog: Catalog, *, json: bool) -> tuple[str, ...]:
    """The models `/v1/images/edits` takes, in catalog order (JSON bodies: GPT image models only)."""
    return tuple(name for name, spec in catalog.models.items() if spec.edits and (spec.is_gpt or not json))


def variation_models(catalog: Catalog) -> tuple[str, ...]:
    return tuple(name for name, spec in catalog.models.items() if spec.variations)


def resolve_edit_model(body: Mapping[str, Any], catalog: Catalog, *, json: bool) -> ModelSpec:
    """The edit model (the date's default); a served model that cannot edit is an invalid_value listing
    the ones that can (wording UNVERIFIED), an unknown one the same answer as for generations."""
    spec = resolve_model(body, catalog, catalog.rules.edit_default)
    allowed = edit_models(catalog, json=json)
    if spec.name not in allowed:
        raise errors.invalid_value("model", spec.name, allowed)
    return spec


def resolve_variation_model(body: Mapping[str, Any], catalog: Catalog) -> ModelSpec:
    """Only dall-e-2: any other name gets `Invalid value: 'x'. Value must be 'dall-e-2'.` (contract §5.3)."""
    allowed = variation_models(catalog)
    name = body.get("model", allowed[0] if allowed else "")
    if not isinstance(name, str):
        raise errors.invalid_type("model", "a string", errors.json_type_name(name))
    spec = catalog.model(name)
    if spec is None or not spec.variations:
        if len(allowed) == 1:
            raise ApiError(
                400, f"Invalid value: '{name}'. Value must be '{allowed[0]}'.", param="model", code="invalid_value"
            )
        raise errors.invalid_value("model", name, allowed)
    return spec


def refuse_unsupported(body: Mapping[str, Any], params: Sequence[Param], spec: ModelSpec, *, form: bool) -> None:
    """unknown_parameter for every param in `body` the model does not take (off values excepted)."""
    for key, value in body.items():
        param = _param_named(params, key)
        if param is not None and not param.supported_by(spec) and not _is_off_value(param, value, spec, form):
            raise errors.unknown_parameter(key)


def check_input_fidelity(spec: ModelSpec, values: Mapping[str, Any]) -> None:
    """`input_fidelity=high` on a model without it (contract §11; `low`, the default, is accepted)."""
    if values.get("input_fidelity", "low") != "low" and not _edit_rules(spec).input_fidelity:
        raise ApiError(
            400,
            f"The model '{spec.name}' does not support the 'input_fidelity' parameter.",
            type="image_generation_user_error",
            param="input_fidelity",
            code="invalid_input_fidelity_model",
        )


FORM_OBJECTS = ("svg",)  # objects a multipart body sends as bracketed fields (PY-NEW: `svg[model]`)


def fold_form_objects(body: Mapping[str, Any]) -> dict[str, Any]:
    """Multipart `svg[model]` and `svg[reasoning][effort]` fields as the object `{"svg": {...}}`.

    A field that does not fold (a plain `svg` beside bracketed ones, an empty or conflicting path)
    stays as it came and is refused as unknown.
    """
    folded: dict[str, Any] = {}
    for key, value in body.items():
        name, _, rest = key.partition("[")
        path = rest[:-1].split("][") if rest.endswith("]") else []
        node = folded.setdefault(name, {}) if name in FORM_OBJECTS and name not in body and all(path) and path else None
        for segment in path[:-1]:
            if not isinstance(node, dict):
                break
            node = node.setdefault(segment, {})
        if isinstance(node, dict) and path and path[-1] not in node:
            node[path[-1]] = value
        else:
            folded[key] = value
    return folded


class EditFiles(Protocol):
    """What validation needs to know of an edit's checked file parts."""

    @property
    def mask(self) -> object | None: ...

    @property
    def markup(self) -> object | None: ...


F = TypeVar("F", bound=EditFiles)


def validate_edit(
    body: Mapping[str, Any], images: Callable[[ModelSpec], F], *, form: bool, catalog: Catalog
) -> tuple[ModelSpec, dict[str, Any], F]:
    """A `/v1/images/edits` body (multipart fields with `form=True`, else the JSON object) →
    (model, typed values, images(model)).

    Order: unknown keys → model → params the model does not take → prompt → `images(spec)` (the
    caller's structural checks of the image parts) → n → enums → cross-field rules.
    """
    body = fold_form_objects(body) if form else drop_nulls(body, kept_nulls(catalog))
    params = EDIT_PARAMS if form else JSON_EDIT_PARAMS
    check_unknown_keys(body, {"model", *(EDIT_FORM_FILES if form else EDIT_JSON_REFS), *(p.name for p in params)})
    spec = resolve_edit_model(body, catalog, json=not form)
    refuse_unsupported(body, params, spec, form=form)
    body = drop_nulls(body)
    today = catalog.rules.user_error_wording
    values = typed_values(body, params[:1], spec, form=form, today=today)
    checked = images(spec)
    values.update(typed_values(body, params[1:], spec, form=form, today=today))
    if checked.mask is not None and checked.markup is not None:
        raise errors.unsupported_parameter("markup", "cannot be combined with 'mask'")
    check_output_options(values, mask=checked.mask is not None)
    check_input_fidelity(spec, values)
    return spec, values, checked


def validate_variation(
    body: Mapping[str, Any], images: Callable[[ModelSpec], T], catalog: Catalog
) -> tuple[ModelSpec, dict[str, Any], T]:
    """The multipart fields of `/v1/images/variations` → (model, typed values, images(model))."""
    check_unknown_keys(body, {"model", *VARIATION_FILES, *(p.name for p in VARIATION_PARAMS)})
    spec = resolve_variation_model(body, catalog)
    refuse_unsupported(body, VARIATION_PARAMS, spec, form=True)
    checked = images(spec)
    today = catalog.rules.user_error_wording
    return spec, typed_values(body, VARIATION_PARAMS, spec, form=True, today=today), checked
