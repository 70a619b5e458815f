"""The docs: generated tables up to date, links and code locations that resolve.

docs/reference.md carries the model and configuration tables, generated from the catalog and the
settings (`python -m images_emulator.server.docs_tables --write docs/reference.md`). Every relative
link in README.md and docs/*.md must reach a file of the repository (and a heading, when it names
one), and every code location the pages name (`contract/catalog.catalog_as_of`) must exist.
"""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from images_emulator.contract.catalog import MODELS
from images_emulator.server.app import create_app
from images_emulator.server.docs_tables import TABLES, rewrite
from images_emulator.server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "images_emulator"
README = ROOT / "README.md"
REFERENCE = ROOT / "docs" / "reference.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "fixtures" / "README.md"]

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.DOTALL | re.MULTILINE)
CODE_SPAN = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.MULTILINE)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
LAYERS = ("contract", "imaging", "harness", "api", "server", "testing")
# `contract/catalog.py`, `contract/catalog.ModelSpec.n_max`, `api/routes/edits.py`, `images_emulator/contract/data/`
LOCATION = re.compile(rf"`(?:images_emulator/)?((?:{'|'.join(LAYERS)})/[\w/]*\w)(?:\.py|\.([A-Za-z_][\w.]*\w))?/?`")


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def prose(text: str) -> str:
    """`text` without fenced code blocks (their lines stay, empty, so nothing else moves)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    return frozenset(slug(h) for h in HEADING.findall(prose(page.read_text())))


def relative_links(page: Path) -> list[str]:
    text = CODE_SPAN.sub("", prose(page.read_text()))
    targets = INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)
    return [t for t in targets if not SCHEME.match(t)]


# --- generated tables ---------------------------------------------------------------------------------------


def test_reference_has_the_generated_tables() -> None:
    text = REFERENCE.read_text()
    for name in TABLES:
        assert f"<!-- {name}:start -->" in text and f"<!-- {name}:end -->" in text, name


def test_reference_tables_match_catalog_and_settings() -> None:
    text = REFERENCE.read_text()
    assert rewrite(text) == text, "run: python -m images_emulator.server.docs_tables --write docs/reference.md"


def test_reference_lists_every_model() -> None:
    text = REFERENCE.read_text()
    assert [name for name in MODELS if f"`{name}`" not in text] == []


def test_readme_quick_start_has_the_two_commands() -> None:
    text = README.read_text()
    assert "pip install -e . && images-emulator" in text
    assert "pip install -e '.[test]' && python -m pytest" in text
    assert "pip install -e '.[test]' && python -m pytest" in (ROOT / ".ci" / "run").read_text()


# --- links and code locations -------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_relative_links_point_to_files_in_the_repository(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path, _, fragment = unquote(target).partition("#")
        path = path.partition("?")[0]
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            broken.append(f"{target}: no such file in the repository")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            broken.append(f"{target}: no heading #{fragment} in {page_id(resolved)}")
    assert not broken, "\n".join(broken)


@cache
def defined_names(module: Path) -> frozenset[str]:
    """Every name a module defines at any depth: functions, classes, assignments, class fields."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return frozenset(names)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_code_locations_exist(page: Path) -> None:
    missing = []
    for location, names in LOCATION.findall(prose(page.read_text())):
        module = PACKAGE / f"{location}.py"
        if not module.is_file():
            if not (PACKAGE / location).is_dir():
                missing.append(f"images_emulator/{location}: no such module")
            continue
        unknown = [name for name in names.split(".") if name and name not in defined_names(module)]
        if unknown:
            missing.append(f"{location}.{names}: {', '.join(unknown)} not defined in images_emulator/{location}.py")
    assert not missing, "\n".join(missing)


def test_openapi_links_only_existing_docs() -> None:
    """The server's OpenAPI description points readers at docs pages: they must exist."""
    with TestClient(create_app(Settings())) as client:
        document = json.dumps(client.get("/openapi.json").json())
    mentioned = set(re.findall(r"(?<![\w/.])((?:docs|fixtures|bench)/[\w./-]+\.md)", document))
    assert "docs/harness.md" in mentioned
    assert [path for path in sorted(mentioned) if not (ROOT / path).is_file()] == []
