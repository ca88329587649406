"""Listen keys and user-data sockets: key lifecycle, event routing to every endpoint form,
event payloads, expiry, maximum connection age and protocol pings."""

from __future__ import annotations

import asyncio
import contextlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.sim.server import SimVenue

SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "binance_futures"


def reference(name: str) -> Any:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return json.loads(path.read_text())


async def market_buy(bclient: Any, qty: str = "0.010") -> Any:
    status, _, body = await bclient.signed(
        "POST",
        "/fapi/v1/order",
        symbol="BTCUSDT",
        side="BUY",
        type="MARKET",
        quantity=qty,
        newClientOrderId="u-1",
    )
    assert status == 200, body
    return body


async def test_listen_key_post_put_delete_and_1125(bclient: Any, binance_sim: SimVenue) -> None:
    key = await bclient.listen_key()
    assert len(key) == 64
    assert await bclient.listen_key() == key  # one active key per account, POST extends it
    # USER_STREAM security: the API-key header is enough.
    async with bclient.session.put(
        f"{binance_sim.rest_url}/fapi/v1/listenKey", headers={"X-MBX-APIKEY": binance_sim.api_key}
    ) as r:
        assert r.status == 200 and await r.json() == {}
    status, _, body = await bclient.signed("PUT", "/fapi/v1/listenKey", listenKey=key)
    assert (status, body) == (200, {})
    ws = await bclient.ws(f"/private/ws?listenKey={key}")
    status, _, body = await bclient.signed("DELETE", "/fapi/v1/listenKey", listenKey=key)
    assert (status, body) == (200, {})
    closed = await ws.receive(timeout=5)  # DELETE closes the key's streams
    assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 1000
    status, _, body = await bclient.signed("PUT", "/fapi/v1/listenKey", listenKey=key)
    assert (status, body) == (400, {"code": -1125, "msg": "This listenKey does not exist."})
    new_key = await bclient.listen_key()
    assert new_key != key
    async with bclient.session.post(f"{binance_sim.rest_url}/fapi/v1/listenKey") as r:
        assert r.status == 401


@pytest.mark.parametrize(
    "form",
    [
        "/private/ws?listenKey={key}",
        "/private/ws/{key}",
        "/private/ws?listenKey={key}&events=ORDER_TRADE_UPDATE/TRADE_LITE/ACCOUNT_UPDATE",
    ],
)
async def test_events_on_raw_endpoints(form: str, bclient: Any, json_next: Any) -> None:
    key = await bclient.listen_key()
    ws = await bclient.ws(form.format(key=key))
    try:
        order = await market_buy(bclient)
        first = await json_next(ws)
        second = await json_next(ws)
        assert first["e"] == "ORDER_TRADE_UPDATE" and first["o"]["x"] == "NEW"
        assert first["o"]["i"] == order["orderId"] and first["o"]["c"] == "u-1"
        assert second["e"] == "TRADE_LITE"  # sent before the TRADE's ORDER_TRADE_UPDATE
        trade = await json_next(ws)
        assert trade["e"] == "ORDER_TRADE_UPDATE" and trade["o"]["x"] == "TRADE"
        assert trade["o"]["t"] == second["t"] and trade["o"]["l"] == second["l"]
        acct = await json_next(ws, lambda m: m["e"] == "ACCOUNT_UPDATE")
        assert acct["a"]["m"] == "ORDER" and acct["a"]["P"][0]["s"] == "BTCUSDT"
    finally:
        await ws.close()


async def test_event_payloads_match_real_field_sets(bclient: Any, json_next: Any) -> None:
    key = await bclient.listen_key()
    ws = await bclient.ws(f"/private/ws?listenKey={key}")
    try:
        await market_buy(bclient)
        lite = await json_next(ws, lambda m: m["e"] == "TRADE_LITE")
        trade = await json_next(ws, lambda m: m["e"] == "ORDER_TRADE_UPDATE" and m["o"]["x"] == "TRADE")
        acct = await json_next(ws, lambda m: m["e"] == "ACCOUNT_UPDATE")
    finally:
        await ws.close()
    ref_trade = reference("user_data/order_update_trade.json")
    optional = {"AP", "cr"}  # trailing-stop only
    assert set(ref_trade["o"]) - optional <= set(trade["o"])
    assert {"si", "ss", "rp", "V", "pm", "gtd", "er"} <= set(trade["o"])
    for k, v in ref_trade["o"].items():
        if k in trade["o"]:
            assert type(trade["o"][k]) is type(v), k
    assert set(reference("user_data/trade_lite.json")) == set(lite)
    ref_acct = reference("user_data/account_update.json")
    assert set(ref_acct["a"]["B"][0]) == set(acct["a"]["B"][0])
    assert set(ref_acct["a"]["P"][0]) == set(acct["a"]["P"][0])
    assert Decimal(trade["o"]["n"]) > 0 and trade["o"]["N"] == "USDT"


