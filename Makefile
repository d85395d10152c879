# Quartierbot. `make demo` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: help install upgrade demo run test lint format typecheck i18n-extract i18n-update i18n-check bench clean

help:
	@echo "make demo          run the bot in the local sandbox: http://127.0.0.1:8080/ (PORT=...)"
	@echo "make test          install what the tests need and run the whole suite"
	@echo "make lint          ruff (lint + format check) and mypy"
	@echo "make format        format the code with ruff"
	@echo "make run           quartierbot run (needs TELEGRAM_BOT_TOKEN)"
	@echo "make i18n-extract  write locales/messages.pot from the code"
	@echo "make i18n-update   merge messages.pot into every locale's .po file"
	@echo "make i18n-check    check that every locale is complete and sound"
	@echo "make bench         run the benchmarks under bench/"
	@echo "make upgrade       resolve pyproject.toml's ranges anew into the lock files"

# Every package, direct and transitive, is pinned with its hashes in the lock files, which
# `make upgrade` writes from the ranges in pyproject.toml (see the README, "Dependencies").
LOCK         := requirements.lock
RUNTIME_LOCK := requirements-runtime.lock
LOCK_VENV    := .venv-lock
PIP_TOOLS    := pip-tools==7.6.2
COMPILE      := CUSTOM_COMPILE_COMMAND="make upgrade" $(LOCK_VENV)/bin/pip-compile --quiet \
                --generate-hashes --allow-unsafe --strip-extras --build-deps-for editable \
                --no-emit-index-url --no-emit-find-links --no-emit-trusted-host

# A changed lock builds the venv anew, so that it holds exactly the locked packages.
$(VENV)/.locked: $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	@touch $@

$(STAMP): $(VENV)/.locked pyproject.toml
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

install: $(STAMP)

# `make demo PORT=8090`: the page on PORT, the bot's HTTP server (health, calendar, flyers) on
# PORT+1. DEMO_ARGS passes more, e.g. DEMO_ARGS=--database=sqlite+aiosqlite:///demo.sqlite3
PORT ?= 8080
demo: install
	@$(BIN)/quartierbot sandbox --port $(PORT) $(DEMO_ARGS)

run: install
	$(BIN)/quartierbot run

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot handlers storage

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

i18n-extract: install
	$(BIN)/quartierbot i18n extract

i18n-update: install
	$(BIN)/quartierbot i18n update

i18n-check: install
	$(BIN)/quartierbot i18n check

bench: install
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Upgrading is a reviewed commit: this rewrites the lock files, `git diff` shows what moved.
upgrade:
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/python -m pip install --quiet $(PIP_TOOLS); }
	$(COMPILE) --upgrade --extra dev --output-file $(LOCK) pyproject.toml
	$(COMPILE) --constraint $(LOCK) --output-file $(RUNTIME_LOCK) pyproject.toml
	@echo "lock files written: review with git diff, then make test"

clean:
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
