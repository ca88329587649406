"""A small fixed set of chaos schedules (``make test``); ``make chaos N=1000`` runs many.

Each schedule is a seeded random mix of the simulator's faults fired while a TradingNode with our
execution client trades; afterwards every invariant of the oracle is checked against the venue's
ground truth (trades exactly once as fills, statuses, filled quantities, average prices, positions,
balances). A failure prints the replay command.
"""

from __future__ import annotations

import pytest

from adapters.testkit.chaos import FAULT_KINDS, make_schedule, run_schedule

# Between them these cover every fault kind (checked below), and each runs in a few seconds.
SEEDS = [2, 6, 8, 9, 12]


def test_schedules_are_pure_functions_of_the_seed() -> None:
    assert make_schedule(42) == make_schedule(42)
    assert make_schedule(42) != make_schedule(43)


def test_fixed_seeds_cover_every_fault_kind() -> None:
    kinds = {step.fault for seed in SEEDS for step in make_schedule(seed)}
    assert kinds == set(FAULT_KINDS), set(FAULT_KINDS) - kinds


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", SEEDS)
async def test_chaos_schedule(seed: int) -> None:
    result = await run_schedule(seed)
    assert result.ok, f"seed {seed} violated invariants; replay: {result.replay()}\n" + "\n".join(
        result.violations
    )
    assert result.venue_trades > 0
    assert result.recoveries > 0
