# PHI Guard: the entry points people use. Each target installs what it needs into .venv itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
# sam build needs the Lambda runtime's interpreter (python3.12) on PATH; pyenv has it on these machines.
export PYENV_VERSION ?= 3.11.7:3.12.1:3.13.0
export SAM_CLI_TELEMETRY := 0
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: demo test lint unit integration validate build docs bench clean

$(VENV)/.installed: pyproject.toml functions/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_QUIET) --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/pip install $(PIP_QUIET) -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import phiguard, moto, aws_lambda_powertools, samtranslator"
	touch $@

# Cloud Custodian, for `make bench` only: pinned, in its own environment, never a dependency of PHI Guard.
C7N_VERSION := 0.9.53
C7N_VENV := build/bench/.venv-c7n

$(C7N_VENV)/.installed-$(C7N_VERSION):
	rm -rf $(C7N_VENV)
	$(PYTHON) -m venv $(C7N_VENV)
	$(C7N_VENV)/bin/pip install $(PIP_QUIET) c7n==$(C7N_VERSION) 2>&1 | grep -v "^WARNING: Location" || true
	$(C7N_VENV)/bin/custodian version
	touch $@

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install $(PIP_QUIET) aws-sam-cli==$(SAM_CLI_VERSION) 2>&1 | grep -v "^WARNING: Location" || true
	$(SAM) --version
	touch $@

## demo: build the reference architecture in an embedded moto server, inject the drifts, fix them
demo: $(VENV)/.installed
	$(BIN)/python -m phiguard_local.demo

## test: the whole suite (lint, types, unit, contract, integration, sam validate/build, deploy check)
test: lint unit validate build

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: $(VENV)/.installed
	$(BIN)/pytest -q -n 2

validate: $(SAM_VENV)/.installed
	$(SAM) validate --lint --template template.yaml

## build: sam build with the python3.12 runtime when that interpreter can be found
build: $(SAM_VENV)/.installed
	@if command -v python3.12 >/dev/null 2>&1 && python3.12 --version >/dev/null 2>&1; then \
	  set -o pipefail; $(SAM) build --template template.yaml --build-dir .aws-sam/build 2>&1 | grep -v "^WARNING: Location" && \
	  test -f .aws-sam/build/template.yaml && ls .aws-sam/build/RemediationFunction/phiguard/handlers/remediate.py; \
	else echo "sam build skipped: no python3.12 interpreter on PATH"; fi

## bench: PHI Guard vs Cloud Custodian on the same drifts in one moto server; build/bench/results.json
## (BENCH_ARGS passes options, e.g. BENCH_ARGS="--only events --events 50"; see python -m phiguard_local.bench -h)
bench: $(VENV)/.installed $(C7N_VENV)/.installed-$(C7N_VERSION)
	C7N_REQUIREMENT=c7n==$(C7N_VERSION) $(BIN)/python -m phiguard_local.bench $(BENCH_ARGS)

## docs: regenerate the controls table in README.md from the registry (a test fails when it is stale)
docs: $(VENV)/.installed
	$(BIN)/python -m phiguard_local.controls_table

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam build .mypy_cache .ruff_cache .pytest_cache
