# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
# Each creates or updates .venv from pyproject.toml before it runs.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The second official SDK, for the tests. It asks for PyJWT >= 2.9 and zhipuai pins ~= 2.8.0, so no
# resolver installs both: it comes without its dependencies, which zhipuai has already brought
# (docs/dependencies.md says why that is safe).
ZAI_SDK := 'zai-sdk>=0.2.3,<0.3'

.PHONY: demo test lint test-airflow airflow-venv bench docs clean

# Airflow pins its own dependencies, so its tests run in a virtual environment of their own,
# built once per checkout (and again when pyproject.toml or the pins change).
AIRFLOW_VENV  := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
AIRFLOW_PINS  := tests/airflow/constraints.txt

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)

# The tests also run every benchmark script at a toy size, so they need the bench extra too.
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps $(ZAI_SDK)
	touch $@

demo: $(STAMP)
	$(BIN)/zhipu-connector demo

$(AIRFLOW_VENV)/bin/python:
	$(PYTHON) -m venv $(AIRFLOW_VENV)

$(AIRFLOW_STAMP): pyproject.toml $(AIRFLOW_PINS) | $(AIRFLOW_VENV)/bin/python
	$(AIRFLOW_VENV)/bin/pip install --quiet --disable-pip-version-check -c $(AIRFLOW_PINS) -e '.[airflow-test]'
	touch $@

airflow-venv: $(AIRFLOW_STAMP)

# The main suite skips tests/airflow (no Airflow there); the second run is those tests in Airflow's venv.
# The house rules first (lint, format, types): a few seconds, and they fail fast.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(STAMP) $(AIRFLOW_STAMP) lint
	$(BIN)/python -m pytest
	$(AIRFLOW_VENV)/bin/python -m pytest tests/airflow

test-airflow: $(AIRFLOW_STAMP)
	$(AIRFLOW_VENV)/bin/python -m pytest tests/airflow

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

docs: $(STAMP)
	$(BIN)/zhipu-connector docs --output docs/reference/zhipu.md

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) dist build .pytest_cache .mypy_cache .ruff_cache test-output
