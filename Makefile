# Two commands for a fresh machine: `make run` and `make test`. Both are idempotent: each step
# checks whether its result is already there and installs only what is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.arenahub-installed
CHP := $(BIN)/configurable-http-proxy

.PHONY: run test test-unit test-integration test-k8s test-browser test-gpu deps test-deps venv proxy clean bench

run: deps
	$(BIN)/arenahub run --demo

deps: system-deps venv proxy

system-deps:
	@scripts/ensure-debian-packages.sh bubblewrap

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

proxy: $(CHP)

$(CHP):
	npm install --silent --no-audit --no-fund --prefix $(VENV)/node configurable-http-proxy@4
	ln -sf ../node/node_modules/.bin/configurable-http-proxy $(CHP)

test-deps: deps
	@scripts/ensure-debian-packages.sh postgresql chromium
	@scripts/ensure-test-tools.sh

test: test-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

test-unit: venv
	$(BIN)/python -m pytest -q -m unit tests

test-integration: deps
	$(BIN)/python -m pytest -q -m integration tests

bench: deps
	@echo "see benchmarks/README.md for each benchmark's command"

clean:
	rm -rf $(VENV) build *.egg-info
