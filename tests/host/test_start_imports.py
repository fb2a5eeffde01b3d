"""A warm start imports only what dispatching needs: the guard behind the cold-start target."""

from __future__ import annotations

import os
import subprocess
import sys

NOT_AT_START = [
    "json",  # entries are read with pydantic-core's `from_json`; `json` costs ~1.5 ms to import
    "yaml",
    "jsonschema",
    "httpx",
    "logging",
    "asyncio",
    "uvicorn",
    "fastapi",
    "zhipu_connector.emulator",
    "zhipu_connector.forms",
    "zhipu_connector.workflow",
    "zhipu_connector.zhipu.client",
    "zhipu_connector.zhipu.long_task",
    "zhipu_connector.zhipu.routes",
    "zhipu_connector.zhipu.errors",
    "zhipu_connector.definition.conditions",
    "zhipu_connector.definition.rules",
    "zhipu_connector.definition.json_schema",
    "fastjsonschema",
    "importlib.metadata",
    "zhipu_connector.host.connection_test",
    "zhipu_connector.host.live_options",
]
PROBE = (  # prints without `json`, which it checks is not imported
    "import sys; from zhipu_connector.host.host import default_host; default_host();"
    f"print(' '.join(m for m in {NOT_AT_START!r} if m in sys.modules))"
)


def test_a_warm_start_imports_nothing_it_does_not_use(tmp_path):
    env = {**os.environ, "ZHIPU_CONNECTOR_CACHE_DIR": str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    assert "yaml" in first.stdout.split()  # an empty cache: the definitions are read and checked
    second = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    assert second.stdout.split() == []
