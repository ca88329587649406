"""Sockets that die right after connecting (``die_on_connect``): the handshake succeeds (101),
then the server aborts the TCP connection without a close frame — for the next ``count``
connections of a kind, or until turned off. Both dialects share the fault."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from adapters.sim.bingx.client import next_frame
from adapters.sim.server import SimVenue


async def assert_dies(ws: aiohttp.ClientWebSocketResponse) -> None:
    msg = await ws.receive(timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR), msg
    assert ws.close_code == 1006  # abnormal closure: no close frame was sent


async def test_counted_user_sockets_die_then_connect(
    bclient: Any, binance_sim: SimVenue, json_next: Any
) -> None:
    key = await bclient.listen_key()
    res = await bclient.control("/sim/streams/die-on-connect?kind=user&count=2")
    assert res == {"ok": True, "die_on_connect": {"user": 2}}
    for _ in range(2):
        await assert_dies(await bclient.ws(f"/private/ws?listenKey={key}"))
    assert binance_sim.faults.die_on_connect_kinds == {}  # used up
    ws = await bclient.ws(f"/private/ws?listenKey={key}")
    await bclient.wait_user_sockets(1)
    status, _, _ = await bclient.signed(
        "POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010"
    )
    assert status == 200
    assert (await json_next(ws))["e"] == "ORDER_TRADE_UPDATE"
    state = await bclient.control("/sim/state", method="GET")
    assert state["faults"]["counters"]["connections_died_on_connect"] == 2
    assert state["faults"]["die_on_connect"] == {}
    await ws.close()


async def test_kind_selects_and_on_false_turns_off(bclient: Any, binance_sim: SimVenue, until: Any) -> None:
    await bclient.control("/sim/streams/die-on-connect?kind=market")  # until turned off
    for _ in range(3):
        await assert_dies(await bclient.ws("/market/ws/btcusdt@aggTrade"))
    api = await bclient.ws("/ws-fapi/v1")  # another kind is unaffected
    await until(lambda: len(binance_sim.registry.select("api")) == 1)
    res = await bclient.control("/sim/streams/die-on-connect?kind=market&on=false")
    assert res["die_on_connect"] == {}
    market = await bclient.ws("/market/ws/btcusdt@aggTrade")
    await until(lambda: len(binance_sim.registry.select("market")) == 1)
    assert not market.closed
    # "all" covers the trading API too, and reset clears it.
    binance_sim.faults.die_on_connect("all", count=1)
    await assert_dies(await bclient.ws("/ws-fapi/v1"))
    binance_sim.faults.die_on_connect("all")
    binance_sim.faults.reset()
    again = await bclient.ws("/ws-fapi/v1")
    await until(lambda: len(binance_sim.registry.select("api")) == 2)
    assert binance_sim.faults.counters["connections_died_on_connect"] == 4
    for ws in (api, market, again):
        await ws.close()


async def test_bad_arguments_are_400(bclient: Any, binance_sim: SimVenue) -> None:
    for query in ("kind=nope", "kind=user&count=0", "kind=user&count=x"):
        async with bclient.session.post(f"{binance_sim.rest_url}/sim/streams/die-on-connect?{query}") as r:
            assert r.status == 400 and (await r.json())["ok"] is False
    with pytest.raises(ValueError):
        binance_sim.faults.die_on_connect("user", count=-1)


@pytest.fixture
async def bingx() -> AsyncIterator[SimVenue]:
    async with SimVenue("bingx", seed=4, step_interval=3600.0) as venue:
        yield venue


async def test_bingx_sockets_die_on_connect(bingx: SimVenue) -> None:
    bingx.faults.die_on_connect("market", count=1)
    async with aiohttp.ClientSession() as session:
        await assert_dies(await session.ws_connect(bingx.ws_market_url))
        ws = await session.ws_connect(bingx.ws_market_url)
        await ws.send_str('{"id":"s1","reqType":"sub","dataType":"BTC-USDT@depth5"}')
        ack = await next_frame(ws, lambda m: isinstance(m, dict) and m.get("id") == "s1")
        assert ack["code"] == 0
        await ws.close()
    assert bingx.state()["faults"]["counters"]["connections_died_on_connect"] == 1
