"""Airflow stays inside its adapter: the generic layers never import it, discovery imports none of it.

A static check of the source, so it runs (and can fail) in the main environment too.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "zhipu_connector"
ADAPTER = PACKAGE / "adapters" / "airflow"
DISCOVERY = ("__init__.py", "provider_info.py", "connection_form.py", "names.py")
"""What Airflow's provider discovery imports: it must not import Airflow back."""


def imports_airflow(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found += [
            f"{path.relative_to(PACKAGE)}:{node.lineno} {name}" for name in names if name.split(".")[0] == "airflow"
        ]
    return found


def test_nothing_outside_the_adapter_imports_airflow():
    outside = [p for p in PACKAGE.rglob("*.py") if not p.is_relative_to(ADAPTER)]
    assert len(outside) > 20
    assert [hit for path in outside for hit in imports_airflow(path)] == []


def test_provider_discovery_imports_no_airflow():
    assert [hit for name in DISCOVERY for hit in imports_airflow(ADAPTER / name)] == []
    assert imports_airflow(ADAPTER / "operators.py")  # the check would see one
