# The two commands of the README are the contract with a new user:
#   make demo  - creates .venv if needed, installs, runs the main job on the embedded simulator
#   make test  - creates .venv if needed, installs, runs the whole suite (lint, types, tests)
# Longer runs (chaos at scale, soak, benchmarks) get their own targets.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest sim clean redis

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m examples.demo

test: $(STAMP) redis lint typecheck pytest

# NautilusTrader's Redis-backed cache is tested against a real redis-server (Debian's package):
# installed here when absent (tests start their own on a free loopback port).
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
		echo "installing redis-server (Debian package)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get install -y -q redis-server >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q redis-server >/dev/null; }; \
	}
	@command -v redis-server >/dev/null 2>&1 || { echo "redis-server could not be installed" >&2; exit 1; }

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
#                       WSAPI=1: Binance with the listen key over the WS API (userDataStream.*)
#                       CHAOS_JOBS=4 (default): schedules at once, in child processes (each waits on timers
#                       most of the time: ~0.1 core apiece); one merged summary
# make restart-drill N=50 [VENUE=binance|bingx|both] [SEED=S]
#                       a node process with NautilusTrader's Redis cache SIGKILLed during fills, fills
#                       while it is down and while it restarts (same trader id, same Redis), checked
#                       against the venue's ground truth; N seeds (default 50) per venue. Exit 1 on
#                       any violation (adapters/testkit/restart_drill.py; needs redis-server: make redis)
# make soak DAYS=7      time-scaled week of rotations; RSS and live tasks must stay flat
# make soak-orders      100,000 orders' lives through the hot path; RSS and per-order state flat
# make mutation         mutmut on the modules behind the fill promise (gap sync, order facts/tracking,
#                       recovery, dedup; [tool.mutmut] in pyproject.toml): per-module kill rate and the
#                       surviving mutants; fails below MUTATION_MIN % killed on any module. JOBS=2 workers
# make fuzz SECONDS=600 [TARGET=binance-user,...]  structure-aware fuzzing of every target (each in its own
#                       process; findings, minimized, in fuzz-findings/ with SUMMARY.md); exit 1 on findings
N    ?= 200
VENUE ?= both
SECONDS ?= 600
DAYS ?= 7
ORDERS ?= 100000
MUTATION_MIN ?= 90
JOBS ?= 2
CHAOS_JOBS ?= 4

# N is shared with chaos (200); the drill's own default is 50 unless N is given.
DRILL_N = $(if $(filter command line environment,$(origin N)),$(N),50)

.PHONY: bench chaos restart-drill soak soak-orders mutation fuzz

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

chaos: $(STAMP)
	$(BIN)/python -m adapters.testkit.chaos --venue $(VENUE) $(if $(WSAPI),--user-stream-via-ws-api) $(if $(SEED),--seed $(SEED) -v,--seeds $(N) --jobs $(CHAOS_JOBS))

restart-drill: $(STAMP) redis
	$(BIN)/python -m adapters.testkit.restart_drill --venue $(VENUE) $(if $(SEED),--seed $(SEED) -v,--seeds $(DRILL_N))

soak: $(STAMP)
	$(BIN)/python -m adapters.testkit.chaos --soak --days $(DAYS)

soak-orders: $(STAMP)
	$(BIN)/python -m adapters.testkit.order_soak --orders $(ORDERS)

# From scratch every time (mutmut keeps results in mutants/ across runs, keyed to the tests it saw).
mutation: $(STAMP)
	rm -rf mutants
	$(BIN)/mutmut run --max-children $(JOBS)
	$(BIN)/python -m tests.mutation_report --threshold $(MUTATION_MIN)

fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz.runner --seconds $(SECONDS) $(if $(TARGET),--targets $(TARGET)) $(if $(SEED),--seed $(SEED))

# --- documentation ---------------------------------------------------------------------------
# make docs             regenerate the reference pages from the code, build the site into site/ (strict)
.PHONY: docs

docs: $(STAMP)
	$(BIN)/python docs/gen_config_reference.py
	$(BIN)/python docs/gen_log_reference.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
