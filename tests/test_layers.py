"""The package's layers: a module imports only its own layer and the layers below it.

    contract   the API as data and rules: catalog, parameters, validation, usage, errors (no I/O)
    imaging    pictures: render, encode, decode uploads, cache        (imports contract)
    harness    test harness state: faults, journal, fixtures, limits  (imports contract)
    api        the HTTP surface: routes, wire formats, OpenAPI        (imports the three above)
    web        the pages: dashboard, offline docs                      (imports api and below)
    server     the process: settings, CLI, app, middleware            (imports web and below)
    testing    ImagesEmulator and the pytest plugin                   (imports everything)

imaging and harness are siblings: neither imports the other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import images_emulator

PACKAGE = Path(images_emulator.__file__).parent
ALLOWED: dict[str, set[str]] = {
    "contract": {"contract"},
    "imaging": {"imaging", "contract"},
    "harness": {"harness", "contract"},
    "api": {"api", "imaging", "harness", "contract"},
    "web": {"web", "api", "imaging", "harness", "contract"},
    "server": {"server", "web", "api", "imaging", "harness", "contract"},
    "testing": {"testing", "server", "web", "api", "imaging", "harness", "contract"},
}


def imported_layers(path: Path) -> set[tuple[int, str]]:
    """(line, layer) of every `images_emulator.<layer>` the module imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "images_emulator" and len(parts) > 1 and parts[1] in ALLOWED:
                found.add((node.lineno, parts[1]))
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            found.add((node.lineno, "relative"))
    return found


def test_every_module_belongs_to_a_layer() -> None:
    stray = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.parent != PACKAGE and path.relative_to(PACKAGE).parts[0] not in ALLOWED
    ]
    assert not stray


def test_lower_layers_never_import_higher_ones() -> None:
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        layer = path.relative_to(PACKAGE).parts[0]
        if layer not in ALLOWED:
            continue  # the package root (__init__, __main__) may import anything
        for line, imported in sorted(imported_layers(path)):
            if imported == "relative" or imported not in ALLOWED[layer]:
                violations.append(f"{path.relative_to(PACKAGE)}:{line}: {layer} imports {imported}")
    assert not violations, "\n".join(violations)
