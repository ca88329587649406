"""Conformance: ccxt's ``bingx`` — an independent client — trades against the BingX simulator with only
its URLs changed, plus two options that keep it on the USDT-M swap API this venue serves:

* ``sandboxMode: True`` (the option ccxt's own ``set_sandbox_mode`` sets; we set it without swapping
  URLs): ``load_markets`` then reads only the swap contracts, not the spot and coin-M lists, and
  ``fetch_currencies`` skips the spot wallet API.
* ``defaultType: "swap"``: ``fetch_balance`` reads ``/openApi/swap/v3/user/balance`` instead of spot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.sim.server import SimVenue

ccxt_pro = pytest.importorskip("ccxt.pro")

pytestmark = pytest.mark.ccxt


def point_at_simulator(exchange: Any, sim: SimVenue) -> None:
    """The only change to ccxt's code paths: where it connects (REST keys in urls['api'], WS linear)."""
    for name in list(exchange.urls["api"]):
        if name != "ws":
            exchange.urls["api"][name] = sim.rest_url + "/openApi"
    exchange.urls["api"]["ws"]["linear"] = sim.ws_market_url


@pytest.fixture
async def sim() -> AsyncIterator[SimVenue]:
    async with SimVenue("bingx", seed=21, step_interval=3600.0) as venue:
        yield venue


@pytest.fixture
async def exchange(sim: SimVenue) -> AsyncIterator[Any]:
    exchange = ccxt_pro.bingx(
        {
            "apiKey": sim.api_key,
            "secret": sim.api_secret,
            "options": {"sandboxMode": True, "defaultType": "swap"},
        }
    )
    point_at_simulator(exchange, sim)
    try:
        yield exchange
    finally:
        await exchange.close()


async def test_load_markets_reads_contracts(exchange: Any, sim: SimVenue) -> None:
    markets = await exchange.load_markets()
    btc = markets["BTC/USDT:USDT"]
    assert btc["id"] == "BTC-USDT" and btc["swap"] and btc["linear"]
    assert btc["precision"]["price"] == 0.1 and btc["precision"]["amount"] == 0.0001
    pepe = markets["1000PEPE/USDT:USDT"]
    assert pepe["precision"]["price"] == 1e-7 and pepe["precision"]["amount"] == 1
    assert abs(await exchange.fetch_time() - sim.faults.server_time_ms()) < 5000


async def test_trade_cancel_fetch_balance_positions_and_my_trades(exchange: Any, sim: SimVenue) -> None:
    await exchange.load_markets()
    symbol = "BTC/USDT:USDT"
    bid = float(sim.engine.book("BTC-USDT", 5).bids[-1][0]) - 100
    limit = await exchange.create_order(symbol, "limit", "buy", 0.01, bid, {"clientOrderId": "CcxtLimit1"})
    assert int(limit["id"]) > 2**53  # ids above 2**53 survive as strings
    fetched = await exchange.fetch_order(limit["id"], symbol)
    assert fetched["status"] == "open" and fetched["price"] == bid and fetched["amount"] == 0.01
    opened = await exchange.fetch_open_orders(symbol)
    assert [o["id"] for o in opened] == [limit["id"]]
    canceled = await exchange.cancel_order(limit["id"], symbol)
    assert canceled["status"] == "canceled"
    assert (await exchange.fetch_order(limit["id"], symbol))["status"] == "canceled"

    market = await exchange.create_order(symbol, "market", "buy", 0.02)
    done = await exchange.fetch_order(market["id"], symbol)
    assert done["status"] == "closed" and done["filled"] == 0.02

    balance = await exchange.fetch_balance()
    truth = sim.state()["accounts"]["default"]
    equity = float(truth["wallet_balance"]) + sum(float(p["unrealized_pnl"]) for p in truth["positions"])
    assert balance["USDT"]["total"] == pytest.approx(equity, abs=0.01)  # ccxt reads "equity" as total
    assert balance["USDT"]["free"] == pytest.approx(float(truth["available_balance"]), abs=0.01)

    positions = await exchange.fetch_positions([symbol])
    assert len(positions) == 1 and positions[0]["contracts"] == 0.02 and positions[0]["side"] == "long"

    trades = await exchange.fetch_my_trades(symbol)
    engine_fills = [t for t in sim.state()["trades"] if t["account_id"] == "default"]
    assert len(trades) == len(engine_fills) >= 1
    assert sum(t["amount"] for t in trades) == pytest.approx(0.02)
    assert all(t["order"] == market["id"] for t in trades)


async def test_watch_orders_over_user_stream(exchange: Any, sim: SimVenue) -> None:
    await exchange.load_markets()
    symbol = "ETH/USDT:USDT"
    watcher = asyncio.create_task(exchange.watch_orders(symbol))
    # The listen key exists and the user socket is up before the order is placed.
    async with asyncio.timeout(10):
        while not sim.registry.select("user"):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    order = await exchange.create_order(symbol, "market", "sell", 0.05)
    seen: dict[str, Any] = {}
    async with asyncio.timeout(10):
        updates = await watcher
        while True:
            for u in updates:
                seen[u["id"]] = u
            if seen.get(order["id"], {}).get("status") == "closed":
                break
            updates = await exchange.watch_orders(symbol)
    assert seen[order["id"]]["filled"] == 0.05 and seen[order["id"]]["side"] == "sell"
    assert sim.state()["listen_keys"][0]["status"] == "active"
