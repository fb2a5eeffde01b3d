"""The built-in `core` component: logger, text template and download, to chain with any connector.

It is declared in `core.yaml` and registered by `plugin.py` through the same hook as every
other connector; the host gives it no special treatment.
"""
