# Two commands on a fresh machine: `make run` (the app) and `make test` (the suite).
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
MNIST_DESK_DATA ?= $(abspath ../shared/mnist)
export MNIST_DESK_DATA

.PHONY: run test lint format bench package clean-venv

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m mnist_desk

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q --cov=mnist_desk --cov-report=term:skip-covered

lint: $(STAMP)
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format . && $(PY) -m ruff check --fix .

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

package:
	bash packaging/build.sh

clean-venv:
	rm -rf $(VENV)
