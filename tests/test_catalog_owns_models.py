"""Only the catalog names models: a string literal naming a model anywhere else in the package fails."""

from __future__ import annotations

import ast
from pathlib import Path

import images_emulator
from images_emulator.contract.catalog import MODELS

PACKAGE = Path(images_emulator.__file__).parent
OWNER = PACKAGE / "contract" / "catalog.py"


def string_literals(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every string constant that is not a docstring."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_module_outside_the_catalog_names_a_model() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {text!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != OWNER
        for line, text in string_literals(ast.parse(path.read_text()))
        if any(name in text for name in MODELS)
    ]
    assert not found, "per-model facts belong in catalog.py:\n" + "\n".join(found)
