"""A small fixed set of chaos schedules (``make test``); ``make chaos N=1000`` runs many.

Each schedule is a seeded mix of the simulator's faults, fired at every phase of a recovery, and an
adversarial workload in the gaps they open (partial fills that stay open, several orders on several
symbols, external orders, modifies, cancels, stops triggering, late executions, hedge mode, gaps past
a keepalive), while a TradingNode with our execution client trades; afterwards every invariant of
the oracle is checked against the venue's ground truth. A failure prints the replay command.

The fixed seeds below are chosen so that, between them, every fault kind and every workload kind
*fires* (counted from what happened, not from the plan) on each venue.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import pytest

from adapters.testkit.chaos import (
    BINGX_FAULT_KINDS,
    EXPECTED_ERROR_TEMPLATES,
    FAULT_KINDS,
    WORKLOAD_KINDS,
    WS_API_FAULT_KINDS,
    ErrorLineCounter,
    ScheduleResult,
    Summary,
    make_plan,
    make_schedule,
    profile,
    run_in_children,
    run_schedule,
)
from adapters.testkit.chaos_probe import gap_workload, hedge_both_sides

# Between them these fire every fault and workload kind of their venue (asserted below).
SEEDS = [22, 2, 40, 16, 26]
BINGX_SEEDS = [27, 17, 6, 25, 23]
# Binance with the listen key over the WS API (--user-stream-via-ws-api): short schedules that fire
# what this mode changes (keepalives refused and cut on userDataStream.ping, expiry, the trading
# socket dropped and cut while a recovery asks it for the key); about 15 s together.
WS_API_SEEDS = [14, 1, 113, 30]
WS_API_KINDS = {"listen_key_expiry", "keepalive_failure", "trading_socket_drop", "cut_key_request"}


# ------------------------------------------------------------------------------------------------
# Schedules: pure, per venue, and able to plan every kind
# ------------------------------------------------------------------------------------------------
def test_schedules_are_pure_functions_of_the_seed() -> None:
    assert make_plan(42) == make_plan(42)
    assert make_plan(42) != make_plan(43)
    assert make_schedule(42) == list(make_plan(42).steps)


def test_bingx_schedules_are_pure_and_their_own() -> None:
    assert make_plan(42, venue="bingx") == make_plan(42, venue="bingx")
    assert make_plan(42, venue="bingx") != make_plan(43, venue="bingx")
    assert make_plan(42, venue="bingx") != make_plan(42)


@pytest.mark.parametrize(
    ("venue", "kinds"),
    [("binance", FAULT_KINDS), ("bingx", BINGX_FAULT_KINDS), ("binance-ws-api", WS_API_FAULT_KINDS)],
)
def test_plans_cover_every_fault_and_workload_kind(venue: str, kinds: tuple[str, ...]) -> None:
    faults: set[str] = set()
    workload: set[str] = set()
    for seed in range(1, 60):
        plan = make_plan(seed, venue=venue)
        faults |= {s.fault for s in plan.steps}
        for step in plan.steps:
            workload |= set(step.planned_workload(plan.hedge))
    assert faults == set(kinds)
    assert workload == set(WORKLOAD_KINDS)
    assert {"snapshot_fault", "backfill_fault", "drain_latency", "drop_after_run", "die_on_connect"} <= faults


# ------------------------------------------------------------------------------------------------
# What counts as fired: the venue's state, before and after one gap
# ------------------------------------------------------------------------------------------------
def _o(
    oid: int, cid: str, status: str, qty: str, executed: str, *, symbol: str = "BTCUSDT", price: str = "1"
) -> Any:
    return {
        "order_id": oid,
        "client_order_id": cid,
        "symbol": symbol,
        "status": status,
        "qty": qty,
        "executed_qty": executed,
        "price": price,
    }


def _s(*orders: dict[str, Any], algos: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"orders": list(orders), "algo_orders": algos or []}


def test_a_partial_fill_that_stays_open_while_another_order_closes_in_one_gap() -> None:
    before = _s(_o(1, "a", "NEW", "2", "0"), _o(2, "b", "NEW", "1", "0"))
    after = _s(_o(1, "a", "PARTIALLY_FILLED", "2", "1"), _o(2, "b", "FILLED", "1", "1"))
    fired = gap_workload(before, after, bingx=False)
    assert fired["partial_fill_open_across_gap"] == 1
    assert fired["partial_and_close_in_one_gap"] == 1


def test_an_order_already_part_filled_before_the_gap_that_did_not_fill_in_it_does_not_count() -> None:
    state = _s(_o(1, "a", "PARTIALLY_FILLED", "2", "1"))
    assert not gap_workload(state, state, bingx=False)


def test_several_orders_on_several_symbols_externals_cancels_modifies_and_triggers() -> None:
    before = _s(
        _o(1, "a", "NEW", "1", "0", price="10"),
        _o(2, "b", "NEW", "1", "0"),
        algos=[{"algo_id": 9, "status": "NEW"}],
    )
    after = _s(
        _o(1, "a", "NEW", "1", "0", price="11"),  # modified in place (Binance)
        _o(2, "b", "CANCELED", "1", "0"),
        _o(3, "ext-1-1", "FILLED", "1", "1", symbol="ETHUSDT"),
        _o(4, "c", "FILLED", "1", "1", symbol="ETHUSDT"),
        algos=[{"algo_id": 9, "status": "FINISHED"}],
    )
    fired = gap_workload(before, after, bingx=False)
    assert fired["modify_in_gap"] == 1
    assert fired["cancel_in_gap"] == 1
    assert fired["external_order_filled"] == 1
    assert fired["several_orders_several_symbols"] == 1
    assert fired["algo_triggered_in_gap"] == 1
    # BingX modifies by cancel-replace: the new link <cid>-r<n> is the modify, the old one no cancel.
    bx_before = _s(_o(1, "o-1", "NEW", "1", "0"))
    bx_after = _s(_o(1, "o-1", "CANCELED", "1", "0"), _o(2, "o-1-r1", "NEW", "1", "0"))
    assert gap_workload(bx_before, bx_after, bingx=True)["modify_in_gap"] == 1


def test_hedge_both_sides_needs_a_long_and_a_short_on_one_symbol() -> None:
    def account(*positions: tuple[str, str, str]) -> dict[str, Any]:
        rows = [{"symbol": s, "position_side": side, "amount": amt} for s, side, amt in positions]
        return {"accounts": {"default": {"positions": rows}}}

    assert hedge_both_sides(account(("BTCUSDT", "LONG", "1"), ("BTCUSDT", "SHORT", "-1")))
    assert not hedge_both_sides(account(("BTCUSDT", "LONG", "1"), ("ETHUSDT", "SHORT", "-1")))
    assert not hedge_both_sides(account(("BTCUSDT", "LONG", "1"), ("BTCUSDT", "SHORT", "0")))


# ------------------------------------------------------------------------------------------------
# The summary flags kinds that never fired
# ------------------------------------------------------------------------------------------------
def _result(seed: int, planned: dict[str, int], fired: dict[str, int]) -> ScheduleResult:
    r = ScheduleResult(seed, [], "binance")
    r.faults = Counter({k: v for k, v in planned.items() if k in FAULT_KINDS})
    r.faults_fired = Counter({k: v for k, v in fired.items() if k in FAULT_KINDS})
    r.workload = Counter({k: v for k, v in planned.items() if k in WORKLOAD_KINDS})
    r.workload_fired = Counter({k: v for k, v in fired.items() if k in WORKLOAD_KINDS})
    return r


def test_the_summary_warns_about_a_kind_that_never_fired_and_fails_when_it_should_have() -> None:
    everything = {k: 1 for k in (*FAULT_KINDS, *WORKLOAD_KINDS)}
    summary = Summary([_result(1, everything, everything)], "binance")
    assert summary.ok and not summary.never_fired()
    assert "WARNING" not in summary.render()
    rare = {**everything, "drain_latency": 1}
    missing = {**everything, "drain_latency": 0}
    summary = Summary([_result(1, rare, missing)], "binance")
    assert summary.never_fired() == [("fault", "drain_latency", 1)]
    assert summary.ok  # planned once: a warning, not a failure
    assert "WARNING: fault kind drain_latency never fired (planned 1x) [warning]" in summary.render()
    often = {**everything, "partial_fill_open_across_gap": 3}
    missing = {**everything, "partial_fill_open_across_gap": 0}
    summary = Summary([_result(1, often, missing)], "binance")
    assert summary.coverage_failures() == ["partial_fill_open_across_gap"]
    assert not summary.ok
    assert "never fired (planned 3x) [FAIL]" in summary.render()


def test_the_summary_names_the_seeds_of_unexpected_error_lines_and_not_fault_made_ones() -> None:
    results = [ScheduleResult(seed, [], "bingx") for seed in (7, 8, 9)]
    log = logging.getLogger("adapters.core.userstream.gap_sync")
    for r in results[:2]:
        with ErrorLineCounter(r.error_lines).installed():
            log.error(
                "recovery: accepted order %s is unknown to the venue; leaving it to reconciliation", "O-1"
            )
            log.error(EXPECTED_ERROR_TEMPLATES[0], "BINGX-user-stream", 1, ValueError(), 0.1)
            log.warning("a warning is not counted")
    log.error("not counted: no counter installed")
    assert all(not r.error_lines for r in results[2:])
    rendered = Summary(results, "bingx").render()
    assert "other ERROR log lines    2 (recovery attempts excluded)" in rendered
    assert "is unknown to the venue" in rendered and "seeds 7, 8" in rendered
    assert "retrying in" not in rendered


# ------------------------------------------------------------------------------------------------
# The fixed seeds, run: every invariant holds, and every kind fires
# ------------------------------------------------------------------------------------------------
async def _run_fixed(venue: str, seeds: list[int]) -> None:
    summary = Summary(venue=venue)
    for seed in seeds:
        result = await run_schedule(seed, venue=venue)
        summary.results.append(result)
        assert result.ok, f"{venue} seed {seed} violated invariants; replay: {result.replay()}\n" + "\n".join(
            result.violations
        )
        assert result.venue_trades > 0
        assert result.recoveries > 0
    never = summary.never_fired()
    assert not never, f"kinds that never fired on {venue} seeds {seeds}: {never}\n{summary.render()}"


@pytest.mark.timeout(300)
async def test_fixed_binance_seeds_hold_every_invariant_and_fire_every_kind() -> None:
    await _run_fixed("binance", SEEDS)


@pytest.mark.timeout(300)
async def test_fixed_bingx_seeds_hold_every_invariant_and_fire_every_kind() -> None:
    await _run_fixed("bingx", BINGX_SEEDS)


@pytest.mark.timeout(200)
async def test_fixed_ws_api_seeds_hold_every_invariant_and_fire_the_ws_api_kinds() -> None:
    fired: Counter[str] = Counter()
    for seed in WS_API_SEEDS:
        result = await run_schedule(seed, venue="binance-ws-api")
        assert result.ok, f"ws-api seed {seed} violated invariants; replay: {result.replay()}\n" + "\n".join(
            result.violations
        )
        assert result.venue_trades > 0 and result.recoveries > 0
        fired.update(result.faults_fired)
    assert set(fired) >= WS_API_KINDS, fired


def test_the_replay_line_names_the_venue() -> None:
    result = ScheduleResult(17, [], "bingx")
    assert result.replay() == "python -m adapters.testkit.chaos --venue bingx --seed 17 -v"
    ws_api = ScheduleResult(17, [], "binance-ws-api")
    assert ws_api.replay() == (
        "python -m adapters.testkit.chaos --venue binance --user-stream-via-ws-api --seed 17 -v"
    )


def test_the_ws_api_mode_is_its_own_schedule_with_the_trading_sockets_faults() -> None:
    """``--user-stream-via-ws-api``: the listen key over the WS API; keepalive failures hit
    ``userDataStream.ping``; two more kinds: the trading socket dropped, and cut while a recovery
    asks it for the key."""
    assert make_plan(42, venue="binance-ws-api") == make_plan(42, venue="binance-ws-api")
    assert make_plan(42, venue="binance-ws-api") != make_plan(42)
    assert set(WS_API_FAULT_KINDS) - set(FAULT_KINDS) == {"trading_socket_drop", "cut_key_request"}
    assert profile("binance").keepalive_requests == ("PUT /fapi/v1/listenKey",)
    assert profile("bingx").keepalive_requests == ("PUT /openApi/user/auth/userDataStream",)
    prof = profile("binance-ws-api")
    assert prof.exec_config["user_stream_via_ws_api"] is True and prof.ws_api_user_stream
    assert "WS userDataStream.ping" in prof.keepalive_requests


@pytest.mark.timeout(200)
def test_seeds_run_in_child_processes_merge_into_one_summary_per_venue() -> None:
    # make chaos N=1000 runs its schedules in several processes: what a child found must reach the
    # one summary (every seed once, with its trades and recoveries), per venue.
    seeds = [3, 8, 5]
    summaries = run_in_children(seeds, 2, ["--venue", "both", "--steps", "1"], ["binance", "bingx"])
    assert [s.venue for s in summaries] == [profile("binance").name, profile("bingx").name]
    for summary in summaries:
        assert [r.seed for r in summary.results] == sorted(seeds), summary.render()
        assert all(r.ok for r in summary.results), summary.render()
        assert sum(r.venue_trades for r in summary.results) > 0
        assert sum(r.recoveries for r in summary.results) > 0
        assert "(3 ok, 0 failing" in summary.render()
