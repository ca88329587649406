"""Every invariant violation the chaos runner found, minimised, with its seed.

A violation whose fix belongs to code owned elsewhere (adapters/core, the venue packages) is pinned
here as a plain test that FAILS until that fix is merged (the comment above it says so and where the
fix goes); it is not marked xfail, so the suite shows the open bug. Once the fix lands the test guards it.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from nautilus_trader.model.enums import OrderSide, OrderStatus

from adapters.sim.oracle import check
from adapters.testkit.chaos import (
    BINGX_CHAOS_EXEC_CONFIG,
    CHAOS_EXEC_CONFIG,
    full_check,
    profile,
    run_schedule,
)
from adapters.testkit.node import SimNode

BTC = "BTCUSDT-PERP.BINANCE"


def _node_wallet(env: SimNode) -> Decimal:
    assert env.node is not None
    account = env.node.cache.accounts()[0]
    usdt = next(c for c in account.currencies() if c.code == "USDT")
    return account.balance_total(usdt).as_decimal()


# Found by `python -m adapters.testkit.chaos --seeds 12`: seeds 1, 3, 4, 5, 7, 10, 11 (every other
# invariant held). A fill made while the user stream is down is backfilled by the recovery, but the
# ACCOUNT_UPDATE that carried the new wallet balance was not: the node's balance stayed stale until
# the next ACCOUNT_UPDATE, which might never come. Fixed: the recovery's post-snapshot phase re-reads
# GET /fapi/v2/account and emits the account state (adapters/binance_futures/venue_sync.py).


@pytest.mark.timeout(60)
async def test_balance_after_a_fill_in_a_stream_gap() -> None:
    """Minimal form: drop the user socket, a market order fills in the gap, the recovery backfills
    the fill — the wallet balance must follow."""
    async with SimNode(seed=4, step_interval=3600.0, exec_config=CHAOS_EXEC_CONFIG, log_level="ERROR") as env:
        metrics = env.exec_client.user_stream.ctx.metrics
        env.sim.faults.stall_streams("user", seconds=30)  # nothing reaches the node meanwhile
        cid = env.strategy.market(BTC, OrderSide.BUY, "0.005")
        await env.wait_until(
            lambda: metrics.runs >= 1 and not metrics.in_progress, within=15, what="recovery"
        )
        await env.wait_until(lambda: env.order(cid).is_closed, what="fill backfilled")
        venue = Decimal(env.sim.state()["accounts"]["default"]["wallet_balance"])
        assert venue < Decimal("100000")  # the fill paid a commission
        await env.wait_until(lambda: _node_wallet(env) == venue, within=5, what="balance to follow the venue")
        assert env.node is not None
        assert check(env.sim.state(), env.node.cache, avg_price=True, positions=True, balances=True).ok


# Seed 4 runs today's schedule for that seed: since the adversarial workload (issue 11) it also meets
# the external-order paths below (fixed since), so it guards those too.
@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [4])
async def test_chaos_seed_stale_balance(seed: int) -> None:
    result = await run_schedule(seed)
    assert result.ok, "\n".join(result.violations)


# Found by `make chaos N=200` (seed 49, under load; the replay alone does not always hit it): a market
# order placed while the user socket was down filled on the venue, and the node kept it ACCEPTED with
# nothing filled — the fill was lost (lost=1, status/filled/position mismatches). Minimised to its
# race: recovery runs snapshot -> backfill -> connect
# (adapters/core/userstream/recovery.py, recover_once); an event the venue emits after the backfill's
# queries and before the new socket is connected reaches no socket and no query. Fix
# (adapters/core/userstream/recovery.py): connect the new stream (frames queued, not dispatched) *before*
# the backfill, or backfill again after the connect; the de-duplication in OrderFacts already makes the
# overlap harmless.
@pytest.mark.timeout(60)
async def test_fill_between_backfill_and_connect_is_not_lost() -> None:
    async with SimNode(
        seed=49, step_interval=3600.0, exec_config=CHAOS_EXEC_CONFIG, log_level="ERROR"
    ) as env:
        last = env.sim.engine.last_price("BTCUSDT")
        price = (last * Decimal("0.99")).quantize(Decimal("0.1"))
        cid = env.strategy.limit(BTC, OrderSide.BUY, "0.005", str(price))
        await env.wait_until(lambda: env.order(cid).is_open and env.order(cid).venue_order_id is not None)
        ops = env.exec_client.stream_ops
        connect = ops.connect_stream
        fired: list[bool] = []

        async def connect_after_a_fill(listen_key: str) -> object:
            if not fired:
                fired.append(True)  # the venue fills the order in the gap, deterministically
                env.sim.engine.set_price("BTCUSDT", price - Decimal("10"))
            return await connect(listen_key)

        ops.connect_stream = connect_after_a_fill  # type: ignore[method-assign]
        metrics = env.exec_client.user_stream.ctx.metrics
        env.sim.faults.drop_streams("user")
        await env.wait_until(
            lambda: metrics.runs >= 1 and not metrics.in_progress, within=15, what="recovery"
        )
        assert fired
        venue = {o["client_order_id"]: o["status"] for o in env.sim.state()["orders"]}
        assert venue[cid.value] == "FILLED"
        await env.wait_until(
            lambda: env.order(cid).is_closed, within=5, what="the gap's fill to reach the node"
        )
        assert env.node is not None
        assert check(env.sim.state(), env.node.cache).ok


# --- BingX ---------------------------------------------------------------------------------------
# Found by `python -m adapters.testkit.chaos --venue bingx --seeds 100`: seed 1 (every other invariant
# held): "balance_mismatches: USDT: venue wallet 99999.04018933, node 99999.0402". Not a node bug:
# BingX's REST balance (GET /openApi/swap/v3/user/balance) publishes 4 decimals, its stream 8, and a
# recovery / audit poll re-reads the balance by REST, so the node holds exactly what the venue
# published. Fixed in the oracle (adapters/sim/oracle.py, normalize_bingx_state): with venue="bingx"
# the balance must be the exact wallet or exactly its 4-decimal REST rendering - nothing else.
BTC_BINGX = "BTC-USDT-PERP.BINGX"


@pytest.mark.timeout(60)
async def test_bingx_balance_after_a_fill_in_a_stream_gap_is_the_rest_rendering() -> None:
    async with SimNode(
        venue="bingx", seed=1, step_interval=3600.0, exec_config=BINGX_CHAOS_EXEC_CONFIG, log_level="ERROR"
    ) as env:
        env.sim.engine.set_price("BTC-USDT", Decimal("60012.3"))  # a commission with > 4 decimals
        metrics = env.bingx_client.user_stream.ctx.metrics
        env.sim.faults.stall_streams("user", seconds=30)  # the fill's ACCOUNT_UPDATE is lost
        cid = env.strategy.market(BTC_BINGX, OrderSide.BUY, "0.0037")
        await env.wait_until(
            lambda: metrics.runs >= 1 and not metrics.in_progress, within=15, what="recovery"
        )
        await env.wait_until(lambda: env.order(cid).is_closed, what="fill backfilled")
        venue = Decimal(env.sim.state()["accounts"]["default"]["wallet_balance"])
        rest = venue.quantize(Decimal("0.0001"))
        assert venue != rest  # the ground truth has more decimals than BingX's REST publishes
        await env.wait_until(lambda: _node_wallet(env) in (venue, rest), within=5, what="balance to follow")
        assert env.node is not None
        report = full_check(env)
        assert report.ok, report.details()
        if _node_wallet(env) == rest:  # the REST rendering: the plain (exact) comparison rejects it
            assert not check(env.sim.state(), env.node.cache, balances=True, venue="bingx").balance_mismatches
            plain = check(env.sim.state(), env.node.cache, balances=True)
            assert plain.balance_mismatches


@pytest.mark.timeout(60)
async def test_bingx_chaos_seed_rest_rounded_balance() -> None:
    result = await run_schedule(1, venue="bingx")
    assert result.ok, f"replay: {result.replay()}\n" + "\n".join(result.violations)


# Found by `python -m adapters.testkit.chaos --venue bingx --seeds 100` (seeds 29, 31, ...: every
# cut_cancel(after_execute=False)); the same held on Binance. The oracle held in the end, liveness did
# not: a cancel whose answer is lost (cut / 503) is resolved by querying the order, and when the venue
# said it was still open (the cancel never executed) the client emitted nothing, so the order stayed
# PENDING_CANCEL until NautilusTrader's in-flight check reconciled it (10 s). Fixed in
# adapters/core/orders/resolution.py (resolve_cancel rejects the cancel when the order is still open).
@pytest.mark.timeout(60)
@pytest.mark.parametrize("venue", ["bingx", "binance"])
async def test_a_cancel_that_never_executed_does_not_stay_pending(venue: str) -> None:
    prof = profile(venue)
    async with SimNode(
        venue=prof.sim_venue, seed=29, step_interval=3600.0, exec_config=prof.exec_config, log_level="ERROR"
    ) as env:
        symbol, (iid, _, tick) = next(iter(prof.symbols.items()))
        price = (env.sim.engine.last_price(symbol) * Decimal("0.99")).quantize(tick)
        qty = str(prof.symbols[symbol][1][0] * prof.qty_step[symbol])
        cid = env.strategy.limit(iid, OrderSide.BUY, qty, str(price))
        await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="accepted")
        env.sim.faults.fail("DELETE", prof.order_path, count=1, status=503)  # not executed
        env.strategy.cancel(cid)
        await env.wait_until(lambda: env.order(cid).status == OrderStatus.PENDING_CANCEL, what="pending")
        # Well inside the engine's 10 s in-flight check: the client itself must settle the order.
        await env.wait_until(
            lambda: env.order(cid).status != OrderStatus.PENDING_CANCEL, within=4, what="cancel resolved"
        )
        assert env.order(cid).status == OrderStatus.ACCEPTED
        assert full_check(env).ok


# --- issue 11: the adversarial workload ----------------------------------------------------------
# Found by `make chaos N=200` with the adversarial workload: on both venues, most schedules in which an
# order placed behind the node's back (same account, not through the node) filled while the user
# stream was down (Binance seeds 1, 3, 4, 5, 6, 7, 9, ...; BingX seeds 1, 2, 3, 5, 7, ...). The node
# invents a fill (a UUID trade id) and then drops or doubles the venue's real trade: lost + phantom,
# or filled/position twice the venue's. Minimised to three causes, all owned by
# adapters/core/userstream/gap_sync.py and both venue_sync.py. Fixed by construction: an external order
# reaches the engine once, with every one of its trades bundled (gap_sync.report_external_order checks they
# add up to the filled quantity its report states), and Binance's backfill also walks the symbols holding a
# position:
#
# A. the snapshot reports an open external order that has fills as a bare OrderStatusReport
#    (gap_sync.report_external): NautilusTrader infers a fill for its filled quantity;
# B. the backfill reports an external order one trade at a time, each with the order's *cumulative*
#    report (the former gap_sync.report_external_fill): an order filled by two trades in the gap gets one real
#    fill plus an inferred one for the rest, and the second real trade is then dropped or doubled;
# C. (Binance) the backfill walks only symbols with a cursor, a tracked order or an open venue
#    order: an external order that filled completely in the gap on any other symbol is never seen.
GAP_CASES = {
    "A-open-partial": "limit for twice the best level: one trade, the rest stays open",
    "B-two-trades": "market order through two levels: two trades, filled",
    "C-untouched-symbol": "market order through two levels on a symbol the node never traded",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", sorted(GAP_CASES))
@pytest.mark.parametrize("venue", ["binance", "bingx"])
async def test_external_order_filled_in_a_gap_is_adopted_with_its_real_fills_once(
    venue: str, case: str
) -> None:
    from nautilus_trader.model.enums import OrderSide as NodeSide

    from adapters.sim.model import OrderRequest, OrderType, Side

    prof = profile(venue)
    async with SimNode(
        venue=prof.sim_venue, seed=1, step_interval=3600.0, exec_config=prof.exec_config, log_level="ERROR"
    ) as env:
        symbol, (iid, (lo, _), tick) = next(iter(prof.symbols.items()))
        if not case.startswith("C"):
            # The node trades the symbol (a resting order), so the recovery's backfill walks it.
            price = (env.sim.engine.last_price(symbol) * Decimal("0.99")).quantize(tick)
            cid = env.strategy.limit(iid, NodeSide.BUY, str(lo * prof.qty_step[symbol]), str(price))
            await env.wait_until(lambda: env.order(cid).is_open, what="the node's own order rests")
        metrics = (env.bingx_client if env.is_bingx else env.exec_client).user_stream.ctx.metrics
        runs = metrics.runs
        env.sim.faults.refuse_streams("user", True)  # the gap stays open until the order traded
        env.sim.faults.drop_streams("user")
        asks = env.sim.engine.book(symbol, 2).asks
        step = prof.qty_step[symbol]
        if case.startswith("A"):
            request = OrderRequest(
                symbol,
                Side.BUY,
                OrderType.LIMIT,
                (asks[0][1] * 2).quantize(step),
                asks[0][0],
                client_order_id="ext-web-1",
            )
        else:
            qty = (asks[0][1] + asks[1][1] / 2).quantize(step)
            request = OrderRequest(symbol, Side.BUY, OrderType.MARKET, qty, client_order_id="ext-web-1")
        placed = env.sim.engine.place_order(env.sim.account_id, request)
        assert len(placed.trade_ids) == (1 if case.startswith("A") else 2)
        env.sim.faults.refuse_streams("user", False)
        await env.wait_until(
            lambda: metrics.runs > runs and not metrics.in_progress, within=15, what="recovery"
        )
        with contextlib.suppress(TimeoutError):
            await env.wait_until(lambda: full_check(env).ok, within=5, what="the node to match the venue")
        report = full_check(env)
        assert report.ok, f"{GAP_CASES[case]}: {report.details()}"


# The same, as found: seeds 19 (Binance) and 11 (BingX) failed with lost + phantom fills, Binance 14 with
# the unadopted resting external order (D). BingX 58: 25 % of the user events dropped, an external
# order's fill event among them; its next event (cumulative 0.8635, no fill of its own) was reported
# bare and NautilusTrader inferred the fill. Fixed: a stream event of an external order whose
# cumulative quantity exceeds its own fill is reported from the venue's REST view, with every fill.
# Binance seeds 137 and 133: after a held gap (handshakes refused ~5 s), every retry (0.4 s apart) took
# a full snapshot (~80 weight) until the IP's weight budget ran out; the next attempts and a keepalive
# then waited for the window roll inside the client's rate limiter until the 10 s operation timeout,
# and the recovery completed ~33 s after the gap opened. Fixed: a retry reuses a failed attempt's
# snapshot for RecoveryOptions.snapshot_reuse_secs (the post-snapshot phase lists open orders again
# after the connect, so nothing depends on the snapshot being fresh).
@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("venue", "seed"),
    [("binance", 19), ("bingx", 11), ("binance", 14), ("binance", 137), ("bingx", 58)],
)
async def test_chaos_seeds_found_by_the_adversarial_workload(venue: str, seed: int) -> None:
    result = await run_schedule(seed, venue=venue)
    assert result.ok, f"replay: {result.replay()}\n" + "\n".join(result.violations)


# Found by `make chaos N=200` (Binance seed 14: snapshot_fault cut the snapshot's openOrders query
# while an order placed behind the node's back rested on the venue). The venue's open-orders list is
# the only place an external order that has not traded shows up, and the recovery misses it twice:
# D. the snapshot succeeds "partially" when openOrders fails and openAlgoOrders answers, and nothing
#    lists open orders again: the node never learns the order (unknown_orders) until it trades;
# E. an external order placed between the snapshot and the new socket's connect is in neither (its
#    NEW event reaches no socket; the backfill reads trades only).
# BingX's audit poll re-lists open orders every audit_interval, so it converged; Binance had no such
# poll. Fixed: the post-snapshot phase lists open orders again after the connect (gap_sync step 3b),
# a required query, on both venues.
@pytest.mark.timeout(60)
@pytest.mark.parametrize("when", ["D-snapshot-openOrders-fails", "E-between-snapshot-and-connect"])
@pytest.mark.parametrize("venue", ["binance", "bingx"])
async def test_external_order_resting_after_a_gap_is_adopted(venue: str, when: str) -> None:
    from adapters.sim.model import OrderRequest, OrderType, Side
    from adapters.testkit.chaos_probe import PhaseProbe

    prof = profile(venue)
    async with SimNode(
        venue=prof.sim_venue, seed=14, step_interval=3600.0, exec_config=prof.exec_config, log_level="ERROR"
    ) as env:
        symbol, (_, _, tick) = next(iter(prof.symbols.items()))
        ctx = (env.bingx_client if env.is_bingx else env.exec_client).user_stream.ctx
        probe = PhaseProbe(ctx).install()
        price = (env.sim.engine.last_price(symbol) * Decimal("0.99")).quantize(tick)
        qty = prof.symbols[symbol][1][1] * prof.qty_step[symbol]
        request = OrderRequest(symbol, Side.BUY, OrderType.LIMIT, qty, price, client_order_id="ext-web-4")

        def place() -> None:
            env.sim.engine.place_order(env.sim.account_id, request)  # its NEW event reaches no socket

        if when.startswith("D"):

            def place_and_fail_the_listing() -> None:
                place()
                env.sim.faults.fail("GET", prof.open_orders_path, count=1, status=503)

            probe.before_snapshot.append(place_and_fail_the_listing)
        else:
            probe.after_snapshot.append(place)
        env.sim.faults.drop_streams("user")
        await env.wait_until(
            lambda: ctx.metrics.runs >= 1 and not ctx.metrics.in_progress, within=15, what="recovery"
        )
        assert any(o["client_order_id"] == "ext-web-4" for o in env.sim.state()["orders"])
        with contextlib.suppress(TimeoutError):
            await env.wait_until(lambda: full_check(env).ok, within=3, what="the node to adopt the order")
        report = full_check(env)
        assert report.ok, report.details()
