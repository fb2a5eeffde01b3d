"""The generic plugin host: it knows connectors only through their definitions and hooks."""