async def test_combined_stream_wraps_events(bclient: Any, json_next: Any) -> None:
    key = await bclient.listen_key()
    ws = await bclient.ws(f"/private/stream?listenKey={key}")
    try:
        await market_buy(bclient)
        frame = await json_next(ws)
        assert set(frame) == {"stream", "data"} and frame["stream"] == key
        assert frame["data"]["e"] == "ORDER_TRADE_UPDATE"
    finally:
        await ws.close()


async def test_algo_update_and_account_config_update(
    bclient: Any, binance_sim: SimVenue, json_next: Any
) -> None:
    key = await bclient.listen_key()
    ws = await bclient.ws(f"/private/ws?listenKey={key}")
    try:
        trigger = str((binance_sim.engine.last_price("BTCUSDT") * Decimal("1.05")).quantize(Decimal("0.1")))
        await bclient.signed(
            "POST",
            "/fapi/v1/algoOrder",
            algoType="CONDITIONAL",
            symbol="BTCUSDT",
            side="BUY",
            type="STOP_MARKET",
            quantity="0.010",
            triggerPrice=trigger,
            clientAlgoId="a-1",
        )
        algo = await json_next(ws, lambda m: m["e"] == "ALGO_UPDATE")
        assert algo["o"]["X"] == "NEW" and algo["o"]["caid"] == "a-1" and algo["o"]["ai"] == ""
        ref = reference("user_data/algo_update_new.json")
        assert set(ref["o"]) - {"rm"} <= set(algo["o"])
        binance_sim.faults.set_price("BTCUSDT", Decimal(trigger) + 10)
        states: list[str] = []
        while len(states) < 3:
            m = await json_next(ws, lambda m: m["e"] == "ALGO_UPDATE")
            states.append(m["o"]["X"])
        assert states == ["TRIGGERING", "TRIGGERED", "FINISHED"]
        await bclient.signed("POST", "/fapi/v1/leverage", symbol="BTCUSDT", leverage=7)
        cfg = await json_next(ws, lambda m: m["e"] == "ACCOUNT_CONFIG_UPDATE")
        assert cfg["ac"] == {"s": "BTCUSDT", "l": 7}
    finally:
        await ws.close()


async def test_unknown_listen_key_rejects_the_handshake(bclient: Any) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await bclient.ws("/private/ws?listenKey=notakey")
    assert info.value.status == 400


async def test_listen_key_expires_after_its_lifetime(json_next: Any, until: Any) -> None:
    async with (
        SimVenue(seed=3, step_interval=3600.0, listen_key_ttl=0.3) as sim,
        aiohttp.ClientSession() as s,
    ):
        from tests.conftest import BinanceTestClient

        client = BinanceTestClient(sim, s)
        key = await client.listen_key()
        ws = await client.ws(f"/private/ws?listenKey={key}")
        try:
            expired = await json_next(ws)
            assert expired["e"] == "listenKeyExpired" and expired["listenKey"] == key
            assert isinstance(expired["E"], int)
            status, _, body = await client.signed("PUT", "/fapi/v1/listenKey", listenKey=key)
            assert (status, body["code"]) == (400, -1125)
            # The socket stays open but carries nothing more for that key.
            conn = sim.registry.select("user")[0]
            sent = conn.frames_sent
            new_key = await client.listen_key()
            assert new_key != key
            ws2 = await client.ws(f"/private/ws?listenKey={new_key}")
            await market_buy(client)
            assert (await json_next(ws2))["e"] == "ORDER_TRADE_UPDATE"
            assert not ws.closed and conn.frames_sent == sent
            await ws2.close()
            state = sim.state()
            assert {k["status"] for k in state["listen_keys"]} >= {"expired"}
        finally:
            await ws.close()


async def test_connection_closes_at_max_age() -> None:
    async with (
        SimVenue(seed=3, step_interval=3600.0, max_connection_age=0.3) as sim,
        aiohttp.ClientSession() as s,
    ):
        ws = await s.ws_connect(f"{sim.ws_url}/market/ws/btcusdt@aggTrade")
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 1001
        assert msg.extra


async def test_server_pings_and_closes_without_pong() -> None:
    async with (
        SimVenue(seed=3, step_interval=3600.0, ping_interval=0.1, pong_timeout=0.2) as sim,
        aiohttp.ClientSession() as s,
    ):
        # autoping=True answers the server's pings: the connection stays healthy.
        ws = await s.ws_connect(f"{sim.ws_url}/market/ws/btcusdt@aggTrade")
        conn = sim.registry.select("market")[0]
        async with asyncio.timeout(5):
            while conn.pongs_received < 2:
                # Reading lets the client's autoping answer; nothing else arrives here.
                with contextlib.suppress(TimeoutError):
                    await ws.receive(timeout=0.05)
        assert not ws.closed
        await ws.close()
        # autoping=False never answers: the server cuts the connection.
        silent = await s.ws_connect(f"{sim.ws_url}/market/ws/btcusdt@aggTrade", autoping=False)
        saw_ping = False
        while True:
            msg = await silent.receive(timeout=5)
            if msg.type is aiohttp.WSMsgType.PING:
                saw_ping = True
                continue
            break
        assert saw_ping and msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
