"""Imports inside functions only where a start must not pay for them, or with the reason written down.

An import at the top of a module says what it depends on; one inside a function hides that
and costs a lookup on every call. So an import inside a function is allowed when what it
imports would bring in, at the top, a module the start-up guard (`test_start_imports.py`)
keeps out of a start, directly or through the package's own top-level imports; any other
carries its reason on the line: `# imported here: <why>` (an optional extra, an import cycle).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from host.test_start_imports import NOT_AT_START

PACKAGE = Path(__file__).resolve().parents[2] / "zhipu_connector"
MARKER = "# imported here:"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def _resolved(node: ast.ImportFrom, importer: str) -> str:
    if not node.level:
        return node.module or ""
    is_package = MODULES.get(importer, Path()).name == "__init__.py"
    base = importer.split(".")[: len(importer.split(".")) - node.level + (1 if is_package else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imported(node: ast.Import | ast.ImportFrom, importer: str) -> list[str]:
    """The modules an import statement loads (a `from package import module` loads the module too)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = _resolved(node, importer)
    return [base] + [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]


def _top_level_imports(name: str) -> set[str]:
    """What a module imports when it is imported: statements outside functions, `TYPE_CHECKING` aside."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.update(_imported(child, name))
            visit(child)

    visit(tree)
    return found


def _with_parents(module: str) -> set[str]:
    """A module and the packages above it, which Python imports first."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


@cache
def brings_in(module: str) -> frozenset[str]:
    """Every module importing `module` loads: the package's own, followed through, and the rest by name."""
    seen: set[str] = set()
    todo = list(_with_parents(module))
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in MODULES:
            for imported in _top_level_imports(current):
                todo.extend(_with_parents(imported) - seen)
    return frozenset(seen)


def guarded(module: str) -> bool:
    """Whether importing `module` at the top would load something a start must not."""
    loaded = brings_in(module)
    return any(name == kept or name.startswith(kept + ".") for name in loaded for kept in NOT_AT_START)


def local_imports() -> list[tuple[str, int, str, str]]:
    """`(module, line, imported module, source line)` of every import inside a function."""
    found = []
    for name, path in sorted(MODULES.items()):
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    base = _resolved(node, name)  # `from package import module` imports the module
                    targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
                else:
                    continue
                for imported in dict.fromkeys(targets):
                    found.append((name, node.lineno, imported, lines[node.lineno - 1]))
    return found


def test_every_import_inside_a_function_is_of_a_guarded_module_or_says_why():
    unexplained = [
        f"{module}:{line}: {imported}"
        for module, line, imported, source in local_imports()
        if MARKER not in source and not guarded(imported)
    ]
    assert unexplained == [], "move these to the top of their module, or add '# imported here: <why>'"


def test_a_reason_is_never_empty():
    empty = [
        f"{module}:{line}"
        for module, line, _, source in local_imports()
        if MARKER in source and not source.split(MARKER, 1)[1].strip()
    ]
    assert empty == []


def test_the_walk_sees_what_it_claims():
    """The check itself: a guarded module through the package's imports, and a plain one."""
    assert guarded("zhipu_connector.definition.yaml_source")  # imports yaml at the top
    assert guarded("jsonschema") and not guarded("math")
    assert "zhipu_connector.errors" in brings_in("zhipu_connector.host.dispatch")
    assert any(imported == "zhipu_connector.definition.conditions" for _, _, imported, _ in local_imports())
