# The README's two commands are `make run` and `make test`; the rest serve them.
PYTHON ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.8
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test install install-dev lint i18n-extract i18n-compile i18n-check vendor-check vendor-refresh lock bench clean

## make run: install, migrate, seed the demo on first run, start Redis + web + worker
run: install
	$(VENV)/bin/portal serve

## make test: install dev dependencies, lint, run the whole suite on every core (pytest-xdist;
## PYTEST_WORKERS=1 runs it in one process)
PYTEST_WORKERS ?= auto
test: install-dev
	$(VENV)/bin/ruff check portal workers tests bench
	$(VENV)/bin/python -m pytest -n $(PYTEST_WORKERS)

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# uv.lock pins every dependency; --frozen refuses to run if it is out of date.
install: $(UV)
	$(UV) sync --frozen --inexact --quiet
	$(VENV)/bin/python -m portal.devtools.i18n compile

install-dev: $(UV)
	$(UV) sync --frozen --inexact --quiet --extra dev
	$(VENV)/bin/python -m portal.devtools.i18n compile

lint: install-dev
	$(VENV)/bin/ruff check portal workers tests bench
	$(VENV)/bin/ruff format --check portal workers tests bench

## Translations: extract strings into both catalogs, then translate the empty zh_Hans entries
i18n-extract: install-dev
	$(VENV)/bin/python -m portal.devtools.i18n extract

i18n-compile: install
	$(VENV)/bin/python -m portal.devtools.i18n compile

i18n-check: install-dev
	$(VENV)/bin/python -m portal.devtools.i18n check

## Vendored front-end files: verify hashes offline, or re-fetch the pinned versions with npm
vendor-check: install
	$(VENV)/bin/python -m portal.devtools.vendor --check

vendor-refresh: install
	$(VENV)/bin/python -m portal.devtools.vendor --refresh

lock: $(UV)
	$(UV) lock

bench: install-dev
	$(VENV)/bin/python bench/board.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
