"""Binance USD-M REST against the simulator: market data, the order lifecycle, batch, algo and
account endpoints, errors and rate-limit headers. Field sets are checked against real payloads
in ../shared when present."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.sim.server import SimVenue

SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "binance_futures"


def shared_fixture(name: str) -> Any:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return json.loads(path.read_text())


def below(sim: SimVenue, symbol: str = "BTCUSDT", factor: str = "0.9") -> str:
    spec = sim.engine.specs[symbol]
    price = (sim.engine.last_price(symbol) * Decimal(factor)).quantize(spec.tick_size)
    return str(price)


async def test_public_market_data(bclient: Any, binance_sim: SimVenue) -> None:
    assert (await bclient.public("/fapi/v1/ping"))[2] == {}
    status, headers, t = await bclient.public("/fapi/v1/time")
    assert status == 200 and isinstance(t["serverTime"], int) and "X-MBX-USED-WEIGHT-1M" in headers
    _, _, info = await bclient.public("/fapi/v1/exchangeInfo")
    btc = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    assert {f["filterType"] for f in btc["filters"]} >= {
        "PRICE_FILTER",
        "LOT_SIZE",
        "MARKET_LOT_SIZE",
        "MIN_NOTIONAL",
        "PERCENT_PRICE",
    }
    assert (btc["contractType"], btc["status"], btc["marginAsset"]) == ("PERPETUAL", "TRADING", "USDT")
    assert btc["pricePrecision"] == 2 and btc["quantityPrecision"] == 3
    assert "LIMIT" in btc["orderTypes"] and "GTX" in btc["timeInForce"]
    assert info["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
    pepe = next(s for s in info["symbols"] if s["symbol"] == "1000PEPEUSDT")
    assert pepe["quantityPrecision"] == 0

    _, _, depth = await bclient.public("/fapi/v1/depth", symbol="BTCUSDT", limit=5)
    assert set(depth) == {"lastUpdateId", "E", "T", "bids", "asks"}
    assert len(depth["bids"]) == 5 and all(isinstance(x, str) for x in depth["bids"][0])
    assert Decimal(depth["bids"][0][0]) < Decimal(depth["asks"][0][0])

    binance_sim.faults.step(5)
    _, _, klines = await bclient.public("/fapi/v1/klines", symbol="BTCUSDT", interval="1m", limit=3)
    assert len(klines) == 3 and isinstance(klines[0][0], int) and isinstance(klines[0][1], str)
    _, _, trades = await bclient.public("/fapi/v1/aggTrades", symbol="BTCUSDT", limit=5)
    assert trades and set(trades[0]) == {"a", "p", "q", "f", "l", "T", "m"}
    _, _, prem = await bclient.public("/fapi/v1/premiumIndex", symbol="BTCUSDT")
    assert {"markPrice", "indexPrice", "lastFundingRate", "nextFundingTime"} <= set(prem)
    _, _, bt = await bclient.public("/fapi/v1/ticker/bookTicker", symbol="BTCUSDT")
    assert Decimal(bt["bidPrice"]) < Decimal(bt["askPrice"])
    _, _, t24 = await bclient.public("/fapi/v1/ticker/24hr", symbol="ETHUSDT")
    assert t24["symbol"] == "ETHUSDT" and Decimal(t24["lastPrice"]) > 0
    _, _, tp = await bclient.public("/fapi/v1/ticker/price")
    assert {r["symbol"] for r in tp} == set(binance_sim.engine.specs)
    _, _, fr = await bclient.public("/fapi/v1/fundingRate", symbol="BTCUSDT")
    assert fr and isinstance(fr[0]["fundingTime"], int)
    status, _, body = await bclient.public("/fapi/v1/depth", symbol="NOPE")
    assert (status, body["code"]) == (400, -1121)


async def test_unknown_route_is_404(bclient: Any) -> None:
    status, _, _ = await bclient.public("/fapi/v1/doesNotExist")
    assert status == 404


async def test_place_query_modify_cancel_round_trip(bclient: Any, binance_sim: SimVenue) -> None:
    price = below(binance_sim)
    status, headers, placed = await bclient.signed(
        "POST",
        "/fapi/v1/order",
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.010",
        price=price,
        newClientOrderId="rt-1",
    )
    assert status == 200, placed
    assert headers["X-MBX-ORDER-COUNT-10S"] == "1" and headers["X-MBX-ORDER-COUNT-1M"] == "1"
    assert placed["status"] == "NEW" and placed["clientOrderId"] == "rt-1"
    assert isinstance(placed["orderId"], int) and isinstance(placed["price"], str)
    assert isinstance(placed["reduceOnly"], bool) and isinstance(placed["updateTime"], int)
    oid = placed["orderId"]

    _, _, got = await bclient.signed("GET", "/fapi/v1/order", symbol="BTCUSDT", origClientOrderId="rt-1")
    assert got["orderId"] == oid and got["status"] == "NEW" and isinstance(got["time"], int)
    reference = shared_fixture("http/order_response.json")
    assert set(reference) <= set(got)
    assert all(type(got[k]) is type(v) for k, v in reference.items())

    _, _, modified = await bclient.signed(
        "PUT", "/fapi/v1/order", symbol="BTCUSDT", orderId=oid, side="BUY", quantity="0.020", price=price
    )
    assert modified["origQty"] == "0.020"
    status, _, same = await bclient.signed(
        "PUT", "/fapi/v1/order", symbol="BTCUSDT", orderId=oid, side="BUY", quantity="0.020", price=price
    )
    assert (status, same["code"]) == (400, -5027)

    _, _, open_one = await bclient.signed("GET", "/fapi/v1/openOrder", symbol="BTCUSDT", orderId=oid)
    assert open_one["orderId"] == oid
    _, _, opens = await bclient.signed("GET", "/fapi/v1/openOrders")
    assert [o["orderId"] for o in opens] == [oid]

    _, _, canceled = await bclient.signed("DELETE", "/fapi/v1/order", symbol="BTCUSDT", orderId=oid)
    assert canceled["status"] == "CANCELED"
    status, _, again = await bclient.signed("DELETE", "/fapi/v1/order", symbol="BTCUSDT", orderId=oid)
    assert (status, again["code"]) == (400, -2011)
    status, _, missing = await bclient.signed("GET", "/fapi/v1/order", symbol="BTCUSDT", orderId=1)
    assert (status, missing) == (400, {"code": -2013, "msg": "Order does not exist."})
    status, _, gone = await bclient.signed("GET", "/fapi/v1/openOrder", symbol="BTCUSDT", orderId=oid)
    assert (status, gone["code"]) == (400, -2013)
    _, _, history = await bclient.signed("GET", "/fapi/v1/allOrders", symbol="BTCUSDT")
    assert [(o["orderId"], o["status"]) for o in history] == [(oid, "CANCELED")]
    truth = {o["order_id"]: o for o in binance_sim.state()["orders"]}
    assert truth[oid]["status"] == "CANCELED"


async def test_market_order_ack_vs_result_and_user_trades(bclient: Any, binance_sim: SimVenue) -> None:
    _, _, ack = await bclient.signed(
        "POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010"
    )
    assert ack["status"] == "NEW" and ack["executedQty"] == "0.000"  # ACK: as accepted
    _, _, res = await bclient.signed(
        "POST",
        "/fapi/v1/order",
        symbol="BTCUSDT",
        side="BUY",
        type="MARKET",
        quantity="0.010",
        newOrderRespType="RESULT",
    )
    assert res["status"] == "FILLED" and res["executedQty"] == "0.010" and Decimal(res["avgPrice"]) > 0
    _, _, trades = await bclient.signed("GET", "/fapi/v1/userTrades", symbol="BTCUSDT")
    assert {t["orderId"] for t in trades} == {ack["orderId"], res["orderId"]}
    reference = shared_fixture("http/http_futures_account_trades.json")[0]
    assert set(reference) <= set(trades[0])
    assert all(type(trades[0][k]) is type(v) for k, v in reference.items())
    _, _, risk = await bclient.signed("GET", "/fapi/v3/positionRisk", symbol="BTCUSDT")
    assert [(r["symbol"], r["positionAmt"]) for r in risk] == [("BTCUSDT", "0.020")]
    _, _, risk2 = await bclient.signed("GET", "/fapi/v2/positionRisk")
    assert set(shared_fixture("http/position_risk.json")[0]) <= set(risk2[0])
    _, _, acct = await bclient.signed("GET", "/fapi/v2/account")
    assert set(shared_fixture("http/account_info_v2.json")) <= set(acct)
    _, _, acct3 = await bclient.signed("GET", "/fapi/v3/account")
    assert [p["positionAmt"] for p in acct3["positions"]] == ["0.020"]
    _, _, bal = await bclient.signed("GET", "/fapi/v3/balance")
    assert set(shared_fixture("http/balance.json")[0]) <= set(bal[0])


async def test_conditional_type_on_order_endpoint_is_4120(bclient: Any) -> None:
    status, _, body = await bclient.signed(
        "POST",
        "/fapi/v1/order",
        symbol="BTCUSDT",
        side="SELL",
        type="STOP_MARKET",
        quantity="0.010",
        stopPrice="1000",
    )
    assert (status, body["code"]) == (400, -4120)


async def test_post_only_that_would_take_is_5022(bclient: Any, binance_sim: SimVenue) -> None:
    through = below(binance_sim, factor="1.01")
    status, _, body = await bclient.signed(
        "POST",
        "/fapi/v1/order",
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTX",
        quantity="0.010",
        price=through,
    )
    assert (status, body["code"]) == (400, -5022)
    assert binance_sim.engine.open_orders(binance_sim.account_id) == []


async def test_filter_errors(bclient: Any, binance_sim: SimVenue) -> None:
    price = below(binance_sim)
    status, _, body = await bclient.signed(
        "POST",
        "/fapi/v1/order",
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.0105",
        price=price,
    )
    assert (status, body["code"]) == (400, -4023)
    status, _, body = await bclient.signed(
        "POST",
        "/fapi/v1/order",
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.001",
        price=price,
    )
    assert (status, body["code"]) == (400, -4164)
    status, _, body = await bclient.signed(
        "POST",
        "/fapi/v1/order",
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.010",
        price="100.0",
    )
    assert (status, body["code"]) == (400, -4013)
    status, _, body = await bclient.signed(
        "POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="LIMIT", quantity="0.010", price=price
    )
    assert (status, body["code"]) == (400, -1102)


async def test_batch_orders(bclient: Any, binance_sim: SimVenue) -> None:
    price = below(binance_sim)
    good = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.010",
        "price": price,
    }
    bad = {**good, "type": "STOP_MARKET", "stopPrice": "1000"}
    items = [good, bad, {**good, "newClientOrderId": "b-3"}]
    status, headers, results = await bclient.signed(
        "POST", "/fapi/v1/batchOrders", batchOrders=json.dumps(items)
    )
    assert status == 200 and headers["X-MBX-ORDER-COUNT-10S"] == "3"
    assert (
        results[0]["status"] == "NEW" and results[1]["code"] == -4120 and results[2]["clientOrderId"] == "b-3"
    )
    status, _, too_many = await bclient.signed(
        "POST", "/fapi/v1/batchOrders", batchOrders=json.dumps([good] * 6)
    )
    assert status == 400 and too_many["code"] == -1130
    mods = [
        {
            "symbol": "BTCUSDT",
            "orderId": results[0]["orderId"],
            "side": "BUY",
            "quantity": "0.020",
            "price": price,
        },
        {"symbol": "BTCUSDT", "orderId": 1, "side": "BUY", "quantity": "0.02", "price": price},
    ]
    _, _, modded = await bclient.signed("PUT", "/fapi/v1/batchOrders", batchOrders=json.dumps(mods))
    assert modded[0]["origQty"] == "0.020" and modded[1]["code"] == -2013
    ids = [results[0]["orderId"], 1]
    _, _, canceled = await bclient.signed(
        "DELETE", "/fapi/v1/batchOrders", symbol="BTCUSDT", orderIdList=json.dumps(ids)
    )
    assert canceled[0]["status"] == "CANCELED" and canceled[1]["code"] == -2011
    _, _, done = await bclient.signed("DELETE", "/fapi/v1/allOpenOrders", symbol="BTCUSDT")
    assert done == {"code": 200, "msg": "The operation of cancel all open order is done."}
    assert binance_sim.engine.open_orders(binance_sim.account_id) == []


async def test_algo_orders(bclient: Any, binance_sim: SimVenue) -> None:
    trigger = str((binance_sim.engine.last_price("BTCUSDT") * Decimal("1.05")).quantize(Decimal("0.1")))
    status, _, algo = await bclient.signed(
        "POST",
        "/fapi/v1/algoOrder",
        algoType="CONDITIONAL",
        symbol="BTCUSDT",
        side="BUY",
        type="STOP_MARKET",
        quantity="0.010",
        triggerPrice=trigger,
        clientAlgoId="algo-1",
    )
    assert status == 200, algo
    assert algo["algoStatus"] == "NEW" and algo["clientAlgoId"] == "algo-1" and algo["actualOrderId"] == ""
    _, _, got = await bclient.signed("GET", "/fapi/v1/algoOrder", algoId=algo["algoId"])
    assert got["algoId"] == algo["algoId"] and got["orderType"] == "STOP_MARKET"
    _, _, opens = await bclient.signed("GET", "/fapi/v1/openAlgoOrders")
    assert [a["algoId"] for a in opens] == [algo["algoId"]]
    reference = shared_fixture("http/open_algo_orders.json")[0]
    assert set(reference) - {"type"} <= set(opens[0])
    _, _, canceled = await bclient.signed("DELETE", "/fapi/v1/algoOrder", clientAlgoId="algo-1")
    assert canceled == {"algoId": algo["algoId"], "clientAlgoId": "algo-1", "code": "200", "msg": "success"}
    _, _, history = await bclient.signed("GET", "/fapi/v1/allAlgoOrders", symbol="BTCUSDT")
    assert [a["algoStatus"] for a in history] == ["CANCELED"]
    _, _, done = await bclient.signed("DELETE", "/fapi/v1/algoOpenOrders", symbol="BTCUSDT")
    assert done["code"] == 200


async def test_account_configuration_endpoints(bclient: Any) -> None:
    _, _, dual = await bclient.signed("GET", "/fapi/v1/positionSide/dual")
    assert dual == {"dualSidePosition": False}
    status, _, same = await bclient.signed("POST", "/fapi/v1/positionSide/dual", dualSidePosition="false")
    assert (status, same["code"]) == (400, -4059)
    _, _, ok = await bclient.signed("POST", "/fapi/v1/positionSide/dual", dualSidePosition="true")
    assert ok == {"code": 200, "msg": "success"}
    _, _, lev = await bclient.signed("POST", "/fapi/v1/leverage", symbol="BTCUSDT", leverage=10)
    assert lev["leverage"] == 10 and lev["symbol"] == "BTCUSDT"
    status, _, badlev = await bclient.signed("POST", "/fapi/v1/leverage", symbol="BTCUSDT", leverage=500)
    assert (status, badlev["code"]) == (400, -4028)
    _, _, mt = await bclient.signed("POST", "/fapi/v1/marginType", symbol="BTCUSDT", marginType="ISOLATED")
    assert mt == {"code": 200, "msg": "success"}
    status, _, again = await bclient.signed(
        "POST", "/fapi/v1/marginType", symbol="BTCUSDT", marginType="ISOLATED"
    )
    assert (status, again["code"]) == (400, -4046)
    _, _, cfg = await bclient.signed("GET", "/fapi/v1/symbolConfig", symbol="BTCUSDT")
    assert cfg == [
        {
            "symbol": "BTCUSDT",
            "marginType": "ISOLATED",
            "isAutoAddMargin": False,
            "leverage": 10,
            "maxNotionalValue": "250000",
        }
    ]
    _, _, fee = await bclient.signed("GET", "/fapi/v1/commissionRate", symbol="BTCUSDT")
    assert Decimal(fee["makerCommissionRate"]) == Decimal("0.0002")
    _, _, multi = await bclient.signed("GET", "/fapi/v1/multiAssetsMargin")
    assert multi == {"multiAssetsMargin": False}


async def test_rate_limit_429_with_retry_after() -> None:
    async with SimVenue(seed=2, step_interval=3600.0, rate_limit_weight=3) as sim:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            statuses = []
            for _ in range(4):
                async with session.get(f"{sim.rest_url}/fapi/v1/ping") as r:
                    statuses.append((r.status, r.headers.get("X-MBX-USED-WEIGHT-1M")))
                    if r.status == 429:
                        body = await r.json()
                        assert body["code"] == -1003 and int(r.headers["Retry-After"]) >= 1
    assert statuses[:3] == [(200, "1"), (200, "2"), (200, "3")] and statuses[3] == (429, "4")
