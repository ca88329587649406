"""A small fixed set of chaos schedules (``make test``); ``make chaos N=1000`` runs many.

Each schedule is a seeded random mix of the simulator's faults fired while a TradingNode with our
execution client trades; afterwards every invariant of the oracle is checked against the venue's
ground truth (trades exactly once as fills, statuses, filled quantities, average prices, positions,
balances). A failure prints the replay command.
"""

from __future__ import annotations

import pytest

from adapters.testkit.chaos import BINGX_FAULT_KINDS, FAULT_KINDS, make_schedule, run_schedule

# Between them these cover every fault kind (checked below), and each runs in a few seconds.
SEEDS = [2, 6, 8, 9, 12]
# BingX (``--venue bingx``): every BingX fault kind, ~2-3 s each.
BINGX_SEEDS = [6, 15, 16, 27, 37]


def test_schedules_are_pure_functions_of_the_seed() -> None:
    assert make_schedule(42) == make_schedule(42)
    assert make_schedule(42) != make_schedule(43)


def test_fixed_seeds_cover_every_fault_kind() -> None:
    kinds = {step.fault for seed in SEEDS for step in make_schedule(seed)}
    assert kinds == set(FAULT_KINDS), set(FAULT_KINDS) - kinds


def test_bingx_schedules_are_pure_and_their_own() -> None:
    assert make_schedule(42, venue="bingx") == make_schedule(42, venue="bingx")
    assert make_schedule(42, venue="bingx") != make_schedule(43, venue="bingx")
    assert make_schedule(42, venue="bingx") != make_schedule(42)
    assert {s.fault for seed in range(1, 50) for s in make_schedule(seed, venue="bingx")} == set(
        BINGX_FAULT_KINDS
    )


def test_fixed_bingx_seeds_cover_every_bingx_fault_kind() -> None:
    kinds = {step.fault for seed in BINGX_SEEDS for step in make_schedule(seed, venue="bingx")}
    assert kinds == set(BINGX_FAULT_KINDS), set(BINGX_FAULT_KINDS) - kinds
    assert {"drop_events", "overlap_rotation"} <= kinds  # BingX's own quirks


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", SEEDS)
async def test_chaos_schedule(seed: int) -> None:
    result = await run_schedule(seed)
    assert result.ok, f"seed {seed} violated invariants; replay: {result.replay()}\n" + "\n".join(
        result.violations
    )
    assert result.venue_trades > 0
    assert result.recoveries > 0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", BINGX_SEEDS)
async def test_bingx_chaos_schedule(seed: int) -> None:
    result = await run_schedule(seed, venue="bingx")
    assert result.ok, f"bingx seed {seed} violated invariants; replay: {result.replay()}\n" + "\n".join(
        result.violations
    )
    assert result.venue_trades > 0
    assert result.recoveries > 0
    assert result.replay() == f"python -m adapters.testkit.chaos --venue bingx --seed {seed} -v"
