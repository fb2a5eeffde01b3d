"""Workflow engines' views of every registered component, generated from the definitions.

An adapter depends on the host and the definitions, never the reverse, and restates nothing a
definition says: labels, options, ranges, defaults and secrets all come from it. Each engine is
an optional extra; nothing outside its own adapter package imports it.
"""
