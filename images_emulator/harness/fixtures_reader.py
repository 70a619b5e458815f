"""Reading a fixtures directory: `fixtures.yaml` (node by node, so every error names its line) and its images."""

from __future__ import annotations

import io
import re
from pathlib import Path

import yaml
from PIL import Image, UnidentifiedImageError

from images_emulator.contract.endpoints import ENDPOINTS, endpoint_named
from images_emulator.harness.fault_kinds import FAULT_KINDS
from images_emulator.harness.fixtures import FIXTURES_FILE, Fixture, Fixtures, FixturesError

RULE_KEYS = ("match", "image", "error", "revised_prompt")
MATCH_KEYS = ("prompt", "model", "path")
STRING_TAG = "tag:yaml.org,2002:str"


class FixturesReader:
    """Builds Fixtures from the YAML node tree, so every error can name its line."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.file = directory / FIXTURES_FILE

    def fail(self, node: yaml.Node, message: str) -> FixturesError:
        return FixturesError(f"{self.file}:{node.start_mark.line + 1}: {message}")

    def string(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            raise self.fail(node, f"{what} must be a string")
        if node.tag != STRING_TAG:  # 5, 1.5, true: YAML reads them as numbers and booleans
            raise self.fail(node, f"{what} must be a string, not {node.value!r} (quote it: '{node.value}')")
        return str(node.value)

    def mapping(self, node: yaml.Node, what: str, keys: tuple[str, ...]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        result: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self.string(key_node, "a key")
            if key not in keys:
                expected = ", ".join(keys)
                raise self.fail(key_node, f"unknown key '{key}' in {what} (expected one of: {expected})")
            if key in result:
                raise self.fail(key_node, f"duplicate key '{key}' in {what}")
            result[key] = value_node
        return result

    def read(self) -> Fixtures:
        if self.directory.is_file():
            raise FixturesError(f"{self.directory} is a file: --fixtures names the directory of {FIXTURES_FILE}")
        if not self.directory.is_dir():
            raise FixturesError(f"fixtures directory {self.directory} does not exist")
        if not self.file.is_file():
            raise FixturesError(f"{self.file} not found: a fixtures directory needs a {FIXTURES_FILE}")
        try:
            root = yaml.compose(self.file.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = f":{mark.line + 1}" if mark else ""
            raise FixturesError(f"{self.file}{line}: invalid YAML: {exc.problem or exc.context}") from exc
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise FixturesError(f"{self.file}: invalid YAML: {exc}") from exc
        if root is None:
            return Fixtures(self.directory, ())
        if not isinstance(root, yaml.SequenceNode):
            raise self.fail(root, "fixtures.yaml must be a list of fixtures (- match: ...)")
        return Fixtures(self.directory, tuple(self.rule(node) for node in root.value))

    def rule(self, node: yaml.Node) -> Fixture:
        fields = self.mapping(node, "a fixture", RULE_KEYS)
        if "match" not in fields:
            raise self.fail(node, "a fixture needs a 'match' mapping")
        match = {k: self.string(v, f"match.{k}") for k, v in self.mapping(fields["match"], "match", MATCH_KEYS).items()}
        if "image" in fields and "error" in fields:
            raise self.fail(node, "a fixture has either 'image' or 'error', not both")
        if not fields.keys() & {"image", "error", "revised_prompt"}:
            raise self.fail(node, "a fixture needs 'image', 'error' or 'revised_prompt'")
        prompt = None
        if "prompt" in match:
            try:
                prompt = re.compile(match["prompt"])
            except re.error as exc:
                raise self.fail(fields["match"], f"invalid regex in match.prompt: {exc}") from exc
        path = None
        if "path" in match:
            endpoint = endpoint_named(match["path"])
            if endpoint is None:
                names = ", ".join(ENDPOINTS)
                raise self.fail(fields["match"], f"match.path must be one of {names}, not {match['path']!r}")
            path = endpoint.name
        error = None
        if "error" in fields:
            error = self.string(fields["error"], "error")
            if error not in FAULT_KINDS:
                raise self.fail(
                    fields["error"], f"unknown fault kind '{error}' (expected one of: {', '.join(FAULT_KINDS)})"
                )
        image, image_name = self.image(fields["image"]) if "image" in fields else (None, None)
        revised = self.string(fields["revised_prompt"], "revised_prompt") if "revised_prompt" in fields else None
        return Fixture(node.start_mark.line + 1, prompt, match.get("model"), path, image, image_name, error, revised)

    def image(self, node: yaml.Node) -> tuple[bytes, str]:
        name = self.string(node, "image")
        path = (self.directory / name).resolve()
        if not path.is_relative_to(self.directory.resolve()):
            raise self.fail(node, f"image '{name}' is outside the fixtures directory")
        if not path.is_file():
            raise self.fail(node, f"image file '{name}' not found in {self.directory}")
        data = path.read_bytes()
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.load()
        except UnidentifiedImageError as exc:
            raise self.fail(node, f"image file '{name}' is not an image (no format Pillow reads)") from exc
        except Exception as exc:
            raise self.fail(node, f"image file '{name}' is not a readable image ({exc})") from exc
        return data, name
