# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
# Each creates or updates .venv from pyproject.toml before it runs.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench docs clean

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)

# The tests also run every benchmark script at a toy size, so they need the bench extra too.
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	touch $@

demo: $(STAMP)
	$(BIN)/zhipu-connector demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

docs: $(STAMP)
	$(BIN)/zhipu-connector docs --output docs/reference/zhipu.md

clean:
	rm -rf $(VENV) dist build .pytest_cache test-output
