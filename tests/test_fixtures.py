"""Fixtures: the repo's example directory through the SDK, image conversion, and start-up errors."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from helpers import decoded, encode
from PIL import Image

from images_emulator.harness.fixtures import FixturesError, load_fixtures
from images_emulator.imaging.pictures import fitted
from images_emulator.server.settings import Settings
from images_emulator.testing.emulator import ImagesEmulator

REPO_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CAT_ORANGE = (247, 160, 60)
SEA_BLUE = (30, 60, 120)


@pytest.fixture(scope="module")
def emulator() -> Iterator[ImagesEmulator]:
    with ImagesEmulator(inprocess=True, settings=Settings(url_secret="s", fixtures=REPO_FIXTURES)) as emulator:
        yield emulator


@pytest.fixture
def client(emulator: ImagesEmulator) -> openai.OpenAI:
    return emulator.session().client(max_retries=0)


def test_repo_fixtures_load() -> None:
    rules = load_fixtures(REPO_FIXTURES).rules
    assert [(r.image_name, r.error) for r in rules] == [
        ("cat.png", None),
        ("sunset.png", None),
        ("logo.png", None),
        (None, "content_policy"),
        (None, "server_error"),
    ]
    assert all(path.stat().st_size < 50_000 for path in REPO_FIXTURES.glob("*.png"))


def test_matching_prompt_serves_the_image_at_the_requested_size(client: openai.OpenAI) -> None:
    result = client.images.generate(model="gpt-image-1", prompt="A Cat on a mat", size="1536x1024", quality="low")
    img = decoded(result.data[0].b64_json)
    assert (img.format, img.size) == ("PNG", (1536, 1024))
    assert img.convert("RGB").getpixel((768, 40)) == CAT_ORANGE  # cover-crop keeps the centre band
    assert result.usage is not None and result.usage.output_tokens == 400  # usage is unchanged


def test_image_is_encoded_in_the_requested_format(client: openai.OpenAI) -> None:
    result = client.images.generate(model="gpt-image-1", prompt="cats", output_format="jpeg", n=2)
    images = [decoded(item.b64_json) for item in result.data]
    assert [(i.format, i.size) for i in images] == [("JPEG", (1024, 1024))] * 2


def test_transparent_background_keeps_alpha_and_opaque_flattens_on_white(client: openai.OpenAI) -> None:
    clear = client.images.generate(model="gpt-image-1", prompt="a logo", background="transparent", output_format="webp")
    solid = client.images.generate(model="gpt-image-1", prompt="a logo", quality="low")
    assert decoded(clear.data[0].b64_json).getpixel((2, 2)) == (0, 0, 0, 0)
    assert decoded(solid.data[0].b64_json).convert("RGB").getpixel((2, 2)) == (255, 255, 255)


def test_model_and_path_restrict_a_rule(client: openai.OpenAI) -> None:
    # the sunset rule is for dall-e-3 only: gpt-image-1 gets a normal render
    result = client.images.generate(model="gpt-image-1", prompt="a sunset", quality="low")
    assert decoded(result.data[0].b64_json).convert("RGB").getpixel((512, 1000)) != SEA_BLUE


def test_dalle3_revised_prompt_and_url_come_from_the_fixture(emulator: ImagesEmulator, client: openai.OpenAI) -> None:
    result = client.images.generate(model="dall-e-3", prompt="sunset at sea", size="1792x1024")
    item = result.data[0]
    assert item.revised_prompt == "A warm orange sunset over a calm sea, with the sun halfway below the horizon."
    response = emulator.http_client().get(item.url)
    img = Image.open(io.BytesIO(response.content))
    assert img.size == (1792, 1024)
    assert img.convert("RGB").getpixel((896, 1000)) == SEA_BLUE


def test_edits_use_fixtures_and_path_restricts_a_rule(client: openai.OpenAI) -> None:
    photo = ("photo.png", encode(Image.new("RGB", (64, 64), (0, 128, 0))), "image/png")
    cat = client.images.edit(model="gpt-image-1", image=photo, prompt="make it a cat", quality="low")
    assert decoded(cat.data[0].b64_json).convert("RGB").getpixel((512, 40)) == CAT_ORANGE
    logo = client.images.edit(model="gpt-image-1", image=photo, prompt="a logo", quality="low")
    assert decoded(logo.data[0].b64_json).convert("RGB").getpixel((2, 2)) != (255, 255, 255)  # generations only


def test_error_rule_answers_the_fault(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="gpt-image-1", prompt="a forbidden thing")
    assert info.value.code == "moderation_blocked"
    with pytest.raises(openai.InternalServerError):
        client.images.generate(model="dall-e-2", prompt="please fail")


def test_unmatched_prompt_is_rendered_as_usual(client: openai.OpenAI) -> None:
    result = client.images.generate(model="gpt-image-1", prompt="a dog", quality="low")
    assert decoded(result.data[0].b64_json).convert("RGB").getpixel((512, 40)) != CAT_ORANGE


def test_streamed_completed_image_is_the_fixture(client: openai.OpenAI) -> None:
    events = list(client.images.generate(model="gpt-image-1", prompt="cat", stream=True, partial_images=1))
    plain = client.images.generate(model="gpt-image-1", prompt="cat")
    assert events[-1].b64_json == plain.data[0].b64_json


def test_convert_covers_and_crops() -> None:
    source = (REPO_FIXTURES / "sunset.png").read_bytes()  # 384x256
    img = fitted(source, 100, 300, "opaque")
    assert img.size == (100, 300) and img.mode == "RGB"


# --- bad files fail at start with the line -----------------------------------------------------------


def write(tmp_path: Path, text: str, *, cat: bool = True) -> Path:
    (tmp_path / "fixtures.yaml").write_text(text)
    if cat:
        (tmp_path / "cat.png").write_bytes((REPO_FIXTURES / "cat.png").read_bytes())
    return tmp_path


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("- match: {prompt: cat}\n  image: cat.png\n- match: {prompt: dog\n  image: dog.png\n", 4, "invalid YAML"),
        ("- match: {prompt: cat}\n  imgae: cat.png\n", 2, "unknown key 'imgae'"),
        ("- match: {prompt: cat, size: big}\n  image: cat.png\n", 1, "unknown key 'size'"),
        ("# first\n- match: {prompt: cat}\n  image: dog.png\n", 3, "image file 'dog.png' not found"),
        ("- match: {prompt: '('}\n  image: cat.png\n", 1, "invalid regex"),
        ("- match: {prompt: cat}\n  error: explode\n", 2, "unknown fault kind 'explode'"),
        ("- match: {prompt: cat}\n  image: cat.png\n  error: timeout\n", 1, "either 'image' or 'error'"),
        ("- match: {prompt: cat}\n", 1, "needs 'image', 'error' or 'revised_prompt'"),
        ("- image: cat.png\n", 1, "needs a 'match'"),
        ("- match: {path: uploads}\n  image: cat.png\n", 1, "match.path must be one of"),
        ("- match: {}\n  image: ../cat.png\n", 2, "outside the fixtures directory"),
        ("- match: {}\n  image: fixtures.yaml\n", 2, "'fixtures.yaml' is not an image (no format Pillow reads)"),
        ("- match: {model: 5}\n  image: cat.png\n", 1, "match.model must be a string, not '5' (quote it: '5')"),
        ("- match: {prompt: cat}\n  revised_prompt: 7\n", 2, "revised_prompt must be a string, not '7'"),
        ("- match: {prompt: yes}\n  image: cat.png\n", 1, "match.prompt must be a string, not 'yes'"),
        ("match: {prompt: cat}\n", 1, "must be a list"),
    ],
)
def test_bad_fixtures_name_the_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    with pytest.raises(FixturesError) as info:
        load_fixtures(write(tmp_path, text))
    assert f"fixtures.yaml:{line}: " in str(info.value)
    assert words in str(info.value)


def test_missing_directory_or_file(tmp_path: Path) -> None:
    with pytest.raises(FixturesError, match="does not exist"):
        load_fixtures(tmp_path / "nope")
    with pytest.raises(FixturesError, match=r"fixtures\.yaml not found"):
        load_fixtures(tmp_path)
    (tmp_path / "cat.png").write_bytes(b"")
    with pytest.raises(FixturesError, match=r"cat\.png is a file: --fixtures names the directory of fixtures\.yaml"):
        load_fixtures(tmp_path / "cat.png")


def test_empty_file_has_no_rules(tmp_path: Path) -> None:
    assert load_fixtures(write(tmp_path, "# nothing yet\n")).rules == ()


def test_cli_exits_non_zero_with_a_clean_message(tmp_path: Path) -> None:
    write(tmp_path, "- match: {prompt: cat}\n  image: dog.png\n")
    run = subprocess.run(
        [sys.executable, "-m", "images_emulator", "--fixtures", str(tmp_path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert "fixtures.yaml:2: image file 'dog.png' not found" in run.stderr
    assert "Traceback" not in run.stderr
