# Quartierbot. `make demo` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: help install demo run test lint format typecheck i18n-extract i18n-update i18n-check bench clean

help:
	@echo "make demo          run the bot in the local sandbox: http://127.0.0.1:8080/"
	@echo "make test          install what the tests need and run the whole suite"
	@echo "make lint          ruff (lint + format check) and mypy"
	@echo "make format        format the code with ruff"
	@echo "make run           quartierbot run (needs TELEGRAM_BOT_TOKEN)"
	@echo "make i18n-extract  write locales/messages.pot from the code"
	@echo "make i18n-update   merge messages.pot into every locale's .po file"
	@echo "make i18n-check    check that every locale is complete and sound"
	@echo "make bench         run the benchmarks under bench/"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(STAMP)

demo: install
	$(BIN)/quartierbot sandbox

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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
