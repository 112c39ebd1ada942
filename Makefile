# Smart Approval: `make run` serves the platform, `make test` runs the tests.
# Each creates the virtual environment .venv on first use and reinstalls only
# when pyproject.toml or requirements.lock change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: run test check format-check lint migrations-check layers types lock clean

# The console shows warnings and the welcome line; LOG_LEVEL=INFO make run
# shows every step and request as JSON, as production logs them.
run: $(RUN_STAMP)
	LOG_LEVEL=$${LOG_LEVEL:-WARNING} $(BIN)/smartapproval serve

test: $(DEV_STAMP)
	$(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# What CI checks besides the tests; `make -k check` reports every failure.
check: format-check lint migrations-check layers types

format-check: $(DEV_STAMP)
	$(BIN)/ruff format --check .

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

migrations-check: $(DEV_STAMP)
	$(BIN)/smartapproval makemigrations --check --dry-run

layers: $(DEV_STAMP)
	$(BIN)/lint-imports

types: $(DEV_STAMP)
	$(BIN)/mypy

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Smart Approval needs Python 3.11 or newer; set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(PIP_INSTALL) -c requirements.lock -e .
	touch $@

$(DEV_STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(PIP_INSTALL) -c requirements.lock -e '.[dev]'
	touch $@ $(RUN_STAMP)

# Re-pin every dependency: a clean venv with .[dev] from a copy of the
# project, frozen without the project itself.
lock:
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	cp -r pyproject.toml src "$$tmp/" && rm -rf "$$tmp"/src/*.egg-info && \
	$(PYTHON) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/pip" install --quiet --disable-pip-version-check "$$tmp[dev]" && \
	{ echo "# Pinned versions of every dependency, dev tools included (constraints file)."; \
	  echo "# Made by 'make lock': pip freeze of a clean venv with .[dev], less the project."; \
	  echo "# Install: pip install -c requirements.lock -e '.[dev]'"; \
	  "$$tmp/venv/bin/pip" freeze --exclude smartapproval; } > requirements.lock

clean:
	rm -rf $(VENV)
