"""A Zhipu AI connector for low-code workflow engines.

`connector.yaml` declares the component; the generic host in `zhipu_connector.host` loads it,
derives schemas and forms from it and dispatches each action to its handler.
"""

__version__ = "0.1.0"
