"""Conformance: ccxt's ``binanceusdm`` — an independent client — trades against the simulator with only
its URLs changed. If ccxt can load markets, trade, amend, cancel, read balances, positions and trades, and
receive its own order updates over the user stream, the simulator speaks Binance closely enough for our
own clients' tests to mean something.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from adapters.sim.server import SimVenue

ccxt_pro = pytest.importorskip("ccxt.pro")

pytestmark = pytest.mark.ccxt

REST_API_PATHS = {
    "fapiPublic": "/fapi/v1",
    "fapiPublicV2": "/fapi/v2",
    "fapiPublicV3": "/fapi/v3",
    "fapiPrivate": "/fapi/v1",
    "fapiPrivateV2": "/fapi/v2",
    "fapiPrivateV3": "/fapi/v3",
    "fapiData": "/futures/data",
}


def point_at_simulator(exchange: Any, sim: SimVenue) -> None:
    """The only change to ccxt: where it connects.

    ccxt 4.5.90 already speaks Binance's routed websocket URLs (2026 split): it rewrites the
    ``<host>/ws`` given here into ``<host>/public/ws`` (depth, bookTicker, trade) or
    ``<host>/market/ws`` (the other streams) and opens user data on ``<host>/private/ws?listenKey=``.
    So it runs against the simulator's default routes; no ``legacy_urls`` needed."""
    for name, path in REST_API_PATHS.items():
        exchange.urls["api"][name] = sim.rest_url + path
    exchange.urls["api"]["ws"]["linear"] = sim.ws_url + "/ws"
    exchange.urls["api"]["ws"]["ws-api"]["linear"] = sim.ws_url + "/ws-fapi/v1"


@pytest.fixture
async def sim() -> AsyncIterator[SimVenue]:
    async with SimVenue(seed=11, step_interval=3600.0) as venue:
        yield venue


@pytest.fixture
async def exchange(sim: SimVenue) -> AsyncIterator[Any]:
    # fetchCurrencies reads Binance's *spot* wallet API (sapi), which a USD-M venue does not serve.
    exchange = ccxt_pro.binanceusdm(
        {"apiKey": sim.api_key, "secret": sim.api_secret, "options": {"fetchCurrencies": False}}
    )
    point_at_simulator(exchange, sim)
    try:
        yield exchange
    finally:
        await exchange.close()


async def test_load_markets_matches_exchange_info(exchange: Any, sim: SimVenue) -> None:
    markets = await exchange.load_markets()
    btc = markets["BTC/USDT:USDT"]
    spec = sim.engine.specs["BTCUSDT"]
    assert btc["id"] == "BTCUSDT"
    assert btc["swap"] and btc["linear"]
    assert Decimal(str(btc["precision"]["price"])) == spec.tick_size
    assert Decimal(str(btc["precision"]["amount"])) == spec.step_size
    assert Decimal(str(btc["limits"]["amount"]["min"])) == spec.min_qty
    assert Decimal(str(btc["limits"]["cost"]["min"])) == spec.min_notional
    unusual = [m for m in markets.values() if m["id"] not in ("BTCUSDT", "ETHUSDT")]
    assert unusual, "the simulator lists a symbol with unusual precisions"


async def test_order_round_trip_place_modify_fetch_cancel(exchange: Any, sim: SimVenue) -> None:
    await exchange.load_markets()
    last = sim.engine.last_price("BTCUSDT")
    price = float(last * Decimal("0.9"))  # far below the market: rests
    order = await exchange.create_order(
        "BTC/USDT:USDT", "limit", "buy", 0.01, price, {"newClientOrderId": "ccxt-1"}
    )
    assert order["status"] == "open"
    assert order["clientOrderId"] == "ccxt-1"

    edited = await exchange.edit_order(order["id"], "BTC/USDT:USDT", "limit", "buy", 0.02, price)
    assert edited["amount"] == pytest.approx(0.02)

    fetched = await exchange.fetch_order(order["id"], "BTC/USDT:USDT")
    assert fetched["amount"] == pytest.approx(0.02)
    assert fetched["status"] == "open"

    open_orders = await exchange.fetch_open_orders("BTC/USDT:USDT")
    assert [o["id"] for o in open_orders] == [order["id"]]

    canceled = await exchange.cancel_order(order["id"], "BTC/USDT:USDT")
    assert canceled["status"] == "canceled"

    venue_orders = {o["order_id"]: o for o in sim.state()["orders"]}  # type: ignore[union-attr]
    assert venue_orders[int(order["id"])]["status"] == "CANCELED"
    assert Decimal(venue_orders[int(order["id"])]["qty"]) == Decimal("0.020")


