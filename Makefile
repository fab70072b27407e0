# The two commands a newcomer needs: `make run` and `make test`.
# Both create the virtual environment in .venv when it is missing or stale.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint model bench clean-venv

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

## Start the service on $(HOST):$(PORT) with the shipped default model (SQLite, local mode).
run: $(VENV)/.installed-run
	$(BIN)/trueclout serve --host $(HOST) --port $(PORT) --local

## Run the whole test suite (sets up Chromium and PostgreSQL for the tests if needed).
test: $(VENV)/.installed-dev
	scripts/ensure-test-services.sh
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

## Rebuild the shipped default model, reproducibly: the account model from the synthetic world,
## the follower model from the research data sets (../shared/datasets or $TRUECLOUT_DATASETS).
model: $(VENV)/.installed-run
	$(BIN)/trueclout dev default-model

bench: $(VENV)/.installed-dev
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean-venv:
	rm -rf $(VENV)
