# Felles: one set of commands for people and CI. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PORT ?= 8000
DEMO_PERSONS ?= 2000
DEMO_ORGS ?= 300
export UV_LINK_MODE := copy

.PHONY: help setup assets test-deps run test lint bench postgres clean

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet --break-system-packages --user uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode
	@touch $@

src/felles/portal/static/vendor/.built: package.json package-lock.json src/felles/portal/build-assets.mjs
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent build
	@touch $@

setup: .venv/.synced assets ## Install Python and front-end dependencies (uv, npm)
	@# Compiled once here: where Python may not write bytecode (PYTHONDONTWRITEBYTECODE), each `felles` process
	@# would otherwise compile all of Felles again, seconds at every start.
	@.venv/bin/python -m compileall -q -j0 src

assets: src/felles/portal/static/vendor/.built ## Build Designsystemet, htmx, Swagger UI and Redoc into the portal's static folder

test-deps: ## Install what the tests drive: Debian's Chromium, PostgreSQL and ClamAV's clamd
	@command -v chromium >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -x /usr/sbin/clamd ] || \
		{ $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium postgresql clamav-daemon >/dev/null; }

run: setup ## Migrate, seed demo data and serve the platform at http://localhost:8000 (another port: PORT=N)
	.venv/bin/felles db upgrade
	FELLES_BASE_URL="$${FELLES_BASE_URL:-http://localhost:$(PORT)}" \
		.venv/bin/felles seed --demo --persons $(DEMO_PERSONS) --orgs $(DEMO_ORGS) --seed 1
	.venv/bin/felles serve --port $(PORT)

test: setup test-deps lint ## Run the whole test suite (FELLES_TEST_DATABASE_URL selects PostgreSQL)
	.venv/bin/pytest -p no:cacheprovider

lint: .venv/.synced ## Ruff over the code, strict mypy over core, and the benches' calls into Felles
	.venv/bin/ruff check src tests bench migrations
	.venv/bin/mypy
	@# Not strict: the benches are scripts, but a signature they call that changed must fail here, not in a bench run.
	.venv/bin/mypy --allow-untyped-defs --allow-incomplete-defs --allow-untyped-calls --allow-any-generics \
		--no-warn-return-any --disable-error-code var-annotated bench/*.py

bench: setup ## Run the benchmarks (see docs/performance.md)
	for script in bench/bench_*.py; do echo "== $$script"; .venv/bin/python $$script || exit 1; done

postgres: test-deps ## Start a throwaway PostgreSQL on 127.0.0.1:54329 and print its URL
	scripts/postgres-test-server start

clean: ## Remove the local database, keys and built assets
	rm -rf var src/felles/portal/static/vendor
