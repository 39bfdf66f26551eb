# om-platform: `make run` and `make test` work on a fresh machine with Python 3.11+ and Node 20.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAGE ?= dev
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export PYTHONPATH := $(CURDIR):$(CURDIR)/layers/core/python

.PHONY: run test synth bench deploy lint typecheck openapi clean backtest

$(VENV)/.installed: requirements.txt layers/deps/requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

run: $(VENV)/.installed ## start the whole platform locally on http://127.0.0.1:8000
	$(PY) -m infra.local

test: $(VENV)/.installed node_modules/.installed ## run every test tier
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

synth: $(VENV)/.installed node_modules/.installed ## synthesize every stack into cdk.out/
	npx cdk synth --quiet -c stage=$(STAGE)

deploy: $(VENV)/.installed node_modules/.installed ## deploy to the current AWS account: make deploy STAGE=prod
	npx cdk deploy --all -c stage=$(STAGE) --require-approval broadening

bench: $(VENV)/.installed node_modules/.installed ## run every benchmark; results in bench/results/
	$(PY) -m bench

backtest: $(VENV)/.installed ## score NAB-layout CSVs: make backtest DATA=<dir> OUT=<dir> [WINDOWS=<combined_windows.json>]
	@test -n "$(DATA)" -a -n "$(OUT)" || { echo "usage: make backtest DATA=<dir> OUT=<dir> [WINDOWS=<combined_windows.json>]"; exit 2; }
	$(PY) -m omp.analytics.backtest "$(DATA)" "$(OUT)" $(if $(WINDOWS),--windows "$(WINDOWS)")

openapi: $(VENV)/.installed ## regenerate docs/openapi.json from the handlers' routes
	$(PY) -m omp.runtime.openapi > docs/openapi.json
	cp docs/openapi.json layers/core/python/omp/openapi.json

clean:
	rm -rf cdk.out .local .build bench/results
