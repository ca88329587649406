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

# --- measurement layer -----------------------------------------------------------------------
# make bench            benchmarks side by side in one run; writes benchmarks/RESULTS.md
# make chaos N=1000     N seeded schedules (seeds 1..N) on both venues; VENUE=binance|bingx for one;
#                       SEED=S replays one. Exit 1 on any violation or a planned kind that never fired
# make soak DAYS=7      time-scaled week of rotations; RSS and live tasks must stay flat
N     ?= 200
DAYS  ?= 7
VENUE ?= both

.PHONY: bench chaos soak

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

chaos: $(STAMP)
	$(BIN)/python -m adapters.testkit.chaos --venue $(VENUE) $(if $(SEED),--seed $(SEED) -v,--seeds $(N))

soak: $(STAMP)
	$(BIN)/python -m adapters.testkit.chaos --soak --days $(DAYS)

# --- documentation ---------------------------------------------------------------------------
# make docs             regenerate the reference pages from the code, build the site into site/ (strict)
.PHONY: docs

docs: $(STAMP)
	$(BIN)/python docs/gen_config_reference.py
	$(BIN)/python docs/gen_log_reference.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
