"""End to end: order types and account modes through a TradingNode with our Binance execution client
against the simulator. Each test asserts the node's events and the venue's ground truth, and ends with
the oracle (every venue trade exactly once as a fill, statuses and filled quantities match)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from nautilus_trader.model.enums import OrderSide, OrderStatus, PositionSide, TimeInForce
from nautilus_trader.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderTriggered,
    OrderUpdated,
)
from nautilus_trader.model.identifiers import ClientOrderId, PositionId, VenueOrderId

from adapters.sim.model import OrderRequest, OrderType, Side
from adapters.testkit.node import ScriptedStrategy, SimNode

BTC = "BTCUSDT-PERP.BINANCE"
SYMBOL = "BTCUSDT"

FAST = {
    "ws_ping_interval_secs": 0.2,
    "ws_pong_timeout_secs": 0.6,
    "ws_stall_timeout_secs": 1.5,
    "recovery_backoff_initial_secs": 0.05,
    "recovery_backoff_cap_secs": 0.4,
}


@pytest.fixture
async def env(request: Any) -> AsyncIterator[SimNode]:
    params = dict(getattr(request, "param", {}))
    hedge = bool(params.pop("hedge_mode", False))
    overrides = dict(FAST)
    overrides.update(params)
    async with SimNode(seed=5, exec_config=overrides, hedge_mode=hedge) as node:
        yield node


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


def last(env: SimNode) -> Decimal:
    return env.sim.engine.last_price(SYMBOL)


def px(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.1")))


def venue_order(env: SimNode, cid: ClientOrderId) -> dict[str, Any]:
    (order,) = [o for o in env.sim.state()["orders"] if o["client_order_id"] == cid.value]
    return order


def venue_algo(env: SimNode, cid: ClientOrderId) -> dict[str, Any]:
    (algo,) = [a for a in env.sim.state()["algo_orders"] if a["client_algo_id"] == cid.value]
    return algo


def events_of(env: SimNode, cid: ClientOrderId, kind: type) -> list[Any]:
    return [e for e in env.order(cid).events if isinstance(e, kind)]


async def status(env: SimNode, cid: ClientOrderId, expected: OrderStatus, within: float = 5.0) -> None:
    await env.wait_until(lambda: env.order(cid).status == expected, within, f"{cid} {expected.name}")


async def assert_converged(env: SimNode) -> None:
    report = await env.wait_converged(within=5.0)
    assert report.ok, report.details()


# ------------------------------------------------------------------------------------------------
# Algo (conditional) orders
# ------------------------------------------------------------------------------------------------


async def test_stop_market_triggers_and_fills_once_under_the_triggered_order_id(env: SimNode) -> None:
    trigger = last(env) * Decimal("1.01")
    cid = env.strategy.stop_market(BTC, OrderSide.BUY, "0.010", px(trigger))
    await status(env, cid, OrderStatus.ACCEPTED)
    algo_id = venue_algo(env, cid)["algo_id"]
    assert env.order(cid).venue_order_id == VenueOrderId(str(algo_id))
    env.sim.engine.set_price(SYMBOL, trigger.quantize(Decimal("0.1")) + Decimal("5"))
    await status(env, cid, OrderStatus.FILLED)
    algo = venue_algo(env, cid)
    assert algo["status"] == "FINISHED"
    child = venue_order(env, cid)
    assert child["order_id"] == algo["actual_order_id"] and child["status"] == "FILLED"
    fills = events_of(env, cid, OrderFilled)
    assert (
        len(fills) == len([t for t in env.sim.state()["trades"] if t["order_id"] == child["order_id"]]) >= 1
    )
    assert {f.venue_order_id for f in fills} == {VenueOrderId(str(child["order_id"]))}
    assert env.order(cid).venue_order_id == VenueOrderId(str(child["order_id"]))
    assert env.order(cid).filled_qty.as_decimal() == Decimal("0.010")
    assert events_of(env, cid, OrderTriggered) == []  # a stop-market has no TRIGGERED state
    (update,) = events_of(env, cid, OrderUpdated)
    assert update.venue_order_id == VenueOrderId(str(child["order_id"]))
    assert update.quantity.as_decimal() == Decimal("0.010")
    await assert_converged(env)


async def test_stop_limit_is_triggered_then_filled(env: SimNode) -> None:
    start = last(env)
    trigger = (start * Decimal("1.01")).quantize(Decimal("0.1"))
    limit = (start * Decimal("1.005")).quantize(Decimal("0.1"))  # below the post-trigger market: rests
    cid = env.strategy.stop_limit(BTC, OrderSide.BUY, "0.010", str(limit), str(trigger))
    await status(env, cid, OrderStatus.ACCEPTED)
    env.sim.engine.set_price(SYMBOL, trigger + Decimal("5"))
    await status(env, cid, OrderStatus.TRIGGERED)
    child = venue_order(env, cid)
    assert child["status"] == "NEW" and child["type"] == "LIMIT"
    await env.wait_until(
        lambda: env.order(cid).venue_order_id == VenueOrderId(str(child["order_id"])),
        what="the node's order re-mapped to the triggered order's venue id",
    )
    env.sim.engine.set_price(SYMBOL, limit - Decimal("10"))
    await status(env, cid, OrderStatus.FILLED)
    kinds = [type(e).__name__ for e in env.order(cid).events]
    assert kinds == [
        "OrderInitialized",
        "OrderSubmitted",
        "OrderAccepted",
        "OrderTriggered",
        "OrderUpdated",  # venue_order_id -> the triggered order's
        "OrderFilled",
    ]
    (fill,) = events_of(env, cid, OrderFilled)
    assert fill.venue_order_id == VenueOrderId(str(child["order_id"]))
    assert fill.last_px.as_decimal() == limit
    await assert_converged(env)


async def test_cancel_of_an_untriggered_algo_order(env: SimNode) -> None:
    cid = env.strategy.stop_market(BTC, OrderSide.BUY, "0.010", px(last(env) * Decimal("1.02")))
    await status(env, cid, OrderStatus.ACCEPTED)
    env.strategy.cancel(cid)
    await status(env, cid, OrderStatus.CANCELED)
    assert venue_algo(env, cid)["status"] == "CANCELED"
    assert len(events_of(env, cid, OrderCanceled)) == 1
    assert [
        o for o in env.sim.state()["orders"] if o["client_order_id"] == cid.value
    ] == []  # never triggered
    await assert_converged(env)


async def test_cancel_after_trigger_cancels_the_order_in_the_matching_engine(env: SimNode) -> None:
    start = last(env)
    trigger = (start * Decimal("1.01")).quantize(Decimal("0.1"))
    limit = (start * Decimal("1.005")).quantize(Decimal("0.1"))
    cid = env.strategy.stop_limit(BTC, OrderSide.BUY, "0.010", str(limit), str(trigger))
    await status(env, cid, OrderStatus.ACCEPTED)
    env.sim.engine.set_price(SYMBOL, trigger + Decimal("5"))
    await status(env, cid, OrderStatus.TRIGGERED)
    await env.wait_until(
        lambda: env.exec_client.tracker.orders[cid.value].triggered, what="tracked as triggered"
    )
    env.strategy.cancel(cid)
    await status(env, cid, OrderStatus.CANCELED)
    child = venue_order(env, cid)
    assert child["status"] == "CANCELED"  # the regular order was canceled, not the algo
    assert venue_algo(env, cid)["status"] == "FINISHED"
    (canceled,) = events_of(env, cid, OrderCanceled)
    assert canceled.venue_order_id == VenueOrderId(str(child["order_id"]))
    await assert_converged(env)


# ------------------------------------------------------------------------------------------------
# Time in force
# ------------------------------------------------------------------------------------------------


async def test_ioc_remainder_expires_after_a_partial_fill(env: SimNode) -> None:
    book = env.sim.engine.book(SYMBOL, 5)
    best_ask, best_qty = book.asks[0]
    qty = best_qty + Decimal("0.010")  # more than the best level holds; the price takes only it
    cid = env.strategy.limit(BTC, OrderSide.BUY, str(qty), str(best_ask), time_in_force=TimeInForce.IOC)
    await status(env, cid, OrderStatus.EXPIRED)
    venue = venue_order(env, cid)
    assert venue["status"] == "EXPIRED" and Decimal(venue["executed_qty"]) == best_qty
    assert env.order(cid).filled_qty.as_decimal() == best_qty
    assert len(events_of(env, cid, OrderExpired)) == 1
    await assert_converged(env)


@pytest.mark.parametrize("env", [{"treat_expired_as_canceled": True}], indirect=True)
async def test_ioc_remainder_as_canceled_when_configured(env: SimNode) -> None:
    best_ask, best_qty = env.sim.engine.book(SYMBOL, 5).asks[0]
    cid = env.strategy.limit(
        BTC, OrderSide.BUY, str(best_qty + Decimal("0.010")), str(best_ask), time_in_force=TimeInForce.IOC
    )
    await status(env, cid, OrderStatus.CANCELED)
    assert env.order(cid).filled_qty.as_decimal() == best_qty
    await assert_converged(env)


async def test_fok_that_cannot_fill_expires_without_fills(env: SimNode) -> None:
    best_bid = env.sim.engine.book(SYMBOL, 5).bids[0][0]
    cid = env.strategy.limit(BTC, OrderSide.BUY, "0.010", str(best_bid), time_in_force=TimeInForce.FOK)
    await status(env, cid, OrderStatus.EXPIRED)
    assert venue_order(env, cid)["status"] == "EXPIRED"
    assert events_of(env, cid, OrderFilled) == []
    assert len(events_of(env, cid, OrderAccepted)) == 1
    await assert_converged(env)


async def test_gtd_order_expires_on_the_venue(env: SimNode) -> None:
    expire = pd.Timestamp.now(tz="UTC") + pd.Timedelta(seconds=1)
    price = px(last(env) * Decimal("0.95"))
    cid = env.strategy.limit(
        BTC, OrderSide.BUY, "0.010", price, time_in_force=TimeInForce.GTD, expire_time=expire
    )
    await status(env, cid, OrderStatus.ACCEPTED)
    venue = venue_order(env, cid)
    assert venue["time_in_force"] == "GTD"
    expire_ms = int(expire.value // 1_000_000)
    # The venue expires GTD orders on its market step: step once the time has passed.
    await env.wait_until(lambda: env.sim.state()["time_ms"] > expire_ms, within=3.0, what="GTD time passed")
    env.sim.engine.step()
    await status(env, cid, OrderStatus.EXPIRED)
    assert venue_order(env, cid)["status"] == "EXPIRED"
    await assert_converged(env)


# ------------------------------------------------------------------------------------------------
# Reduce-only and hedge mode
# ------------------------------------------------------------------------------------------------


async def test_reduce_only_closes_and_is_rejected_without_a_position(env: SimNode) -> None:
    opening = env.strategy.market(BTC, OrderSide.BUY, "0.010")
    await status(env, opening, OrderStatus.FILLED)
    closing = env.strategy.market(BTC, OrderSide.SELL, "0.010", reduce_only=True)
    await status(env, closing, OrderStatus.FILLED)
    assert venue_order(env, closing)["reduce_only"] is True
    (position,) = [
        p for p in env.sim.state()["accounts"][env.sim.account_id]["positions"] if p["symbol"] == SYMBOL
    ]
    assert Decimal(position["amount"]) == 0
    nothing_left = env.strategy.market(BTC, OrderSide.SELL, "0.010", reduce_only=True)
    await env.wait_until(
        lambda: env.order(nothing_left).is_closed, what="reduce-only without position closed"
    )
    assert env.order(nothing_left).status in (OrderStatus.REJECTED, OrderStatus.DENIED)
    assert env.node is not None
    assert env.node.cache.positions_open() == []
    await assert_converged(env)


@pytest.mark.parametrize("env", [{"hedge_mode": True}], indirect=True)
async def test_hedge_mode_long_and_short_positions(env: SimNode) -> None:
    assert env.sim.state()["accounts"][env.sim.account_id]["hedge_mode"] is True
    long_open = env.strategy.market(BTC, OrderSide.BUY, "0.020")
    await status(env, long_open, OrderStatus.FILLED)
    short_open = env.strategy.market(BTC, OrderSide.SELL, "0.010")
    await status(env, short_open, OrderStatus.FILLED)
    assert venue_order(env, long_open)["position_side"] == "LONG"
    assert venue_order(env, short_open)["position_side"] == "SHORT"
    assert env.node is not None
    cache = env.node.cache
    long_id = PositionId(f"{BTC}-LONG")
    short_id = PositionId(f"{BTC}-SHORT")
    await env.wait_until(lambda: cache.position(short_id) is not None, what="short position")
    assert cache.position(long_id).side == PositionSide.LONG
    assert cache.position(long_id).quantity.as_decimal() == Decimal("0.020")
    assert cache.position(short_id).side == PositionSide.SHORT
    assert cache.position(short_id).quantity.as_decimal() == Decimal("0.010")
    # Closing the long: a reduce-only sell goes to the LONG side (reduceOnly is not sent in hedge mode).
    long_close = env.strategy.market(BTC, OrderSide.SELL, "0.020", reduce_only=True)
    await status(env, long_close, OrderStatus.FILLED)
    closed = venue_order(env, long_close)
    assert closed["position_side"] == "LONG" and closed["reduce_only"] is False
    await env.wait_until(lambda: cache.position(long_id).is_closed, what="long closed")
    assert cache.position(short_id).is_open
    venue_positions = {
        p["position_side"]: Decimal(p["amount"])
        for p in env.sim.state()["accounts"][env.sim.account_id]["positions"]
        if p["symbol"] == SYMBOL
    }
    assert venue_positions == {"LONG": Decimal(0), "SHORT": Decimal("-0.010")}
    await assert_converged(env)


# ------------------------------------------------------------------------------------------------
# Orders placed outside the node, and a restart
# ------------------------------------------------------------------------------------------------


async def test_order_placed_outside_the_node_arrives_as_an_external_order_with_its_fill_once(
    env: SimNode,
) -> None:
    env.sim.faults.set_user_events(duplicate=True)  # and the venue repeats every event
    placed = env.sim.engine.place_order(
        env.sim.account_id,
        OrderRequest(SYMBOL, Side.BUY, OrderType.MARKET, Decimal("0.010"), client_order_id="web-ui-1"),
    )
    assert placed.status.value == "FILLED"
    assert env.node is not None
    cache = env.node.cache
    cid = ClientOrderId("web-ui-1")
    await env.wait_until(
        lambda: (o := cache.order(cid)) is not None and o.status == OrderStatus.FILLED, what="external order"
    )
    order = env.order(cid)
    assert order.strategy_id.value == "EXTERNAL"
    trade_ids = {str(t["trade_id"]) for t in env.sim.state()["trades"] if t["order_id"] == placed.order_id}
    fills = events_of(env, cid, OrderFilled)
    assert sorted(f.trade_id.value for f in fills) == sorted(trade_ids)
    assert order.filled_qty.as_decimal() == Decimal("0.010")
    await assert_converged(env)


async def test_restarted_node_reconciles_open_orders_and_receives_their_later_fills() -> None:
    async with SimNode(seed=5, exec_config=FAST) as first:
        sim = first.sim
        price = (last(first) * Decimal("0.95")).quantize(Decimal("0.1"))
        resting = first.strategy.limit(BTC, OrderSide.BUY, "0.010", str(price))
        await status(first, resting, OrderStatus.ACCEPTED)
        await first.stop_node()

        async with SimNode(exec_config=FAST, sim=sim, strategy=ScriptedStrategy()) as second:
            assert second.node is not None
            cache = second.node.cache
            await second.wait_until(lambda: cache.order(resting) is not None, what="reconciled order")
            assert second.order(resting).status == OrderStatus.ACCEPTED
            assert second.order(resting).venue_order_id == VenueOrderId(
                str(venue_order(second, resting)["order_id"])
            )
            # Later fills of the adopted order arrive as events on the stream, exactly once.
            sim.faults.set_user_events(duplicate=True)
            sim.engine.set_price(SYMBOL, price - Decimal("10"))
            await status(second, resting, OrderStatus.FILLED)
            (fill,) = events_of(second, resting, OrderFilled)
            venue_id = venue_order(second, resting)["order_id"]
            (trade,) = [t for t in sim.state()["trades"] if t["order_id"] == venue_id]
            assert fill.trade_id.value == str(trade["trade_id"])
            assert cid_tracked(second, resting)
            await assert_converged(second)


def cid_tracked(env: SimNode, cid: ClientOrderId) -> bool:
    """The restarted client adopted the order (events, not reports)."""
    return cid.value in env.exec_client.tracker.orders


async def test_restarted_node_reconciles_fills_made_while_it_was_down() -> None:
    async with SimNode(seed=5, exec_config=FAST) as first:
        sim = first.sim
        price = (last(first) * Decimal("0.95")).quantize(Decimal("0.1"))
        resting = first.strategy.limit(BTC, OrderSide.BUY, "0.010", str(price))
        await status(first, resting, OrderStatus.ACCEPTED)
        await first.stop_node()
        sim.engine.set_price(SYMBOL, price - Decimal("10"))  # filled while no node runs
        assert venue_order(first, resting)["status"] == "FILLED"

        async with SimNode(exec_config=FAST, sim=sim, strategy=ScriptedStrategy()) as second:
            report = await second.wait_converged(within=3.0)
            assert report.ok, report.details()


# ------------------------------------------------------------------------------------------------
# Disconnect is bounded even when the venue hangs
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    ["latency", "delete_cut"],
)
async def test_disconnect_is_bounded_when_the_venue_hangs(fault: str) -> None:
    async with SimNode(seed=5, exec_config={**FAST, "http_timeout_secs": 1.0}) as env:
        cid = env.strategy.limit(BTC, OrderSide.BUY, "0.010", px(last(env) * Decimal("0.95")))
        await status(env, cid, OrderStatus.ACCEPTED)
        client = env.exec_client
        if fault == "latency":
            env.sim.faults.set_latency(rest_ms=60_000)
        else:
            env.sim.faults.fail("DELETE", "/fapi/v1/listenKey", count=5, status=0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await env.stop_node()
        elapsed = loop.time() - started
        env.sim.faults.set_latency(rest_ms=0)
        assert elapsed < 4.0, f"disconnect took {elapsed:.2f}s"
        assert not client.is_connected
        assert client.user_stream.ctx.listen_key is None
