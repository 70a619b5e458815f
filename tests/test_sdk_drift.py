"""Drift guard: the installed official SDK names no model, parameter or value the catalog doesn't know.

CI installs the newest `openai`, so an SDK release that adds a model or a parameter turns this red with
the name of what to add to the catalog (or to validation's parameter tables).
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from typing import Any

import openai.types.image_edit_params as edit_params
import openai.types.image_generate_params as generate_params
import pytest
from openai.types.image_model import ImageModel

from images_emulator.contract.catalog import CATALOG_DATE, MODELS, catalog_as_of
from images_emulator.contract.params import EDIT_FORM_FILES, EDIT_PARAMS, GENERATION_PARAMS, Param

# Parameters and values a newer SDK names that are not built yet (empty: every one is).
KNOWN_MISSING: set[str] = set()
KNOWN_MISSING_VALUES: dict[str, set[str]] = {}
# Values the SDK itself lists as "Deprecated values ... only supported by retired DALL·E models" that no
# model takes any more: edits' `standard` (dall-e-2 refuses every `quality`, a documented choice).
RETIRED_VALUES = {"quality": {"standard"}}


def sdk_keys(*typed_dicts: Any) -> set[str]:
    return {key for typed_dict in typed_dicts for key in typing.get_type_hints(typed_dict)}


def literal_values(annotation: Any) -> set[str]:
    """Every string in the Literal[...] parts of an annotation (through Optional / Union / Required)."""
    if typing.get_origin(annotation) is typing.Literal:
        return {value for value in typing.get_args(annotation) if isinstance(value, str)}
    return {value for arg in typing.get_args(annotation) for value in literal_values(arg)}


def known_values(param: Param, endpoint: str) -> set[str]:
    """The values any model of the catalog (served or retired) takes for `param` on `endpoint`."""
    values: set[str] = set()
    for spec in MODELS.values():
        if endpoint == "edits" and spec.edits is None:
            continue
        if param.values is not None and param.supported_by(spec):
            values |= set(param.values(spec))
    return values


def test_every_sdk_model_is_served_or_listed_as_retired() -> None:
    catalog = catalog_as_of(CATALOG_DATE)
    known = set(catalog.models) | set(catalog.retired())
    missing = sorted(set(typing.get_args(ImageModel)) - known)
    assert not missing, f"models in the openai SDK the catalog neither serves nor lists as retired: {missing}"


@pytest.mark.parametrize(
    ("endpoint", "typed_dicts", "params", "files"),
    [
        (
            "generations",
            (generate_params.ImageGenerateParamsNonStreaming, generate_params.ImageGenerateParamsStreaming),
            GENERATION_PARAMS,
            (),
        ),
        (
            "edits",
            (edit_params.ImageEditParamsNonStreaming, edit_params.ImageEditParamsStreaming),
            EDIT_PARAMS,
            EDIT_FORM_FILES,
        ),
    ],
)
def test_every_sdk_parameter_and_value_is_known(
    endpoint: str, typed_dicts: tuple[Any, ...], params: Iterable[Param], files: tuple[str, ...]
) -> None:
    by_name = {param.name: param for param in params}
    missing = sorted(sdk_keys(*typed_dicts) - {"model", *by_name, *files} - KNOWN_MISSING)
    assert not missing, f"{endpoint} parameters in the openai SDK the emulator does not take: {missing}"
    unknown_values: dict[str, list[str]] = {}
    for name, annotation in typing.get_type_hints(typed_dicts[0]).items():
        param = by_name.get(name)
        if param is None or param.values is None:
            continue
        excused = KNOWN_MISSING_VALUES.get(name, set()) | RETIRED_VALUES.get(name, set())
        values = sorted(literal_values(annotation) - known_values(param, endpoint) - excused)
        if values:
            unknown_values[name] = values
    assert not unknown_values, f"{endpoint} values in the openai SDK no model of the catalog takes: {unknown_values}"
