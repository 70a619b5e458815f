"""A request's values + the catalog of the API date → a Job, or the ApiError OpenAI would answer.

Check order follows contract §11: unknown keys → model → parameters the model does not take →
prompt → images → each other parameter in table order (n → enums → ranges) → cross-field rules.
Every `validate_*` returns a Job with every default and `auto` resolved (resolve.build_job).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from images_emulator.contract import errors
from images_emulator.contract.catalog import OUTPUT_FORMATS, Catalog, ModelSpec, SizeRule
from images_emulator.contract.endpoints import EDITS, GENERATIONS, VARIATIONS
from images_emulator.contract.errors import ApiError
from images_emulator.contract.job import EditInputs, InputImage, Job
from images_emulator.contract.params import (
    _UNSET,
    EDIT_FORM_FILES,
    EDIT_JSON_REFS,
    EDIT_PARAMS,
    FORM_OBJECTS,
    GENERATION_PARAMS,
    GPT_ONLY_EDIT_PARAMS,
    GPT_ONLY_PARAMS,
    JSON_EDIT_PARAMS,
    NULL_IS_SENT,
    PROMPT,
    VARIATION_FILES,
    VARIATION_PARAMS,
    Param,
    check_unknown_keys,
    edit_rules,
    rule_of,
)
from images_emulator.contract.resolve import build_job

_BOOL_STRINGS = {"true": True, "false": False}
# A multipart integer: an optional sign and digits, no more than Python's int() converts (4300 digits).
_FORM_INTEGER = re.compile(r"[+-]?[0-9]{1,4300}")


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
    if param.kind in ("enum", "size") and param.values is not None and rule_of(param, spec) is None:
        expected = f"one of {errors.quote_list(param.values(spec), 'or')}"
    raise errors.invalid_type(param.name, expected, errors.json_type_name(value))


def _coerce_form_string(param: Param, value: str) -> int | bool:
    """Multipart fields arrive as text: `n="2"`, `stream="true"`."""
    text = value.strip()
    if param.kind == "integer":
        if _FORM_INTEGER.fullmatch(text):
            return int(text)
        raise errors.unconvertible_string(param.name, "an integer")
    if text.lower() in _BOOL_STRINGS:
        return _BOOL_STRINGS[text.lower()]
    raise errors.unconvertible_string(param.name, "a boolean")


def check_value(param: Param, value: Any, spec: ModelSpec, *, today: bool) -> Any:
    """The accepted (possibly alias-mapped) value, or raise the matching ApiError (`today`: the wording
    of the API since 2026-05-12)."""
    if param.kind == "size" and param.values is not None:
        check_size(value, param.values(spec), rule_of(param, spec), today=today)
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
    if param is PROMPT:
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


def default_model(
    body: Mapping[str, Any], catalog: Catalog, default: str | None, gpt: str | None, gpt_only: Sequence[str]
) -> str | None:
    """The model of a request without `model` (contract §2): `gpt` when one of the `gpt_only` parameters is
    set and that model is served, else `default`; None when `model` is required."""
    if gpt is not None and any(body.get(p) not in (None, False, "false") for p in gpt_only) and catalog.model(gpt):
        return gpt
    return default


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


def _is_off_value(param: Param, value: Any, spec: ModelSpec, form: bool) -> bool:
    if param.off_value is _UNSET:
        return False
    try:
        return bool(coerce(param, value, spec, form=form) == param.off_value)
    except ApiError:
        return False


def refuse_unsupported(body: Mapping[str, Any], params: Sequence[Param], spec: ModelSpec, *, form: bool) -> None:
    """unknown_parameter for every param in `body` the model does not take (off values excepted)."""
    by_name = {param.name: param for param in params}
    for key, value in body.items():
        param = by_name.get(key)
        if param is not None and not param.supported_by(spec) and not _is_off_value(param, value, spec, form):
            raise errors.unknown_parameter(key)


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
    rules = catalog.rules
    default = default_model(body, catalog, rules.generation_default, rules.generation_gpt_default, GPT_ONLY_PARAMS)
    spec = resolve_model(body, catalog, default)
    refuse_unsupported(body, GENERATION_PARAMS, spec, form=False)
    values = typed_values(drop_nulls(body), GENERATION_PARAMS, spec, today=catalog.rules.user_error_wording)
    check_output_options(values)
    return build_job(GENERATIONS, spec, values)


# --- edits and variations (contract §5, §6) ----------------------------------------------------------


def edit_models(catalog: Catalog, *, json: bool) -> tuple[str, ...]:
    """The models `/v1/images/edits` takes, in catalog order (JSON bodies: GPT image models only)."""
    return tuple(name for name, spec in catalog.models.items() if spec.edits and (spec.is_gpt or not json))


def variation_models(catalog: Catalog) -> tuple[str, ...]:
    return tuple(name for name, spec in catalog.models.items() if spec.variations)


def resolve_edit_model(body: Mapping[str, Any], catalog: Catalog, *, json: bool) -> ModelSpec:
    """The edit model (the date's default); a served model that cannot edit is an invalid_value listing
    the ones that can (wording UNVERIFIED), an unknown one the same answer as for generations."""
    rules = catalog.rules
    default = default_model(body, catalog, rules.edit_default, rules.edit_gpt_default, GPT_ONLY_EDIT_PARAMS)
    spec = resolve_model(body, catalog, default)
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


def check_input_fidelity(spec: ModelSpec, values: Mapping[str, Any]) -> None:
    """`input_fidelity=high` on a model without it (contract §11; `low`, the default, is accepted)."""
    if values.get("input_fidelity", "low") != "low" and not edit_rules(spec).input_fidelity:
        raise ApiError(
            400,
            f"The model '{spec.name}' does not support the 'input_fidelity' parameter.",
            type="image_generation_user_error",
            param="input_fidelity",
            code="invalid_input_fidelity_model",
        )


def fold_form_objects(body: Mapping[str, Any]) -> dict[str, Any]:
    """Multipart `svg[model]` and `svg[reasoning][effort]` fields as the object `{"svg": {...}}`.

    A field that does not fold (a plain `svg` beside bracketed ones, an empty or conflicting path)
    stays as it came and is refused as unknown.
    """
    folded: dict[str, Any] = {}
    for key, value in body.items():
        name, _, rest = key.partition("[")
        path = rest[:-1].split("][") if rest.endswith("]") else []
        foldable = name in FORM_OBJECTS and name not in body and bool(path) and all(path)
        node = folded.setdefault(name, {}) if foldable else None
        for segment in path[:-1]:
            if not isinstance(node, dict):
                break
            node = node.setdefault(segment, {})
        if isinstance(node, dict) and path and path[-1] not in node:
            node[path[-1]] = value
        else:
            folded[key] = value
    return folded


def validate_edit(
    body: Mapping[str, Any], files: Callable[[ModelSpec], EditInputs], *, form: bool, catalog: Catalog
) -> Job:
    """A `/v1/images/edits` body (multipart fields with `form=True`, else the JSON object) → Job.

    `files(spec)` is the caller's part of the check: it finds the image parts, checks them against the
    model's rules and decodes them (blocking: run the whole validation off the event loop).
    """
    body = fold_form_objects(body) if form else drop_nulls(body, kept_nulls(catalog))
    params = EDIT_PARAMS if form else JSON_EDIT_PARAMS
    check_unknown_keys(body, {"model", *(EDIT_FORM_FILES if form else EDIT_JSON_REFS), *(p.name for p in params)})
    spec = resolve_edit_model(body, catalog, json=not form)
    refuse_unsupported(body, params, spec, form=form)
    body = drop_nulls(body)
    today = catalog.rules.user_error_wording
    values = typed_values(body, (PROMPT,), spec, form=form, today=today)
    inputs = files(spec)
    values.update(typed_values(body, [p for p in params if p is not PROMPT], spec, form=form, today=today))
    if inputs.mask is not None and inputs.markup is not None:
        raise errors.unsupported_parameter("markup", "cannot be combined with 'mask'")
    check_output_options(values, mask=inputs.mask is not None)
    check_input_fidelity(spec, values)
    rules = edit_rules(spec)
    return build_job(
        EDITS,
        spec,
        values,
        sizes=rules.sizes,
        qualities=rules.qualities,
        default_size=rules.default_size,
        inputs=inputs.images,
        mask=inputs.mask,
        markup=inputs.markup,
    )


def validate_variation(
    body: Mapping[str, Any], image: Callable[[ModelSpec], InputImage], catalog: Catalog
) -> Job:
    """The multipart fields of `/v1/images/variations` → Job (`image(spec)`: the checked, decoded input)."""
    check_unknown_keys(body, {"model", *VARIATION_FILES, *(p.name for p in VARIATION_PARAMS)})
    spec = resolve_variation_model(body, catalog)
    refuse_unsupported(body, VARIATION_PARAMS, spec, form=True)
    source = image(spec)
    values = typed_values(body, VARIATION_PARAMS, spec, form=True, today=catalog.rules.user_error_wording)
    return build_job(VARIATIONS, spec, values, inputs=(source,))
