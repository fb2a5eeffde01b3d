"""The layers of DESIGN.md, checked on the source: every import statement, wherever it stands.

Each module is parsed with `ast` (nothing is imported, so an import inside a function or under
`TYPE_CHECKING` counts just as much as one at the top), relative imports are resolved against
the module's package, and each rule lists what a layer may not reach.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "zhipu_connector"
ROOT_NAME = "zhipu_connector"

GENERIC = ("host", "definition", "forms", "workflow", "core", "cli.py", "connection_cli.py", "errors.py", "values.py")
ZHIPU_SIDE = ("zhipu_connector.zhipu", "zhipu_connector.emulator", "zhipu_connector.adapters")

RULES: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("the generic layers know nothing of Zhipu, its emulator or the engine adapters", GENERIC, ZHIPU_SIDE),
    ("definition/ is below the host", ("definition",), ("zhipu_connector.host",)),
    ("the emulator shares no code with the client it tests", ("emulator",), ("zhipu_connector.zhipu",)),
    (
        "errors.py is the bottom layer",
        ("errors.py",),
        ("zhipu_connector.host", "zhipu_connector.definition", "zhipu_connector.zhipu", "zhipu_connector.forms"),
    ),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, `from x import y` giving `x.y` too."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def files_of(layer: str) -> list[Path]:
    target = PACKAGE / layer
    return [target] if target.suffix == ".py" else sorted(target.rglob("*.py"))


def reaches(module: str, forbidden: str) -> bool:
    return module == forbidden or module.startswith(forbidden + ".")


@pytest.mark.parametrize("rule, layers, forbidden", RULES, ids=[rule[0] for rule in RULES])
def test_layer_boundaries(rule, layers, forbidden):
    breaches = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
        for layer in layers
        for path in files_of(layer)
        for line, module in imported_modules(path)
        if any(reaches(module, target) for target in forbidden)
    ]
    assert not breaches, f"{rule}:\n" + "\n".join(sorted(set(breaches)))


def test_the_checker_sees_every_kind_of_import(tmp_path, monkeypatch):
    """The rules are only as good as the parser: relative, nested and TYPE_CHECKING imports all count."""
    fake = tmp_path / "zhipu_connector" / "host"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    sample = fake / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from zhipu_connector.zhipu import client\n"
        "def later():\n    import zhipu_connector.emulator.app\n"
        "from ..adapters import airflow\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "zhipu_connector")
    modules = {module for _, module in imported_modules(sample)}
    assert {
        "zhipu_connector.zhipu.client",
        "zhipu_connector.emulator.app",
        "zhipu_connector.adapters.airflow",
    } <= modules
