"""Mode parity: one scripted sequence of venue events, delivered once through the WebSocket path and
once through the REST-poll path (``poll_only``: no user stream at all), must leave the node in the
same state - account balance, fees, realized PnL, order states and fills (trade ids, quantities,
prices, commissions, liquidity sides).

One venue asymmetry is part of the contract: BingX's REST balance carries 4 decimals where the
stream's ``wb`` carries 8, so balances are compared at the REST precision (:data:`BALANCE_DP`).
Everything else is compared exactly.

Both runs use a fresh simulator with the same seed, and the market only moves when the script
moves it, so the venue produces the same trades with the same ids in both runs.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import OrderSide, OrderStatus, TimeInForce
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import ClientOrderId

from adapters.testkit.node import SimNode

BTC = "BTC-USDT-PERP.BINGX"
SYMBOL = "BTC-USDT"
COMMON: dict[str, Any] = {
    "ws_ping_interval_secs": 0.2,
    "ws_pong_timeout_secs": 0.6,
    "ws_stall_timeout_secs": 1.5,
    "recovery_backoff_initial_secs": 0.05,
    "recovery_backoff_cap_secs": 0.4,
    "poll_interval_secs": 0.1,
    "audit_interval_secs": None,
}


BALANCE_DP = Decimal("0.0001")  # /openApi/swap/v3/user/balance precision


def px(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.1")))


async def _run_script(env: SimNode) -> list[ClientOrderId]:
    """The scripted venue event sequence: taker and maker fills, a cancel, an IOC partial fill
    (expired remainder) and a closing trade with realized PnL."""
    s, e = env.strategy, env.sim.engine
    done = (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED)

    async def settle(cid: ClientOrderId, want: OrderStatus) -> None:
        await env.wait_until(lambda: env.order(cid).status == want, within=10.0, what=f"{cid} {want.name}")

    cids = [s.market(BTC, OrderSide.BUY, "0.0200")]
    await settle(cids[-1], OrderStatus.FILLED)
    last = e.last_price(SYMBOL)
    maker = s.limit(BTC, OrderSide.BUY, "0.0100", px(last * Decimal("0.99")))
    cids.append(maker)
    await settle(maker, OrderStatus.ACCEPTED)
    e.set_price(SYMBOL, Decimal(px(last * Decimal("0.99"))) - Decimal("10"))
    await settle(maker, OrderStatus.FILLED)
    resting = s.limit(BTC, OrderSide.SELL, "0.0100", px(e.last_price(SYMBOL) * Decimal("1.05")))
    cids.append(resting)
    await settle(resting, OrderStatus.ACCEPTED)
    s.cancel(resting)
    await settle(resting, OrderStatus.CANCELED)
    best_ask, best_qty = e.book(SYMBOL, 5).asks[0]
    ioc = s.limit(
        BTC, OrderSide.BUY, str(best_qty + Decimal("0.0100")), str(best_ask), time_in_force=TimeInForce.IOC
    )
    cids.append(ioc)
    await settle(ioc, OrderStatus.EXPIRED)
    e.set_price(SYMBOL, e.last_price(SYMBOL) * Decimal("1.02"))
    position = Decimal("0.0300") + best_qty
    closing = s.market(BTC, OrderSide.SELL, str(position), reduce_only=True)
    cids.append(closing)
    await settle(closing, OrderStatus.FILLED)
    assert all(env.order(c).status in done for c in cids)
    return cids


def _wallet(env: SimNode) -> Decimal:
    return Decimal(env.sim.state()["accounts"][env.sim.account_id]["wallet_balance"]).quantize(BALANCE_DP)


def _node_total(env: SimNode) -> Decimal | None:
    assert env.node is not None
    (account,) = env.node.cache.accounts()
    total = account.balance_total(USDT)
    return total.as_decimal().quantize(BALANCE_DP) if total is not None else None


async def _outcome(env: SimNode, cids: list[ClientOrderId]) -> dict[str, Any]:
    # The account state lands by ACCOUNT_UPDATE (WS) or the next balance poll (REST): wait for it.
    await env.wait_until(lambda: _node_total(env) == _wallet(env), within=10.0, what="balance settled")
    report = await env.wait_converged(within=10.0)
    assert report.ok, report.details()
    assert env.node is not None
    cache = env.node.cache
    fills = []
    orders = []
    for i, cid in enumerate(cids):
        order = env.order(cid)
        orders.append(
            (i, order.status, order.quantity.as_decimal(), order.filled_qty.as_decimal(), order.avg_px)
        )
        for f in (ev for ev in order.events if isinstance(ev, OrderFilled)):
            fills.append(
                (i, f.trade_id.value, f.last_qty.as_decimal(), f.last_px.as_decimal(),
                 f.commission.as_decimal(), f.liquidity_side)
            )  # fmt: skip
    (account,) = cache.accounts()
    return {
        "orders": orders,
        "fills": sorted(fills, key=lambda f: f[1]),
        "fees": sum(f[4] for f in fills),
        "realized_pnl": sum(
            (p.realized_pnl.as_decimal() for p in cache.positions() if p.realized_pnl is not None), Decimal(0)
        ),
        "balance_total": _node_total(env),
        "balance_free": account.balance_free(USDT).as_decimal().quantize(BALANCE_DP),
        "positions_open": [(p.instrument_id, p.signed_qty) for p in cache.positions_open()],
        "venue_wallet": _wallet(env),
    }


async def test_ws_and_rest_poll_paths_give_identical_account_state() -> None:
    outcomes: dict[str, dict[str, Any]] = {}
    for mode, overrides in (("ws", {}), ("poll", {"poll_only": True})):
        async with SimNode(venue="bingx", seed=11, exec_config={**COMMON, **overrides}) as env:
            cids = await _run_script(env)
            outcomes[mode] = await _outcome(env, cids)
            client = env.bingx_client
            if mode == "poll":
                assert client.user_stream.ctx.stream is None  # no user stream at all
                assert client.poller is not None and client.poller.polls > 0
                assert client.stream_handler.frames == 0
            else:
                assert client.stream_handler.frames > 0
    ws, poll = outcomes["ws"], outcomes["poll"]
    assert len(ws["fills"]) >= 4
    assert ws["fees"] > 0 and ws["realized_pnl"] != 0
    keys = (
        "orders", "fills", "fees", "realized_pnl", "balance_total", "balance_free", "positions_open",
        "venue_wallet",
    )  # fmt: skip
    for key in keys:
        assert ws[key] == poll[key], f"{key}: ws={ws[key]} poll={poll[key]}"
