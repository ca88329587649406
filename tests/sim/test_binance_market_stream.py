"""Market streams: the depth diff chain continues the REST snapshot, subscription management,
and every stream kind produces frames with Binance's fields."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from adapters.sim.server import SimVenue


async def test_depth_diff_chain_continues_the_rest_snapshot(
    bclient: Any, binance_sim: SimVenue, json_next: Any
) -> None:
    ws = await bclient.ws("/public/stream?streams=btcusdt@depth@100ms")
    try:
        binance_sim.faults.step(3)
        buffered = [await json_next(ws) for _ in range(3)]  # subscribe first, buffer (Binance's recipe)
        _, _, snap = await bclient.public("/fapi/v1/depth", symbol="BTCUSDT", limit=1000)
        binance_sim.faults.step(5)
        events = buffered + [await json_next(ws) for _ in range(5)]
    finally:
        await ws.close()
    assert all(e["stream"] == "btcusdt@depth@100ms" for e in events)
    diffs = [e["data"] for e in events]
    assert {"e", "E", "T", "s", "U", "u", "pu", "b", "a"} <= set(diffs[0]) and diffs[0]["e"] == "depthUpdate"
    last = snap["lastUpdateId"]
    applicable = [d for d in diffs if d["u"] >= last]  # drop events older than the snapshot
    first = applicable[0]
    assert first["U"] <= last + 1 <= first["u"] or first["U"] <= last <= first["u"]
    for prev, nxt in itertools.pairwise(applicable):
        assert nxt["pu"] == prev["u"]  # no gap
    # Applying the diffs to the snapshot gives the venue's book.
    book = {
        "b": {Decimal(p): Decimal(q) for p, q in snap["bids"]},
        "a": {Decimal(p): Decimal(q) for p, q in snap["asks"]},
    }
    for d in applicable:
        for side in ("b", "a"):
            for p, q in d[side]:
                if Decimal(q) == 0:
                    book[side].pop(Decimal(p), None)
                else:
                    book[side][Decimal(p)] = Decimal(q)
    truth = binance_sim.engine.book("BTCUSDT", 5)
    assert sorted(book["b"].items(), reverse=True)[:5] == list(truth.bids)
    assert sorted(book["a"].items())[:5] == list(truth.asks)


async def test_subscribe_unsubscribe_list(bclient: Any, binance_sim: SimVenue, json_next: Any) -> None:
    ws = await bclient.ws("/public/ws")
    try:
        await ws.send_json(
            {"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker", "btcusdt@depth10"], "id": 1}
        )
        assert await json_next(ws) == {"result": None, "id": 1}
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 2})
        assert await json_next(ws) == {"result": ["btcusdt@bookTicker", "btcusdt@depth10"], "id": 2}
        await ws.send_json({"method": "UNSUBSCRIBE", "params": ["btcusdt@depth10"], "id": 3})
        assert await json_next(ws) == {"result": None, "id": 3}
        binance_sim.faults.set_price("BTCUSDT", binance_sim.engine.last_price("BTCUSDT") + 50)
        ticker = await json_next(ws)
        assert ticker["e"] == "bookTicker" and ticker["s"] == "BTCUSDT"  # raw /ws: no wrapper
        assert {"u", "E", "T", "b", "B", "a", "A"} <= set(ticker)
        await ws.send_json({"method": "BOGUS", "id": 4})
        assert "error" in await json_next(ws, lambda m: "id" in m)
    finally:
        await ws.close()


async def test_every_stream_kind_on_its_route(bclient: Any, binance_sim: SimVenue, json_next: Any) -> None:
    market_names = ["btcusdt@aggTrade", "btcusdt@kline_1m", "btcusdt@markPrice@1s", "ethusdt@markPrice"]
    public_names = ["btcusdt@depth5", "btcusdt@depth", "btcusdt@trade"]
    names = market_names + public_names
    ws = await bclient.ws("/market/stream?streams=" + "/".join(market_names))
    book = await bclient.ws("/public/stream?streams=" + "/".join(public_names))
    public = await bclient.ws("/public/ws/btcusdt@bookTicker")
    try:
        seen: dict[str, Any] = {}
        steps = 0
        while set(seen) != set(names) and steps < 200:
            binance_sim.faults.step(1)
            steps += 1
            for sock in (ws, book):
                while True:
                    try:
                        frame = await json_next(sock, within=0.2)
                    except TimeoutError:
                        break
                    seen.setdefault(frame["stream"], frame["data"])
        assert set(seen) == set(names)
        assert seen["btcusdt@trade"]["e"] == "trade"
        assert seen["btcusdt@aggTrade"]["e"] == "aggTrade" and isinstance(seen["btcusdt@aggTrade"]["a"], int)
        assert len(seen["btcusdt@depth5"]["b"]) == 5
        assert seen["btcusdt@kline_1m"]["k"]["i"] == "1m" and isinstance(
            seen["btcusdt@kline_1m"]["k"]["x"], bool
        )
        assert (
            seen["ethusdt@markPrice"]["e"] == "markPriceUpdate"
            and seen["ethusdt@markPrice"]["s"] == "ETHUSDT"
        )
        assert {"p", "i", "r", "T"} <= set(seen["btcusdt@markPrice@1s"])
        ticker = await json_next(public)
        assert ticker["e"] == "bookTicker"
    finally:
        await ws.close()
        await book.close()
        await public.close()
