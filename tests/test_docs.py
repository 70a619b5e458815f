"""The README's tables are generated from the code and must be up to date."""

from pathlib import Path

from images_emulator.contract.catalog import MODELS
from images_emulator.server.docs_tables import rewrite

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_tables_match_catalog_and_settings() -> None:
    text = README.read_text()
    assert rewrite(text) == text, "run: python -m images_emulator.server.docs_tables --write README.md"


def test_readme_lists_every_model() -> None:
    text = README.read_text()
    assert all(f"`{name}`" in text for name in MODELS)


def test_readme_quick_start_has_the_two_commands() -> None:
    text = README.read_text()
    assert "pip install -e . && images-emulator" in text
    assert "pip install -e '.[test]' && python -m pytest" in text
    assert "pip install -e '.[test]' && python -m pytest" in (README.parent / ".ci" / "run").read_text()
