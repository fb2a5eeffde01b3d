"""Workflows: files of tasks whose outputs feed later tasks' parameters, and batch runs.

`model` reads a workflow file, `checks` checks it against the registered components before
anything runs, `runner` runs its tasks through the host's dispatch, `batch` runs one action over
every row of a JSONL file, and `demo` runs the shipped examples against the embedded emulator.
"""
