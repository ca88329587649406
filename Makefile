# The two commands of the README are the contract with a new user:
#   make demo  - creates .venv if needed, installs, runs the main job on the embedded simulator
#   make test  - creates .venv if needed, installs, runs the whole suite (lint, types, tests)
# Longer runs (chaos at scale, soak, benchmarks) get their own targets.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest sim clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m examples.demo

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check adapters tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy adapters

pytest: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider

# Start the Binance USD-M simulator on a free port; prints its JSON line, Ctrl-C to stop.
sim: $(STAMP)
	$(BIN)/python -m adapters.sim binance-futures --port 0

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
