"""Token accounting (contract §8) and usage shapes (contract §7) for GPT image models."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import LEGACY, spec_document, spec_validator
from jsonschema import Draft202012Validator

from images_emulator.contract.catalog import GPT_IMAGE_OUTPUT_TOKENS, ModelSpec
from images_emulator.contract.tokenizer import count_tokens
from images_emulator.contract.usage import _round_div, image_usage, input_image_tokens, output_image_tokens

MODELS = LEGACY.models
USAGE_MODELS = [spec for spec in MODELS.values() if spec.usage]
NO_USAGE_MODELS = [spec for spec in MODELS.values() if not spec.usage]
# Models billed by the §8.1 table (gpt-image-2 uses a formula: tests/test_gpt_image_2.py).
TABLE_MODELS = [spec for spec in USAGE_MODELS if spec.output_token_formula is None]
CELLS = sorted(GPT_IMAGE_OUTPUT_TOKENS)
PROMPT = "A watercolor fox in a snowy forest"


def schema_validator(name: str) -> Draft202012Validator:
    return spec_validator(name)


def schema_properties(name: str) -> set[str]:
    return set(spec_document()["components"]["schemas"][name]["properties"])


def _ids(spec: ModelSpec) -> str:
    return spec.name


def test_catalog_has_gpt_and_dalle_models() -> None:
    assert {spec.name for spec in USAGE_MODELS} >= {"gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5"}
    assert {spec.name for spec in NO_USAGE_MODELS} >= {"dall-e-2", "dall-e-3"}


# ---------------------------------------------------------------- output tokens (§8.1)

EXPECTED_TABLE = {
    ("low", "1024x1024"): 272,
    ("low", "1024x1536"): 408,
    ("low", "1536x1024"): 400,
    ("medium", "1024x1024"): 1056,
    ("medium", "1024x1536"): 1584,
    ("medium", "1536x1024"): 1568,
    ("high", "1024x1024"): 4160,
    ("high", "1024x1536"): 6240,
    ("high", "1536x1024"): 6208,
}


@pytest.mark.parametrize("spec", TABLE_MODELS, ids=_ids)
@pytest.mark.parametrize(("quality", "size"), CELLS)
def test_output_tokens_every_cell(spec: ModelSpec, quality: str, size: str) -> None:
    expected = EXPECTED_TABLE[(quality, size)]
    assert output_image_tokens(spec, quality, size) == expected
    usage = image_usage(spec, prompt=PROMPT, quality=quality, size=size, n=1)
    assert usage is not None
    assert usage["output_tokens"] == expected
    assert usage["output_tokens_details"] == {"image_tokens": expected, "text_tokens": 0}


@pytest.mark.parametrize("spec", TABLE_MODELS, ids=_ids)
def test_table_covers_all_concrete_cells(spec: ModelSpec) -> None:
    qualities = [q for q in spec.qualities if q != "auto"]
    sizes = [s for s in spec.sizes if s != "auto"]
    assert set(spec.output_tokens) == {(q, s) for q in qualities for s in sizes}


@pytest.mark.parametrize("spec", USAGE_MODELS, ids=_ids)
@pytest.mark.parametrize(("quality", "size"), [("auto", "1024x1024"), ("high", "auto"), ("hd", "1024x1024")])
def test_output_tokens_reject_unresolved_values(spec: ModelSpec, quality: str, size: str) -> None:
    with pytest.raises(ValueError, match=spec.name):
        output_image_tokens(spec, quality, size)


def test_output_token_pattern() -> None:
    # Contract §8.1: square f(f+1), portrait 1.5f(f+1), landscape (1.5f+1)f with f = 16/32/64.
    for quality, f in {"low": 16, "medium": 32, "high": 64}.items():
        assert EXPECTED_TABLE[(quality, "1024x1024")] == f * (f + 1)
        assert EXPECTED_TABLE[(quality, "1024x1536")] == 3 * f // 2 * (f + 1)
        assert EXPECTED_TABLE[(quality, "1536x1024")] == (3 * f // 2 + 1) * f


# ---------------------------------------------------------------- no usage for dall-e


@pytest.mark.parametrize("spec", NO_USAGE_MODELS, ids=_ids)
def test_dalle_has_no_usage(spec: ModelSpec) -> None:
    size = spec.sizes[-1]
    quality = spec.qualities[0] if spec.qualities else spec.default_quality
    assert image_usage(spec, prompt=PROMPT, quality=quality, size=size, n=1) is None
    assert (
        image_usage(spec, prompt=PROMPT, quality=quality, size=size, n=1, with_output_details=False) is None
    )


# ---------------------------------------------------------------- usage dict


@pytest.mark.parametrize("spec", TABLE_MODELS, ids=_ids)
def test_generation_usage_exact(spec: ModelSpec) -> None:
    text = count_tokens(PROMPT)
    assert image_usage(spec, prompt=PROMPT, quality="high", size="1024x1024", n=1) == {
        "input_tokens": text,
        "input_tokens_details": {"text_tokens": text, "image_tokens": 0},
        "output_tokens": 4160,
        "output_tokens_details": {"image_tokens": 4160, "text_tokens": 0},
        "total_tokens": text + 4160,
    }


def test_key_order_is_stable() -> None:
    spec = MODELS["gpt-image-1"]
    usage = image_usage(spec, prompt=PROMPT, quality="low", size="1024x1024", n=1)
    assert usage is not None
    assert list(usage) == [
        "input_tokens",
        "input_tokens_details",
        "output_tokens",
        "output_tokens_details",
        "total_tokens",
    ]
    assert list(usage["input_tokens_details"]) == ["text_tokens", "image_tokens"]
    assert list(usage["output_tokens_details"]) == ["image_tokens", "text_tokens"]
    stream_usage = image_usage(
        spec, prompt=PROMPT, quality="low", size="1024x1024", n=1, with_output_details=False
    )
    assert stream_usage is not None
    assert list(stream_usage) == ["input_tokens", "input_tokens_details", "output_tokens", "total_tokens"]


@pytest.mark.parametrize("spec", TABLE_MODELS, ids=_ids)
@pytest.mark.parametrize("n", [1, 2, 3, 10])
def test_n_multiplies_output_only(spec: ModelSpec, n: int) -> None:
    one = image_usage(spec, prompt=PROMPT, quality="medium", size="1536x1024", n=1, input_images=[(800, 600)])
    many = image_usage(
        spec, prompt=PROMPT, quality="medium", size="1536x1024", n=n, input_images=[(800, 600)]
    )
    assert one is not None
    assert many is not None
    assert many["output_tokens"] == 1568 * n
    assert many["output_tokens_details"]["image_tokens"] == 1568 * n
    assert many["input_tokens"] == one["input_tokens"]  # UNVERIFIED choice: input counted once
    assert many["input_tokens_details"] == one["input_tokens_details"]


@pytest.mark.parametrize("spec", TABLE_MODELS, ids=_ids)
@pytest.mark.parametrize(("partials", "n"), [(0, 1), (1, 1), (2, 1), (3, 1), (2, 3), (3, 2)])
def test_partials_add_100_each_per_image(spec: ModelSpec, partials: int, n: int) -> None:
    usage = image_usage(spec, prompt=PROMPT, quality="low", size="1024x1536", n=n, partial_images=partials)
    assert usage is not None
    assert usage["output_tokens"] == 408 * n + 100 * partials * n
    assert usage["output_tokens_details"] == {"image_tokens": usage["output_tokens"], "text_tokens": 0}


@pytest.mark.parametrize("spec", USAGE_MODELS, ids=_ids)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"quality": "low", "size": "1024x1024", "n": 1},
        {"quality": "high", "size": "1536x1024", "n": 4, "partial_images": 2},
        {"quality": "medium", "size": "1024x1536", "n": 2, "input_images": [(1024, 1025), (3000, 2000)]},
        {
            "quality": "high",
            "size": "1024x1024",
            "n": 1,
            "input_images": [(512, 512)],
            "input_fidelity": "high",
            "partial_images": 1,
        },
    ],
)
@pytest.mark.parametrize("with_output_details", [True, False])
def test_totals_add_up(spec: ModelSpec, kwargs: dict[str, Any], with_output_details: bool) -> None:
    usage = image_usage(spec, prompt=PROMPT, with_output_details=with_output_details, **kwargs)
    assert usage is not None
    details = usage["input_tokens_details"]
    assert usage["input_tokens"] == details["text_tokens"] + details["image_tokens"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert details["text_tokens"] == count_tokens(PROMPT)
    assert ("output_tokens_details" in usage) is with_output_details
    if with_output_details:
        out = usage["output_tokens_details"]
        assert out["image_tokens"] + out["text_tokens"] == usage["output_tokens"]


def test_real_edit_capture() -> None:
    # Contract §8.3: gpt-image-1 edit, 1024x1025 input, low 1024²:
    # input 219 = 25 text + 194 image, output 272, total 491. Our prompt count differs (unknown prompt).
    usage = image_usage(
        MODELS["gpt-image-1"], prompt="x", quality="low", size="1024x1024", n=1, input_images=[(1024, 1025)]
    )
    assert usage is not None
    assert usage["input_tokens_details"]["image_tokens"] == 194
    assert usage["output_tokens"] == 272
    assert usage["total_tokens"] == usage["input_tokens"] + 272


def test_image_tokens_sum_over_inputs() -> None:
    usage = image_usage(
        MODELS["gpt-image-1.5"],
        prompt="",
        quality="low",
        size="1024x1024",
        n=1,
        input_images=[(1024, 1025), (2048, 4096), (4000, 1000)],
        input_fidelity="high",
    )
    assert usage is not None
    assert usage["input_tokens_details"] == {
        "text_tokens": 0,
        "image_tokens": (194 + 4096) + (323 + 6144) + (581 + 6144),
    }
    assert usage["input_tokens"] == 194 + 323 + 581 + 4096 + 6144 + 6144


@pytest.mark.parametrize(("field", "value"), [("n", 0), ("partial_images", -1)])
def test_invalid_counts_rejected(field: str, value: int) -> None:
    kwargs: dict[str, Any] = {"n": 1, "partial_images": 0, field: value}
    with pytest.raises(ValueError, match=field):
        image_usage(MODELS["gpt-image-1"], prompt=PROMPT, quality="low", size="1024x1024", **kwargs)


# ---------------------------------------------------------------- input image tokens (§8.3)


def test_round_div_ties_to_even() -> None:
    assert [_round_div(n, 2) for n in range(7)] == [0, 0, 1, 2, 2, 2, 3]
    assert _round_div(1025 * 512, 1024) == 512
    assert _round_div(2 * 1024 + 1, 2) == 1024
    assert _round_div(2048 * 512, 683) == 1535


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (1024, 1025, 194),  # real capture: 1024x512.5 -> ties to even -> 512x512 -> 1 tile
        (1025, 1024, 194),
        (512, 512, 194),  # already 512: 1 tile
        (1024, 1024, 194),
        (256, 256, 194),  # upscaled to 512x512: 1 tile
        (1, 1, 194),
        # fit 2048x4096 -> 1024x2048; shortest to 512 -> 512x1024; 1x2 tiles -> 65 + 2*129
        (2048, 4096, 323),
        # fit 4000x1000 -> 2048x512; shortest already 512 -> 2048x512; 4x1 tiles -> 65 + 4*129
        (4000, 1000, 581),
        (1000, 4000, 581),
        # no fit; 1536x1024 -> 768x512 -> 2x1 tiles
        (1536, 1024, 323),
        # no fit; 600x1800 -> 512x1536 -> 1x3 tiles -> 65 + 3*129
        (600, 1800, 452),
        # no fit; 600x1801 -> 512x1536.85 -> 512x1537 -> 1x4 tiles
        (600, 1801, 581),
        # fit 6000x2000 -> 2048x682.67 -> 2048x683; -> 1535.25x512 -> 1535x512 -> 3x1 tiles
        (6000, 2000, 452),
        # fit 1000x3000 -> 682.67x2048 -> 683x2048 -> same as above
        (1000, 3000, 452),
        # fit 5000x1 -> 2048x0.41 -> 2048x0 -> clamped to 2048x1; shortest to 512 -> 1048576x512 -> 2048 tiles
        (5000, 1, 65 + 129 * 2048),
    ],
)
def test_input_image_tokens_low(width: int, height: int, expected: int) -> None:
    assert input_image_tokens(width, height) == expected
    assert input_image_tokens(width, height, "low") == expected


@pytest.mark.parametrize(
    ("width", "height", "extra"),
    [
        (1024, 1024, 4096),
        (1024, 1025, 4096),
        (1000, 1250, 4096),  # exactly 5:4 -> still square (rule: long/short <= 1.25)
        (1250, 1000, 4096),
        (1000, 1251, 6144),
        (1024, 1536, 6144),  # portrait
        (1536, 1024, 6144),  # landscape
        (4000, 1000, 6144),
    ],
)
def test_high_fidelity_extra(width: int, height: int, extra: int) -> None:
    assert input_image_tokens(width, height, "high") == input_image_tokens(width, height, "low") + extra


@pytest.mark.parametrize(
    ("width", "height", "fidelity"), [(0, 10, "low"), (10, 0, "low"), (-1, 5, "low"), (10, 10, "medium")]
)
def test_input_image_tokens_rejects_bad_input(width: int, height: int, fidelity: str) -> None:
    with pytest.raises(ValueError):
        input_image_tokens(width, height, fidelity)


# ---------------------------------------------------------------- official schema (§7, §13)


def test_the_vendored_spec_is_the_official_images_subset() -> None:
    document = spec_document()
    assert document["info"]["version"] == "2.3.0"
    assert set(document["paths"]) == {"/images/generations", "/images/edits", "/images/variations"}


def test_schema_validator_rejects_bad_usage() -> None:
    validator = schema_validator("ImageGenUsage")
    assert not validator.is_valid({"input_tokens": 1, "output_tokens": 1, "total_tokens": 2})
    assert not validator.is_valid(
        {
            "input_tokens": 1,
            "input_tokens_details": {"text_tokens": 1},
            "output_tokens": 1,
            "total_tokens": 2,
        }
    )


@pytest.mark.parametrize("spec", USAGE_MODELS, ids=_ids)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"quality": "high", "size": "1024x1024", "n": 1},
        {"quality": "low", "size": "1536x1024", "n": 3, "partial_images": 3},
        {
            "quality": "medium",
            "size": "1024x1536",
            "n": 1,
            "input_images": [(640, 480)],
            "input_fidelity": "high",
        },
    ],
)
def test_usage_validates_against_official_schema(spec: ModelSpec, kwargs: dict[str, Any]) -> None:
    full = image_usage(spec, prompt=PROMPT, **kwargs)
    assert full is not None
    schema_validator("ImageGenUsage").validate(full)
    assert set(full) == schema_properties("ImageGenUsage")

    stream = image_usage(spec, prompt=PROMPT, with_output_details=False, **kwargs)
    assert stream is not None
    schema_validator("ImagesUsage").validate(stream)
    schema_validator("ImageGenUsage").validate(stream)  # output details are optional there
    assert set(stream) == schema_properties("ImagesUsage")
