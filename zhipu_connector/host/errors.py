"""The error hierarchy, where the host's callers have always found it.

The classes live in the bottom module `zhipu_connector.errors` (so that `definition/` needs
nothing of `host/`); this module re-exports every one of them under the same names.
"""

from zhipu_connector.errors import (
    ActionCancelledError,
    ActionFailedError,
    ConnectionValidationError,
    ConnectorError,
    DefinitionError,
    HandlerCrashedError,
    InputValidationError,
    OutputValidationError,
    PluginError,
    Problem,
    ProblemsError,
    UnknownActionError,
)

__all__ = [
    "ActionCancelledError",
    "ActionFailedError",
    "ConnectionValidationError",
    "ConnectorError",
    "DefinitionError",
    "HandlerCrashedError",
    "InputValidationError",
    "OutputValidationError",
    "PluginError",
    "Problem",
    "ProblemsError",
    "UnknownActionError",
]
