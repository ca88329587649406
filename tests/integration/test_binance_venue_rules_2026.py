"""End to end: the Binance USD-M venue rules of 2025-2026 that the simulator honours, through a
TradingNode with our execution client (orders over REST; the WS API variants are in
``test_binance_ws_trading.py``). Each rule names the change-log entry it comes from.

* a conditional order rejected when it triggers: the rejection arrives in ALGO_UPDATE
  (CONDITIONAL_ORDER_TRIGGER_REJECT deprecated from 2025-12-15, change log 2025-12-10);
* the account-wide cap of 200 open conditional orders, -4045 "Reach max stop order limit."
  (change log 2025-12-29; USDS-M error codes);
* ``ia`` of ALGO_UPDATE: a trailing stop's activation is a second NEW (change log 2026-08-21);
* userTrades serves only the last 3 months (change log 2026-08-26): see
  ``tests/sim/test_binance_user_trades.py`` (venue) and ``tests/binance_futures/test_venue_sync.py``
  (what a backfill does past the horizon).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.model.enums import OrderSide, OrderStatus, TrailingOffsetType, TriggerType
from nautilus_trader.model.events import OrderAccepted, OrderFilled, OrderRejected
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId

from adapters.testkit.node import SimNode

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
async def env() -> AsyncIterator[SimNode]:
    async with SimNode(seed=8, exec_config=FAST) as node:
        yield node


def price(env: SimNode, factor: str) -> Decimal:
    return (env.sim.engine.last_price(SYMBOL) * Decimal(factor)).quantize(Decimal("0.1"))


def events(env: SimNode, cid: ClientOrderId, kind: type) -> list[Any]:
    return [e for e in env.order(cid).events if isinstance(e, kind)]


async def test_a_stop_rejected_at_its_trigger_ends_rejected_from_algo_update(env: SimNode) -> None:
    trigger = price(env, "1.01")
    # Accepted by the algo service; at the trigger the margin check fails (40 BTC on 100k USDT).
    cid = env.strategy.stop_market(BTC, OrderSide.BUY, "40", str(trigger))
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="accepted")
    env.sim.engine.set_price(SYMBOL, trigger + 10)
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.REJECTED, what="rejected at trigger")
    (rejected,) = events(env, cid, OrderRejected)
    assert "INSUFFICIENT_MARGIN" in rejected.reason
    (algo,) = [a for a in env.sim.state()["algo_orders"] if a["client_algo_id"] == cid.value]
    assert algo["status"] == "REJECTED"
    report = await env.wait_converged(within=5.0)
    assert report.ok, report.details()


async def test_the_conditional_order_cap_rejects_with_4045_over_rest(env: SimNode) -> None:
    assert env.sim.binance is not None
    env.sim.binance.settings.max_open_conditional_orders = 1
    first = env.strategy.stop_market(BTC, OrderSide.BUY, "0.010", str(price(env, "1.02")))
    await env.wait_until(lambda: env.order(first).status == OrderStatus.ACCEPTED, what="accepted")
    over = env.strategy.stop_market(BTC, OrderSide.SELL, "0.010", str(price(env, "0.98")))
    await env.wait_until(lambda: env.order(over).status == OrderStatus.REJECTED, what="rejected")
    (rejected,) = events(env, over, OrderRejected)
    assert rejected.reason == "-4045: Reach max stop order limit."
    assert env.order(first).status == OrderStatus.ACCEPTED  # the open one is untouched
    # Regular orders are not conditional orders: the cap does not apply to them.
    market = env.strategy.market(BTC, OrderSide.BUY, "0.010")
    await env.wait_until(lambda: env.order(market).status == OrderStatus.FILLED, what="market filled")


async def test_a_trailing_stops_activation_keeps_it_accepted_then_it_triggers_and_fills_once(
    env: SimNode,
) -> None:
    strategy = env.strategy
    instrument = strategy.cache.instrument(InstrumentId.from_str(BTC))
    assert instrument is not None
    activate = price(env, "1.01")
    order = strategy.order_factory.trailing_stop_market(
        instrument.id,
        OrderSide.SELL,
        instrument.make_qty(Decimal("0.010")),
        trailing_offset=Decimal("100"),  # basis points: a 1 % callback
        trailing_offset_type=TrailingOffsetType.BASIS_POINTS,
        activation_price=instrument.make_price(activate),
        trigger_type=TriggerType.LAST_PRICE,
    )
    strategy.submit_order(order)
    cid = order.client_order_id
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="accepted")
    handler = env.exec_client.stream_handler
    assert handler.trailing_activations == 0
    env.sim.engine.set_price(SYMBOL, activate + 5)  # activation: a second ALGO_UPDATE NEW, ia=true
    await env.wait_until(lambda: handler.trailing_activations == 1, what="activation seen")
    assert env.order(cid).status == OrderStatus.ACCEPTED and len(events(env, cid, OrderAccepted)) == 1
    env.sim.engine.set_price(SYMBOL, (activate * Decimal("0.985")).quantize(Decimal("0.1")))  # retrace > 1 %
    await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="triggered and filled")
    assert len(events(env, cid, OrderFilled)) == 1
    report = await env.wait_converged(within=5.0)
    assert report.ok, report.details()
