"""Multipart edits refused for their model or their parameters (contract §5/§11), with OpenAI's exact errors.

The file rules (mime types, bytes, dimensions, masks) are in test_edit_files.py, JSON edits in test_edits_json.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import EDITS, LEGACY, assert_error, image_part, multipart, png, refusal

from images_emulator.contract.errors import quote_list

MODELS = LEGACY.models
EDIT_MODELS = [name for name, spec in MODELS.items() if spec.edits]
# Models whose edit `size` is an enum (gpt-image-2's open sizes are covered in test_gpt_image_2.py).
ENUM_SIZE_EDIT_MODELS = [name for name in EDIT_MODELS if MODELS[name].size_rule is None]

PROMPT = {"prompt": "add a hat"}
GPT = {**PROMPT, "model": "gpt-image-1", "quality": "low"}
IMAGE = {"image": image_part(png())}
MASK_ONLY = {"mask": image_part(png())}
ONLY_A_PROMPT = b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx\r\n--b--\r\n'


def edit_size_refusals() -> list[Any]:
    """Each model with an enum of edit sizes refuses 1792x1024, listing its own sizes."""
    rows = []
    for model in ENUM_SIZE_EDIT_MODELS:
        sizes = MODELS[model].edits.sizes  # type: ignore[union-attr]
        rows.append(
            refusal(
                multipart(IMAGE, **PROMPT, model=model, size="1792x1024"),
                id=f"{model}-refuses-an-edit-size-it-does-not-list",
                message=f"Invalid value: '1792x1024'. Supported values are: {quote_list(sizes)}.",
                param="size",
                code="invalid_value",
            )
        )
    return rows


REFUSALS = [
    # --- the model
    refusal(
        multipart(IMAGE, **PROMPT, model="dall-e-3"),
        id="dall-e-3-cannot-edit",
        message=f"Invalid value: 'dall-e-3'. Supported values are: {quote_list(EDIT_MODELS)}.",
        param="model",
        code="invalid_value",
    ),
    refusal(
        multipart(IMAGE, **PROMPT, model="gpt-image-9"),
        id="an-unknown-model-is-not-found",
        status=404,
        message="The model `gpt-image-9` does not exist or you do not have access to it.",
        param=None,
        code="model_not_found",
    ),
    # --- required parameters, and the order they are checked in
    refusal(
        {"content": ONLY_A_PROMPT, "headers": {"content-type": "multipart/form-data; boundary=b"}},
        id="a-missing-image-is-a-missing-required-parameter",
        message="Missing required parameter: 'image'.",
        param="image",
        code="missing_required_parameter",
    ),
    refusal(
        multipart(MASK_ONLY, n="99"),
        id="the-prompt-is-checked-before-the-images",
        message="Missing required parameter: 'prompt'.",
        param="prompt",
        code="missing_required_parameter",
    ),
    refusal(
        multipart(MASK_ONLY, prompt="x", n="99"),
        id="the-images-are-checked-before-n",
        message="Missing required parameter: 'image'.",
        param="image",
        code="missing_required_parameter",
    ),
    refusal(
        multipart({"image": image_part(png()), "prompt": ("p.txt", b"x", "text/plain")}),
        id="a-prompt-sent-as-a-file-is-an-invalid-type",
        message="Invalid type for 'prompt': expected a string, but got a file instead.",
        param="prompt",
        code="invalid_type",
    ),
    # --- parameters the model does not take
    *[
        refusal(
            multipart(IMAGE, **GPT, **{name: "auto"}),
            id=f"multipart-edits-do-not-take-{name}",
            message=f"Unknown parameter: '{name}'.",
            param=name,
            code="unknown_parameter",
        )
        for name in ("moderation", "style", "foo")
    ],
    refusal(
        multipart(IMAGE, **GPT, response_format="b64_json"),
        id="response_format-is-unknown-for-gpt-models",
        message="Unknown parameter: 'response_format'.",
        param="response_format",
        code="unknown_parameter",
    ),
    refusal(
        multipart(IMAGE, **PROMPT, model="dall-e-2", output_format="png"),
        id="the-gpt-only-output_format-is-unknown-for-dall-e-2",
        message="Unknown parameter: 'output_format'.",
        param="output_format",
        code="unknown_parameter",
    ),
    refusal(
        multipart(IMAGE, **PROMPT, model="gpt-image-1-mini", input_fidelity="high"),
        id="input_fidelity-high-on-a-model-without-it",
        message="The model 'gpt-image-1-mini' does not support the 'input_fidelity' parameter.",
        param="input_fidelity",
        code="invalid_input_fidelity_model",
        type="image_generation_user_error",
    ),
    # --- values
    refusal(
        multipart(IMAGE, **GPT, n="two"),
        id="an-n-that-is-not-a-number-is-an-invalid-type",
        message="Invalid type for 'n': expected an integer, but got a string value that could not be converted "
        "into an integer.",
        param="n",
        code="invalid_type",
    ),
    refusal(
        multipart(IMAGE, **GPT, n="11"),
        id="n-above-10",
        message="Invalid 'n': integer above maximum value. Expected a value <= 10, but got 11 instead.",
        param="n",
        code="integer_above_max_value",
    ),
    *edit_size_refusals(),
    refusal(
        multipart(IMAGE, **{**GPT, "quality": "standard"}),
        id="gpt-models-refuse-quality-standard",
        message="Invalid value: 'standard'. Supported values are: 'low', 'medium', 'high', and 'auto'.",
        param="quality",
        code="invalid_value",
    ),
    refusal(
        multipart(IMAGE, **GPT, input_fidelity="medium"),
        id="input_fidelity-is-high-or-low",
        message="Invalid value: 'medium'. Supported values are: 'high' and 'low'.",
        param="input_fidelity",
        code="invalid_value",
    ),
    refusal(
        multipart(IMAGE, prompt="x" * 1001, model="dall-e-2"),
        id="dall-e-2-prompts-are-at-most-1000-characters",
        message="Invalid 'prompt': string too long. Expected a string with maximum length 1000, "
        "but got a string with length 1001 instead.",
        param="prompt",
        code="string_above_max_length",
    ),
    refusal(
        multipart(IMAGE, **GPT, output_compression="50"),
        id="png-output-with-a-compression-below-100",
        message="Compression less than 100 is not supported for PNG output format",
        param=None,
        code="invalid_png_output_compression",
        type="image_generation_user_error",
    ),
]


@pytest.mark.parametrize(("sent", "expected"), REFUSALS)
def test_an_edit_refused_for_its_model_or_parameters_gets_openai_exact_error(
    api: TestClient, sent: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert_error(api.post(EDITS, **sent), **expected)
