# Two commands for a fresh machine: `make run` and `make test`. Both are idempotent: each step
# checks whether its result is already there and installs only what is missing.
SHELL := /bin/bash
# Toolchains installed per user (rustup) or in /usr/local (Go) are not always on a CI shell's PATH.
export PATH := $(HOME)/.cargo/bin:/usr/local/go/bin:$(PATH)
# A system Python that every user can read: notebook servers run as per-user uids and must
# be able to load it (a Python under /root, as pyenv installs it, would force a weaker mode).
PYTHON ?= $(firstword $(wildcard /usr/bin/python3.11) python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.arenahub-installed
CHP := $(BIN)/configurable-http-proxy
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: run test test-unit test-integration test-k8s test-browser test-gpu deps test-deps \
        system-deps venv proxy k8s-binaries clean

run: deps
	$(BIN)/arenahub run --demo

deps: system-deps venv proxy

system-deps:
	@scripts/ensure-debian-packages.sh bubblewrap python3-venv
	@command -v npm >/dev/null || scripts/ensure-debian-packages.sh nodejs npm

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

# Test needs: PostgreSQL server binaries, Chromium for the browser tier, the Kubernetes
# control plane built from Go modules (cached under ~/.cache/arenahub by version).
test-deps: deps
	@scripts/ensure-debian-packages.sh postgresql chromium
	@if [ -x tests/k8s/harness/build.sh ]; then tests/k8s/harness/build.sh; fi
	@services/logpolicy_native/build.sh $(VENV)

test: test-deps
	$(PYTEST) -q --durations=25 tests

test-unit: venv
	$(PYTEST) -q -m unit tests

test-integration: deps
	$(PYTEST) -q -m integration tests

test-k8s: test-deps
	$(PYTEST) -q -m k8s tests

test-browser: test-deps
	$(PYTEST) -q -m browser tests

test-gpu: deps
	$(PYTEST) -q -m gpu tests

clean:
	rm -rf $(VENV) build *.egg-info
