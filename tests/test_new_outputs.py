"""Today's new outputs: animated GIF, SVG, markup edits, complexity and safety_identifier (in process)."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator
from typing import Any
from xml.dom import minidom

import pytest
from fastapi.testclient import TestClient
from helpers import TODAY, assert_error, data_url, decoded, encode, picture, png
from PIL import Image, ImageChops, ImageDraw

from images_emulator.contract.catalog import MODELS
from images_emulator.imaging.render import RenderSpec, _caption
from images_emulator.server.app import create_app
from images_emulator.server.settings import Settings

AUTH = {"Authorization": "Bearer sk-test"}
GENERATIONS, EDITS = "/v1/images/generations", "/v1/images/edits"
ANIMATED = "gpt-image-2.6-sunburst"  # takes gif, svg and complexity
MARKUP = "gpt-image-2.5-sunburst"  # takes markup
STILL_ONLY = "gpt-image-1.5"


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(api_date=TODAY, url_secret="s")), headers=AUTH) as client:
        yield client


def generate(api: TestClient, **body: Any) -> Any:
    return api.post(GENERATIONS, json={"model": ANIMATED, "prompt": "a red fox in snow", **body})


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def unsupported(response: Any, name: str, why: str) -> None:
    assert_error(
        response, 400, message=f"Unsupported parameter: '{name}' {why}.", param=name, code="unsupported_parameter"
    )


# --- GIF --------------------------------------------------------------------------------------------------


def frames_of(gif: Image.Image) -> list[Image.Image]:
    frames = []
    for index in range(gif.n_frames):
        gif.seek(index)
        frames.append(gif.convert("RGBA"))
    return frames


def differ(a: Image.Image, b: Image.Image) -> bool:
    return ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is not None


def test_a_gif_has_the_default_nine_frames_of_200_ms_at_the_requested_size(api: TestClient) -> None:
    body = ok(generate(api, output_format="gif", size="1536x1024", quality="low"))
    assert body["output_format"] == "gif" and body["size"] == "1536x1024"
    gif = decoded(body["data"][0]["b64_json"])
    assert gif.format == "GIF" and gif.size == (1536, 1024)
    assert gif.n_frames == 9 and gif.info["duration"] == 200 and gif.info["loop"] == 0
    frames = frames_of(gif)
    assert all(differ(a, b) for a, b in itertools.pairwise(frames))  # the marker moves


@pytest.mark.parametrize(("requested", "encoded"), [(120, 120), (124, 120), (125, 130), (10, 10), (10**12, 655_350)])
def test_frame_durations_round_to_10_ms_and_cap_at_655350(api: TestClient, requested: int, encoded: int) -> None:
    body = ok(generate(api, output_format="gif", frame_count=3, frame_duration_ms=requested, quality="low"))
    gif = decoded(body["data"][0]["b64_json"])
    assert gif.n_frames == 3 and gif.info["duration"] == encoded


@pytest.mark.parametrize("count", [2, 16])
def test_frame_count_is_honoured_at_both_ends(api: TestClient, count: int) -> None:
    body = ok(generate(api, output_format="gif", frame_count=count, quality="low", size="1024x1024"))
    assert decoded(body["data"][0]["b64_json"]).n_frames == count


def test_the_same_gif_request_gives_the_same_bytes_and_tokens_per_frame(api: TestClient) -> None:
    first = ok(generate(api, output_format="gif", frame_count=4, quality="low", size="1024x1024"))
    again = ok(generate(api, output_format="gif", frame_count=4, quality="low", size="1024x1024"))
    still = ok(generate(api, quality="low", size="1024x1024"))
    assert first["data"] == again["data"]
    assert first["usage"]["output_tokens"] == 4 * still["usage"]["output_tokens"]


def test_a_transparent_gif_has_transparent_pixels(api: TestClient) -> None:
    body = ok(generate(api, output_format="gif", background="transparent", frame_count=2, quality="low"))
    frame = frames_of(decoded(body["data"][0]["b64_json"]))[0]
    assert frame.getchannel("A").getextrema() == (0, 255)


@pytest.mark.parametrize(
    ("value", "code", "bound"),
    [(1, "integer_below_min_value", "below minimum value. Expected a value >= 2"),
     (17, "integer_above_max_value", "above maximum value. Expected a value <= 16")],
)  # fmt: skip
def test_frame_count_outside_2_to_16_is_refused(api: TestClient, value: int, code: str, bound: str) -> None:
    message = f"Invalid 'frame_count': integer {bound}, but got {value} instead."
    assert_error(
        generate(api, output_format="gif", frame_count=value), 400, message=message, param="frame_count", code=code
    )


def test_a_negative_frame_duration_is_refused(api: TestClient) -> None:
    response = generate(api, output_format="gif", frame_duration_ms=-10)
    assert response.status_code == 400 and response.json()["error"]["param"] == "frame_duration_ms"


@pytest.mark.parametrize("name", ["frame_count", "frame_duration_ms"])
def test_gif_options_without_gif_are_refused(api: TestClient, name: str) -> None:
    unsupported(generate(api, **{name: 5}), name, "is only supported with output_format 'gif'")


@pytest.mark.parametrize(
    ("options", "name"),
    [({"stream": True}, "stream"), ({"partial_images": 1}, "partial_images"),
     ({"output_compression": 80}, "output_compression")],
)  # fmt: skip
@pytest.mark.parametrize("output_format", ["gif", "svg"])
def test_gif_and_svg_refuse_streams_partials_and_compression(
    api: TestClient, output_format: str, options: dict[str, Any], name: str
) -> None:
    why = f"is not supported with output_format '{output_format}'"
    unsupported(generate(api, output_format=output_format, **options), name, why)


def test_a_gif_edit_refuses_a_mask(api: TestClient) -> None:
    response = api.post(
        EDITS,
        data={"model": ANIMATED, "prompt": "add a hat", "output_format": "gif"},
        files={"image": ("a.png", png((64, 64)), "image/png"), "mask": ("m.png", png((64, 64)), "image/png")},
    )
    unsupported(response, "mask", "is not supported with output_format 'gif'")


def test_a_model_without_gif_lists_the_formats_it_takes(api: TestClient) -> None:
    assert_error(
        api.post(GENERATIONS, json={"model": STILL_ONLY, "prompt": "a fox", "output_format": "gif"}),
        400,
        message="Invalid value: 'gif'. Supported values are: 'png', 'webp', and 'jpeg'.",
        param="output_format",
        code="invalid_value",
    )


@pytest.mark.parametrize("name", ["frame_count", "complexity", "svg"])
def test_a_model_that_does_not_take_a_new_parameter_refuses_it_as_unknown(api: TestClient, name: str) -> None:
    value = {"frame_count": 3, "complexity": "low", "svg": {"model": "x"}}[name]
    assert_error(
        api.post(GENERATIONS, json={"model": STILL_ONLY, "prompt": "a fox", name: value}),
        400,
        message=f"Unknown parameter: '{name}'.",
        param=name,
        code="unknown_parameter",
    )


# --- SVG ---------------------------------------------------------------------------------------------------


def svg_of(body: dict[str, Any]) -> minidom.Document:
    return minidom.parseString(base64.b64decode(body["data"][0]["b64_json"]))


def test_an_svg_is_a_well_formed_document_of_the_requested_size_with_the_prompt(api: TestClient) -> None:
    body = ok(generate(api, prompt="a fox <&> \"quoted\" \x01", output_format="svg", size="1536x1024", quality="low"))
    assert body["output_format"] == "svg"
    root = svg_of(body).documentElement
    assert root.tagName == "svg" and (root.getAttribute("width"), root.getAttribute("height")) == ("1536", "1024")
    title = root.getElementsByTagName("title")[0].firstChild.data  # type: ignore[union-attr]
    assert title == 'a fox <&> "quoted" \ufffd'  # the control character XML cannot carry is replaced
    description = root.getElementsByTagName("desc")[0].firstChild.data  # type: ignore[union-attr]
    assert description.startswith(f"{ANIMATED} · 1536x1024 · low · svg")
    usage = body["svg_usage"]
    assert usage["model"] == ANIMATED  # no `svg` object: the image model authors it (a documented choice)
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > usage["reasoning_tokens"] > 0
    assert body["usage"]["output_tokens"] > 0


def test_the_svg_author_and_effort_are_echoed_and_effort_costs_reasoning(api: TestClient) -> None:
    reasoning = []
    for effort in ("none", "low", "high", "max"):
        body = ok(generate(api, output_format="svg", svg={"model": "gpt-5.5", "reasoning": {"effort": effort}}))
        assert body["svg_usage"]["model"] == "gpt-5.5"
        assert f"svg by gpt-5.5 ({effort} effort)" in svg_of(body).documentElement.toxml()
        reasoning.append(body["svg_usage"]["reasoning_tokens"])
    assert reasoning[0] == 0 and reasoning == sorted(reasoning) and len(set(reasoning)) == 4


def test_svg_output_is_deterministic(api: TestClient) -> None:
    assert ok(generate(api, output_format="svg"))["data"] == ok(generate(api, output_format="svg"))["data"]


@pytest.mark.parametrize(
    ("svg", "param", "code"),
    [
        ({"model": "a", "reasoning": {"effort": "extreme"}}, "svg.reasoning.effort", "invalid_value"),
        ({"reasoning": {"effort": "low"}}, "svg.model", "missing_required_parameter"),
        ({"model": ""}, "svg.model", "empty_string"),
        ({"model": 5}, "svg.model", "invalid_type"),
        ({"model": "a", "colour": "red"}, "svg.colour", "unknown_parameter"),
        ({"model": "a", "reasoning": "high"}, "svg.reasoning", "invalid_type"),
        ("gpt-5", "svg", "invalid_type"),
    ],
)
def test_bad_svg_objects_are_refused_with_their_param(api: TestClient, svg: Any, param: str, code: str) -> None:
    response = generate(api, output_format="svg", svg=svg)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["param"], error["code"]) == (param, code)


def test_an_svg_effort_that_does_not_exist_lists_the_efforts(api: TestClient) -> None:
    response = generate(api, output_format="svg", svg={"model": "a", "reasoning": {"effort": "extreme"}})
    efforts = "'none', 'minimal', 'low', 'medium', 'high', 'xhigh', and 'max'"
    assert response.json()["error"]["message"] == f"Invalid value: 'extreme'. Supported values are: {efforts}."


def test_svg_needs_n_1_and_the_svg_object_needs_svg_output(api: TestClient) -> None:
    assert_error(
        generate(api, output_format="svg", n=2),
        400,
        message="Invalid 'n': output_format 'svg' requires n=1, but got 2 instead.",
        param="n",
        code="invalid_value",
    )
    unsupported(generate(api, svg={"model": "a"}), "svg", "is only supported with output_format 'svg'")


def test_a_multipart_edit_sends_svg_as_bracketed_fields(api: TestClient) -> None:
    fields = {"model": ANIMATED, "prompt": "a hat", "output_format": "svg", "svg[model]": "gpt-5.5"}
    fields["svg[reasoning][effort]"] = "minimal"
    body = ok(api.post(EDITS, data=fields, files={"image": ("a.png", png((300, 200)), "image/png")}))
    assert body["svg_usage"]["model"] == "gpt-5.5" and body["svg_usage"]["reasoning_tokens"] == 64
    assert svg_of(body).documentElement.getAttribute("width") == "1536"  # auto: closest to 3:2


# --- complexity ------------------------------------------------------------------------------------------


def test_complexity_is_accepted_and_shows_in_the_caption(api: TestClient) -> None:
    plain = ok(generate(api, quality="low", size="1024x1024"))
    planned = ok(generate(api, quality="low", size="1024x1024", complexity="high"))
    assert plain["data"] != planned["data"]
    spec = RenderSpec(ANIMATED, "x", 1024, 1024, "low", "opaque", "png", 100, complexity="high")
    assert "complexity high" in _caption(spec)


def test_a_complexity_that_does_not_exist_lists_the_values(api: TestClient) -> None:
    assert_error(
        generate(api, complexity="extreme"),
        400,
        message="Invalid value: 'extreme'. Supported values are: 'low', 'medium', and 'high'.",
        param="complexity",
        code="invalid_value",
    )


# --- safety_identifier -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        ({"safety_identifier": "hash-1"}, "hash-1"),
        ({"safety_identifier": "hash-1", "user": "u"}, "hash-1"),
        ({"user": "u"}, "u"),
        ({"safety_identifier": None, "user": "u"}, "u"),
        ({"safety_identifier": "", "user": "u"}, "u"),
        ({"safety_identifier": "", "user": ""}, None),
        ({}, None),
    ],
)
def test_safety_identifier_falls_back_to_user(api: TestClient, sent: dict[str, Any], echoed: str | None) -> None:
    body = ok(generate(api, quality="low", **sent))
    assert body.get("safety_identifier") == echoed


def test_stream_completed_events_carry_the_safety_identifier(api: TestClient) -> None:
    response = generate(api, quality="low", stream=True, partial_images=1, user="u-7")
    events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert [e["type"] for e in events] == ["image_generation.partial_image", "image_generation.completed"]
    assert "safety_identifier" not in events[0] and events[1]["safety_identifier"] == "u-7"


# --- markup --------------------------------------------------------------------------------------------------


def markup_png(size: tuple[int, int], *, opaque: bool = False) -> bytes:
    """A transparent sheet with a red stroke (fully opaque when `opaque`)."""
    sheet = Image.new("RGBA", size, (255, 255, 255, 255 if opaque else 0))
    w, h = size
    ImageDraw.Draw(sheet).rectangle((w * 0.3, h * 0.3, w * 0.5, h * 0.5), fill=(255, 0, 0, 255))
    return encode(sheet)


def edit(api: TestClient, files: dict[str, Any], **fields: Any) -> Any:
    return api.post(EDITS, data={"model": MARKUP, "prompt": "circle it", "size": "1024x1024", **fields}, files=files)


def test_a_markup_is_drawn_over_the_first_image(api: TestClient) -> None:
    image = ("a.png", png((256, 256)), "image/png")
    plain = decoded(ok(edit(api, {"image": image}))["data"][0]["b64_json"]).convert("RGB")
    markup = ("m.png", markup_png((256, 256)), "image/png")
    marked = decoded(ok(edit(api, {"image": image, "markup": markup}))["data"][0]["b64_json"]).convert("RGB")
    assert marked.getpixel((410, 410)) == (255, 0, 0) != plain.getpixel((410, 410))
    assert plain.getpixel((900, 100)) == marked.getpixel((900, 100))  # away from the markup, unchanged


def test_a_json_edit_takes_a_markup_data_url(api: TestClient) -> None:
    body = {"model": MARKUP, "prompt": "circle it", "images": [{"image_url": data_url(png((128, 128)))}]}
    assert ok(api.post(EDITS, json={**body, "markup": {"image_url": data_url(markup_png((128, 128)))}}))["data"]


def test_a_markup_must_match_the_first_image_after_exif_orientation(api: TestClient) -> None:
    rotated = picture((300, 200), "RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated by 90°: 200x300
    jpeg = ("photo.jpg", encode(rotated, "JPEG", exif=exif), "image/jpeg")
    assert edit(api, {"image": jpeg, "markup": ("m.png", markup_png((200, 300)), "image/png")}).status_code == 200
    assert_error(
        edit(api, {"image": jpeg, "markup": ("m.png", markup_png((300, 200)), "image/png")}),
        400,
        message="Invalid markup image - expected an image with the same width and height as the input image "
        "(200x300), got 300x200 instead.",
        param="markup",
        code="invalid_image_dimensions",
    )


@pytest.mark.parametrize(
    ("markup", "param", "code"),
    [
        (("m.jpg", encode(picture((64, 64), "RGB"), "JPEG"), "image/jpeg"), "markup", "unsupported_file_mimetype"),
        (("m.png", encode(picture((64, 64), "RGB"), "JPEG"), "image/png"), "markup", "invalid_image_file"),
        (("m.png", markup_png((64, 64), opaque=True), "image/png"), "markup", "invalid_image_format"),
        (("m.png", encode(picture((64, 64), "RGB")), "image/png"), "markup", "invalid_image_format"),
    ],
)
def test_a_bad_markup_is_a_400_naming_it(api: TestClient, markup: Any, param: str, code: str) -> None:
    response = edit(api, {"image": ("a.png", png((64, 64)), "image/png"), "markup": markup})
    assert response.status_code == 400, response.text
    assert (response.json()["error"]["param"], response.json()["error"]["code"]) == (param, code)


def test_a_markup_without_transparent_pixels_says_so(api: TestClient) -> None:
    opaque = ("m.png", markup_png((64, 64), opaque=True), "image/png")
    response = edit(api, {"image": ("a.png", png()), "markup": opaque})
    assert response.json()["error"]["message"] == (
        "Invalid markup image - expected a PNG with transparent pixels, got one without any."
    )


def test_markup_and_mask_together_are_refused(api: TestClient) -> None:
    files = {
        "image": ("a.png", png(), "image/png"),
        "mask": ("m.png", png(), "image/png"),
        "markup": ("k.png", markup_png((64, 64)), "image/png"),
    }
    unsupported(edit(api, files), "markup", "cannot be combined with 'mask'")


def test_a_model_without_markup_refuses_it_as_unknown(api: TestClient) -> None:
    files = {"image": ("a.png", png(), "image/png"), "markup": ("k.png", markup_png((64, 64)), "image/png")}
    assert_error(
        edit(api, files, model=STILL_ONLY),
        400,
        message="Unknown parameter: 'markup'.",
        param="markup",
        code="unknown_parameter",
    )


# --- the document ---------------------------------------------------------------------------------------------


def test_the_openapi_document_describes_the_new_fields(api: TestClient) -> None:
    schemas = api.get("/openapi.json").json()["components"]["schemas"]
    create = schemas["CreateImageRequest"]["properties"]
    assert {"complexity", "frame_count", "frame_duration_ms", "svg", "safety_identifier"} <= set(create)
    assert "markup" in schemas["CreateImageEditRequest"]["properties"]
    assert "markup" in schemas["EditImageJsonRequest"]["properties"]
    response = schemas["ImagesResponse"]["properties"]
    assert {"svg_usage", "safety_identifier"} <= set(response)
    assert {"gif", "svg"} <= set(json.dumps(response["output_format"]).replace('"', " ").split())


def test_the_catalog_says_who_takes_what() -> None:
    takes_gif = sorted(name for name, spec in MODELS.items() if "gif" in spec.output_formats)
    takes_markup = sorted(name for name, spec in MODELS.items() if spec.edits and spec.edits.markup)
    assert takes_gif == ["gpt-image-2.6-flare", "gpt-image-2.6-sunburst"]
    assert all(name.startswith("gpt-image-2.5-") for name in takes_markup) and len(takes_markup) == 4


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("complexity", 3, "one of 'low', 'medium', or 'high'"),
        ("frame_count", "nine", "an integer"),
        ("frame_count", 2.5, "an integer"),
        ("frame_duration_ms", True, "an integer"),
        ("svg", ["gpt-5"], "an object"),
        ("safety_identifier", 7, "a string"),
    ],
)
def test_a_wrong_type_for_a_new_field_is_invalid_type(api: TestClient, name: str, value: Any, expected: str) -> None:
    extra = {"output_format": "svg"} if name == "svg" else {"output_format": "gif"} if name.startswith("frame") else {}
    response = generate(api, **extra, **{name: value})
    got = {3: "an integer", "nine": "a string", 2.5: "a decimal number", True: "a boolean", 7: "an integer"}
    got_type = "an array" if isinstance(value, list) else got[value]
    assert_error(
        response,
        400,
        message=f"Invalid type for '{name}': expected {expected}, but got {got_type} instead.",
        param=name,
        code="invalid_type",
    )


def test_a_multipart_frame_count_that_is_not_a_number_is_invalid_type(api: TestClient) -> None:
    response = api.post(
        EDITS,
        data={"model": ANIMATED, "prompt": "a hat", "output_format": "gif", "frame_count": "nine"},
        files={"image": ("a.png", png(), "image/png")},
    )
    assert_error(
        response,
        400,
        message="Invalid type for 'frame_count': expected an integer, but got a string value that could not be "
        "converted into an integer.",
        param="frame_count",
        code="invalid_type",
    )