async def test_market_order_fills_and_shows_in_trades_positions_balance(exchange: Any, sim: SimVenue) -> None:
    await exchange.load_markets()
    before = await exchange.fetch_balance()
    order = await exchange.create_order("BTC/USDT:USDT", "market", "buy", 0.05)
    fetched = await exchange.fetch_order(order["id"], "BTC/USDT:USDT")
    assert fetched["status"] == "closed"
    assert fetched["filled"] == pytest.approx(0.05)

    trades = await exchange.fetch_my_trades("BTC/USDT:USDT")
    venue_trades = [t for t in sim.state()["trades"] if str(t["order_id"]) == order["id"]]  # type: ignore[union-attr]
    assert sorted(t["id"] for t in trades) == sorted(str(t["trade_id"]) for t in venue_trades)
    assert sum(Decimal(str(t["amount"])) for t in trades) == Decimal("0.05")

    positions = await exchange.fetch_positions(["BTC/USDT:USDT"])
    long = [p for p in positions if p["contracts"]]
    assert len(long) == 1 and long[0]["side"] == "long"
    assert long[0]["contracts"] == pytest.approx(0.05)

    after = await exchange.fetch_balance()
    commission = sum(Decimal(str(t["fee"]["cost"])) for t in trades)
    assert commission > 0
    # Opening a position changes the *wallet* only by the commission paid (ccxt's "total" is the
    # margin balance, which also moves with unrealized PnL, as on Binance).
    wallet_before = Decimal(before["info"]["totalWalletBalance"])
    wallet_after = Decimal(after["info"]["totalWalletBalance"])
    assert wallet_after == wallet_before - commission


async def test_user_stream_delivers_order_updates(exchange: Any, sim: SimVenue) -> None:
    await exchange.load_markets()
    watcher = asyncio.create_task(exchange.watch_orders("BTC/USDT:USDT"))
    try:
        # ccxt authenticates (POST listenKey) and connects before the first update can arrive;
        # wait until the venue sees its user socket rather than sleeping.
        await wait_for(lambda: any(c["kind"] == "user" for c in sim.state()["connections"]))  # type: ignore[union-attr]
        last = sim.engine.last_price("BTCUSDT")
        placed = await exchange.create_order(
            "BTC/USDT:USDT",
            "limit",
            "sell",
            0.01,
            float(last * Decimal("1.1")),
            {"newClientOrderId": "ccxt-ws-1"},
        )
        updates = await asyncio.wait_for(watcher, timeout=10)
    finally:
        if not watcher.done():
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
    assert [u["id"] for u in updates] == [placed["id"]]
    assert updates[0]["clientOrderId"] == "ccxt-ws-1"
    assert updates[0]["status"] == "open"


def venue_streams(sim: SimVenue) -> dict[str, set[str]]:
    """Route -> the market streams the venue delivers on it (silent, wrong-route ones excluded)."""
    assert sim.binance is not None
    market = sim.binance.market
    out: dict[str, set[str]] = {}
    for conn in sim.registry.select("market"):
        route = conn.describe()["route"] if conn.describe else "?"
        info = market._sockets.get(conn)
        if info is not None:
            out.setdefault(route, set()).update(info.streams - info.silent)
    return out


async def test_market_streams_on_their_routes(exchange: Any, sim: SimVenue) -> None:
    """ccxt's own routing (trade on /public, klines on /market) meets the simulator's: both streams
    are delivered, each on its route."""
    await exchange.load_markets()
    trades = asyncio.create_task(exchange.watch_trades("BTC/USDT:USDT"))
    candles = asyncio.create_task(exchange.watch_ohlcv("BTC/USDT:USDT", "1m"))
    try:
        await wait_for(
            lambda: (
                "btcusdt@trade" in venue_streams(sim).get("/public", set())
                and "btcusdt@kline_1m" in venue_streams(sim).get("/market", set())
            )
        )
        for _ in range(200):
            if trades.done() and candles.done():
                break
            sim.faults.step(1)
            await asyncio.wait({trades, candles}, timeout=0.05)
        got_trades = await asyncio.wait_for(trades, timeout=5)
        got_candles = await asyncio.wait_for(candles, timeout=5)
    finally:
        for task in (trades, candles):
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
    assert got_trades and got_trades[0]["symbol"] == "BTC/USDT:USDT"
    assert got_candles and len(got_candles[0]) == 6  # [time, open, high, low, close, volume]
    assert sim.state()["ws_routes"]["silent_subscriptions"] == 0


async def wait_for(condition: Any, within: float = 10.0) -> None:
    """Poll a cheap condition on the loop until it holds (no fixed sleeps as synchronisation)."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
