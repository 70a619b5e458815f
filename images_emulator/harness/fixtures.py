"""Fixtures: `DIR/fixtures.yaml` maps requests to canned images or faults.

```yaml
- match: {prompt: "(?i)\\bcat\\b", model: gpt-image-1, path: generations}   # model, path optional
  image: cat.png                   # a file in DIR, served at the requested size and format
- match: {prompt: "forbidden"}
  error: content_policy            # any fault kind
- match: {prompt: "lighthouse", model: dall-e-3}
  image: lighthouse.png
  revised_prompt: A lighthouse on a cliff at dusk.
```

Rules are tried in order and the first match wins. `prompt` is a Python regex searched anywhere in
the prompt (case-sensitive unless `(?i)`); a rule without `prompt` matches any prompt (and
variations, which have none). `path` is `generations`, `edits` or `variations` (`/v1/images/...`
works too). Images are scaled to cover the requested size and centre-cropped (aspect ratio kept),
then encoded in the requested format; every problem in the file is reported at start with its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from images_emulator.harness.target import Target

FIXTURES_FILE = "fixtures.yaml"


class FixturesError(Exception):
    """A fixtures directory that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Fixture:
    line: int
    prompt: re.Pattern[str] | None = None
    model: str | None = None
    path: str | None = None
    image: bytes | None = None  # the file's bytes
    image_name: str | None = None
    error: str | None = None
    revised_prompt: str | None = None

    def matches(self, target: Target) -> bool:
        return (
            (self.model is None or self.model == target.model)
            and (self.path is None or self.path == target.endpoint)
            and (self.prompt is None or self.prompt.search(target.prompt) is not None)
        )


@dataclass(frozen=True)
class Fixtures:
    directory: Path
    rules: tuple[Fixture, ...]

    def match(self, target: Target) -> Fixture | None:
        """The first rule matching `target`."""
        return next((rule for rule in self.rules if rule.matches(target)), None)


def load_fixtures(directory: Path | str) -> Fixtures:
    """Read and check `directory/fixtures.yaml`; FixturesError names the first problem and its line."""
    from images_emulator.harness.fixtures_reader import FixturesReader  # YAML and Pillow: only when used

    return FixturesReader(Path(directory)).read()
