# Developer commands. `make test` sets up everything it needs from a clean clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.DEFAULT_GOAL := help
.PHONY: help install redis-server test test-unit lint fmt type demo bench check clean
.PHONY: test-notebooks docs docs-serve chromium docs-img

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the package with dev dependencies

redis-server:  ## make sure a redis-server binary is available (installs it when root)
	@scripts/ensure-redis-server.sh

chromium:  ## make sure Debian's chromium is there for the lgrs serve browser tests
	@scripts/ensure-chromium.sh

test: install redis-server chromium  ## lint, run the test suite, the notebooks and a strict docs build
	$(BIN)/ruff check src tests benchmarks examples scripts
	$(BIN)/pytest
	scripts/with-redis.sh $(BIN)/pytest --nbmake --nbmake-timeout=300 notebooks -q
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

test-unit: install  ## tests that need no Redis
	$(BIN)/pytest tests/unit

lint: install  ## ruff lint and format check
	$(BIN)/ruff check src tests benchmarks examples scripts
	$(BIN)/ruff format --check src tests benchmarks examples scripts

fmt: install  ## format the code
	$(BIN)/ruff format src tests benchmarks examples scripts
	$(BIN)/ruff check --fix src tests benchmarks examples scripts

type: install  ## mypy --strict on src/
	$(BIN)/python -m pip install --quiet mypy
	$(BIN)/mypy

test-notebooks: install redis-server  ## run every notebook against a throwaway redis-server
	scripts/with-redis.sh $(BIN)/pytest --nbmake --nbmake-timeout=300 notebooks -q

docs: install  ## build the docs site into site/ (strict: warnings are errors)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-img: install redis-server chromium  ## run the lgrs serve browser tests, copy their screenshots into docs/img/web/
	$(BIN)/pytest -q tests/web/test_browser.py
	mkdir -p docs/img/web && cp tests/artifacts/web/*.png docs/img/web/

docs-serve: install  ## serve the docs with live reload on http://127.0.0.1:8000
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

demo: install redis-server  ## the interview story: interrupted, resumed from a new process, inspected
	@scripts/demo.sh

bench: install redis-server  ## serializer and saver benchmarks (medians, p95, ratios against peers)
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
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis .redis-run site
