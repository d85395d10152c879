# Quartierbot. `make demo` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: help install upgrade audit demo run browser test screenshots lint format typecheck i18n-extract i18n-update i18n-check bench clean

help:
	@echo "make demo          run the bot in the local sandbox: http://127.0.0.1:8080/ (PORT=...)"
	@echo "make test          install what the tests need and run the whole suite"
	@echo "make browser       install Debian's chromium for the browser tests when missing (apt-get)"
	@echo "make screenshots   PNGs of the dashboard's main pages (demo data) into docs/screenshots/"
	@echo "make lint          ruff (lint + format check) and mypy"
	@echo "make format        format the code with ruff"
	@echo "make run           quartierbot run (needs TELEGRAM_BOT_TOKEN)"
	@echo "make i18n-extract  write locales/messages.pot from the code"
	@echo "make i18n-update   merge messages.pot into every locale's .po file"
	@echo "make i18n-check    check that every locale is complete and sound"
	@echo "make bench         run every benchmark, one table, into docs/PERFORMANCE.md (BENCH_ARGS=--quick)"
	@echo "make upgrade       resolve pyproject.toml's ranges anew into the lock files"
	@echo "make audit         check requirements.lock for known vulnerabilities (pip-audit; online)"

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

# Debian's chromium, which Playwright drives in the browser tests (.ci/browser installs it).
browser:
	@bash .ci/browser

test: install browser
	$(BIN)/python -m pytest

# The dashboard's main pages at 1280x800 and 768x1024, from the sandbox's demo data.
screenshots: install browser
	$(BIN)/python docs/screenshots.py

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
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

# Upgrading is a reviewed commit: this rewrites the lock files, `git diff` shows what moved.
upgrade:
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/python -m pip install --quiet $(PIP_TOOLS); }
	$(COMPILE) --upgrade --extra dev --output-file $(LOCK) pyproject.toml
	$(COMPILE) --constraint $(LOCK) --output-file $(RUNTIME_LOCK) pyproject.toml
	@echo "lock files written: review with git diff, then make test"

# Known vulnerabilities in the locked versions, asked of pip-audit's vulnerability service
# (PyPI's): needs that service online, so it is not part of `make test` or CI. pip-audit is not
# in the lock; it gets a throwaway venv of its own. The lock's hashes let it read the pins as
# they are, without resolving or installing anything (--disable-pip); --strict fails the audit
# when a package can't be checked rather than skipping it.
AUDIT_VENV := .venv-audit
PIP_AUDIT  := pip-audit==2.10.1
audit:
	test -x $(AUDIT_VENV)/bin/pip-audit || { $(PYTHON) -m venv $(AUDIT_VENV) && $(AUDIT_VENV)/bin/python -m pip install --quiet $(PIP_AUDIT); }
	$(AUDIT_VENV)/bin/pip-audit --requirement $(LOCK) --require-hashes --disable-pip --strict --progress-spinner off

clean:
	rm -rf $(VENV) $(LOCK_VENV) $(AUDIT_VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
