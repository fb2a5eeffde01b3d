"""A Zhipu-compatible HTTP API (ASGI) for tests, demos, benchmarks and offline work.

Written from the API reference alone, sharing no code with the Zhipu client, so that it catches
the client's mistakes. `create_app()` gives the ASGI callable (use it in process with
`httpx.ASGITransport`); `serve()` and `running_emulator()` put it on a real socket with uvicorn
(imported only when one of them is first used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .app import API_PREFIX, EmulatorApp, create_app
from .config import (
    OFFICIAL_SDK_NULL_FIELDS,
    EmulatorConfig,
    EmulatorConfigError,
    api_keys_from_env,
)
from .faults import FAULTS
from .models import CHAT_MODELS, IMAGE_MODELS

if TYPE_CHECKING:
    from .server import running_emulator, serve

__all__ = [
    "API_PREFIX",
    "CHAT_MODELS",
    "FAULTS",
    "IMAGE_MODELS",
    "OFFICIAL_SDK_NULL_FIELDS",
    "EmulatorApp",
    "EmulatorConfig",
    "EmulatorConfigError",
    "api_keys_from_env",
    "create_app",
    "running_emulator",
    "serve",
]


def __getattr__(name: str) -> Any:
    if name in ("serve", "running_emulator"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
