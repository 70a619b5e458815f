"""The tables of docs/reference.md, generated from the catalog and the settings.

`python -m images_emulator.server.docs_tables --write docs/reference.md` rewrites every block between
`<!-- catalog-table:start -->` / `<!-- catalog-table:end -->` and `<!-- settings-table:start -->` /
`<!-- settings-table:end -->` in that file; without `--write` it prints both tables. tests/test_docs.py
checks docs/reference.md is up to date, so the docs cannot drift from the code.
"""

from __future__ import annotations

import argparse
import functools
import re
from collections.abc import Callable
from pathlib import Path

from images_emulator.contract.catalog import MODELS, ModelSpec
from images_emulator.server.settings import Settings


def _list(values: tuple[str, ...]) -> str:
    return ", ".join(f"`{v}`" for v in values) if values else "—"


def _edits(spec: ModelSpec) -> str:
    if spec.edits is None:
        return "—"
    rules = spec.edits
    images = "1 square PNG" if rules.square_png_with_alpha else f"≤ {rules.max_images} png/jpeg/webp"
    fidelity = ", `input_fidelity`" if rules.input_fidelity else ""
    if rules.fixed_input_fidelity:
        fidelity = f", inputs always at {rules.fixed_input_fidelity} fidelity"
    markup = ", `markup`" if rules.markup else ""
    return f"{images}, < {rules.max_bytes // (1024 * 1024)} MB{fidelity}{markup}"


COLUMNS: tuple[tuple[str, Callable[[ModelSpec], str]], ...] = (
    ("model", lambda s: f"`{s.name}`"),
    ("released", lambda s: s.released.isoformat()),
    ("shutdown", lambda s: s.shutdown.isoformat() if s.shutdown else "—"),
    ("sizes", lambda s: s.size_rule.describe() if s.size_rule else _list(s.sizes)),
    ("quality", lambda s: _list(s.qualities)),
    ("n", lambda s: f"1–{s.n_max}"),
    ("prompt chars", lambda s: str(s.prompt_max)),
    ("style", lambda s: _list(s.styles)),
    ("response_format", lambda s: _list(s.response_formats) if s.response_formats else "— (always b64_json)"),
    ("output_format", lambda s: _list(s.output_formats)),
    ("background", lambda s: _list(s.backgrounds)),
    ("complexity", lambda s: _list(s.complexities)),
    ("stream", lambda s: "yes" if s.streaming else "—"),
    ("usage", lambda s: "yes" if s.usage else "—"),
    ("edits", _edits),
    ("variations", lambda s: "yes" if s.variations else "—"),
)


def _cell(text: str) -> str:
    """`text` safe in a table cell: `|` escaped, and `<word>` shown as text rather than read as HTML."""
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text.replace("|", "\\|"))


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def catalog_table() -> str:
    return _table([name for name, _ in COLUMNS], [[cell(spec) for _, cell in COLUMNS] for spec in MODELS.values()])


def settings_table() -> str:
    rows = [
        [f"`--{name.replace('_', '-')}`", f"`EMULATOR_{name.upper()}`", f"`{info.default}`", info.description or ""]
        for name, info in Settings.model_fields.items()
    ]
    return _table(["flag", "env", "default", "meaning"], rows)


TABLES: dict[str, Callable[[], str]] = {"catalog-table": catalog_table, "settings-table": settings_table}


def _filled(match: re.Match[str], table: str) -> str:
    return match.group(1) + table + "\n" + match.group(2)


def rewrite(text: str) -> str:
    """`text` with every `<!-- NAME:start -->…<!-- NAME:end -->` block regenerated."""
    for name, make in TABLES.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.DOTALL)
        text = pattern.sub(functools.partial(_filled, table=make()), text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, metavar="FILE", help="rewrite the tables in this markdown file")
    args = parser.parse_args()
    if args.write:
        text = args.write.read_text()
        missing = [name for name in TABLES if f"<!-- {name}:start -->" not in text]
        if missing:
            parser.error(f"{args.write} has no <!-- {missing[0]}:start --> marker")
        args.write.write_text(rewrite(text))
    else:
        print(catalog_table() + "\n\n" + settings_table())


if __name__ == "__main__":
    main()
