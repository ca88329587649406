"""The simulator's WebSocket API beyond orders: the user data stream's listen key
(``userDataStream.start/ping/stop``, HMAC-signed or after an Ed25519 ``session.logon``) and algo
orders (``algoOrder.place/cancel``), plus the 2025-2026 venue rules on conditional orders
(``ia``, trigger rejections in ALGO_UPDATE, the account-wide cap with -4045).

A key made over the WS API is the account's one key, the same as ``POST /fapi/v1/listenKey`` gives,
and expires, is extended and is deleted the same way: the fault routes (``/sim/listen-keys/expire``,
``/sim/fail`` with ``method="WS"``) apply to it as they do to REST."""

from __future__ import annotations

import itertools
import time
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from adapters.sim.binance.signing import (
    ed25519_sign_b64,
    hmac_sha256_hex,
    load_private_key_pem,
    ws_sign_payload,
)
from adapters.sim.server import SimVenue
from tests.conftest import BinanceTestClient

_ids = itertools.count(1)


def signed(sim: SimVenue, **params: Any) -> dict[str, Any]:
    params = {"apiKey": sim.api_key, "timestamp": int(time.time() * 1000), **params}
    params["signature"] = hmac_sha256_hex(sim.api_secret, ws_sign_payload(params))
    return params


async def call(ws: Any, json_next: Any, method: str, params: dict[str, Any] | None = None) -> Any:
    req_id = f"ud-{next(_ids)}"
    await ws.send_json({"id": req_id, "method": method, "params": params or {}})
    return await json_next(ws, lambda m: m.get("id") == req_id)


async def user_socket(bclient: BinanceTestClient, key: str) -> aiohttp.ClientWebSocketResponse:
    return await bclient.ws(f"/private/ws?listenKey={key}")


def key_state(sim: SimVenue) -> list[dict[str, Any]]:
    return list(sim.state()["listen_keys"])


# ------------------------------------------------------------------------------------------------
# userDataStream.start / ping / stop
# ------------------------------------------------------------------------------------------------
async def test_start_ping_stop_share_the_accounts_one_key_with_rest(
    bclient: BinanceTestClient, binance_sim: SimVenue, json_next: Any
) -> None:
    api = await bclient.ws("/ws-fapi/v1")
    try:
        started = await call(api, json_next, "userDataStream.start", signed(binance_sim))
        assert started["status"] == 200, started
        key = started["result"]["listenKey"]
        assert len(key) == 64
        assert await bclient.listen_key() == key  # REST POST returns (and extends) the same key
        again = await call(api, json_next, "userDataStream.start", signed(binance_sim))
        assert again["result"]["listenKey"] == key
        before = key_state(binance_sim)[0]["expires_ms"]
        pinged = await call(api, json_next, "userDataStream.ping", signed(binance_sim, listenKey=key))
        assert pinged["status"] == 200 and pinged["result"]["listenKey"] == key
        assert key_state(binance_sim)[0]["expires_ms"] >= before
        stream = await user_socket(bclient, key)
        stopped = await call(api, json_next, "userDataStream.stop", signed(binance_sim, listenKey=key))
        assert (stopped["status"], stopped["result"]) == (200, {})
        closed = await stream.receive(timeout=5)  # like REST DELETE: the key's streams close
        assert closed.type is aiohttp.WSMsgType.CLOSE
        gone = await call(api, json_next, "userDataStream.ping", signed(binance_sim, listenKey=key))
        assert (gone["status"], gone["error"]["code"]) == (400, -1125)
        status, _, body = await bclient.signed("PUT", "/fapi/v1/listenKey", listenKey=key)
        assert (status, body["code"]) == (400, -1125)
        unsigned = await call(api, json_next, "userDataStream.start", {"timestamp": int(time.time() * 1000)})
        assert unsigned["error"]["code"] == -1102  # no session, no apiKey
    finally:
        await api.close()
    requests = binance_sim.dialect.requests.requests
    assert requests["WS userDataStream.start"] == 3 and requests["WS userDataStream.ping"] == 2


async def test_start_after_an_ed25519_session_logon_needs_no_signature(
    bclient: BinanceTestClient, binance_sim: SimVenue, json_next: Any
) -> None:
    private = load_private_key_pem(binance_sim.ed25519_private_key_pem)
    api = await bclient.ws("/ws-fapi/v1")
    try:
        logon = {"apiKey": binance_sim.ed25519_api_key, "timestamp": int(time.time() * 1000)}
        logon["signature"] = ed25519_sign_b64(private, ws_sign_payload(logon))
        assert (await call(api, json_next, "session.logon", logon))["status"] == 200
        now = {"timestamp": int(time.time() * 1000)}
        started = await call(api, json_next, "userDataStream.start", now)
        key = started["result"]["listenKey"]
        assert key == await bclient.listen_key()  # the Ed25519 key belongs to the same account
        pinged = await call(api, json_next, "userDataStream.ping", {**now, "listenKey": key})
        assert pinged["status"] == 200
    finally:
        await api.close()


async def test_the_expire_fault_expires_a_key_made_over_the_ws_api(
    bclient: BinanceTestClient, binance_sim: SimVenue, json_next: Any
) -> None:
    api = await bclient.ws("/ws-fapi/v1")
    try:
        key = (await call(api, json_next, "userDataStream.start", signed(binance_sim)))["result"]["listenKey"]
        stream = await user_socket(bclient, key)
        await bclient.wait_user_sockets(1)
        assert (await bclient.control("/sim/listen-keys/expire"))["expired"] == 1
        expired = await json_next(stream)
        assert expired["e"] == "listenKeyExpired" and expired["listenKey"] == key
        pinged = await call(api, json_next, "userDataStream.ping", signed(binance_sim, listenKey=key))
        assert pinged["error"]["code"] == -1125
        fresh = (await call(api, json_next, "userDataStream.start", signed(binance_sim)))["result"]
        assert fresh["listenKey"] != key
        await stream.close()
    finally:
        await api.close()


async def test_a_key_made_over_the_ws_api_expires_after_its_lifetime(json_next: Any) -> None:
    async with (
        SimVenue(seed=3, step_interval=3600.0, listen_key_ttl=0.3) as sim,
        aiohttp.ClientSession() as s,
    ):
        client = BinanceTestClient(sim, s)
        api = await client.ws("/ws-fapi/v1")
        try:
            key = (await call(api, json_next, "userDataStream.start", signed(sim)))["result"]["listenKey"]
            stream = await user_socket(client, key)
            expired = await json_next(stream)
            assert expired["e"] == "listenKeyExpired" and expired["listenKey"] == key
            late = await call(api, json_next, "userDataStream.ping", signed(sim, listenKey=key))
            assert late["error"]["code"] == -1125
            await stream.close()
        finally:
            await api.close()


async def test_fail_rules_apply_to_user_data_stream_requests(
    bclient: BinanceTestClient, binance_sim: SimVenue, json_next: Any
) -> None:
    api = await bclient.ws("/ws-fapi/v1")
    try:
        key = (await call(api, json_next, "userDataStream.start", signed(binance_sim)))["result"]["listenKey"]
        await bclient.control(
            "/sim/fail", {"method": "WS", "path": "userDataStream.ping", "status": 400, "code": -1125}
        )
        refused = await call(api, json_next, "userDataStream.ping", signed(binance_sim, listenKey=key))
        assert (refused["status"], refused["error"]["code"]) == (400, -1125)
        ok = await call(api, json_next, "userDataStream.ping", signed(binance_sim, listenKey=key))
        assert ok["status"] == 200  # count=1: the rule is spent, the key itself is fine
        await bclient.control("/sim/fail", {"method": "WS", "path": "userDataStream.start", "status": 0})
        await api.send_json({"id": "cut", "method": "userDataStream.start", "params": signed(binance_sim)})
        cut = await api.receive(timeout=5)
        assert cut.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    finally:
        await api.close()


# ------------------------------------------------------------------------------------------------
# algoOrder.place / algoOrder.cancel and the 2025-2026 conditional-order rules
# ------------------------------------------------------------------------------------------------
def _above(sim: SimVenue, factor: str = "1.05") -> str:
    return str((sim.engine.last_price("BTCUSDT") * Decimal(factor)).quantize(Decimal("0.1")))


def algo_params(sim: SimVenue, cid: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "algoType": "CONDITIONAL",
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "STOP_MARKET",
        "quantity": "0.010",
        "triggerPrice": _above(sim),
        "clientAlgoId": cid,
    }
    base.update(extra)
    return signed(sim, **base)


async def test_algo_order_place_and_cancel_over_the_ws_api(
    bclient: BinanceTestClient, binance_sim: SimVenue, json_next: Any
) -> None:
    key = await bclient.listen_key()
    stream = await user_socket(bclient, key)
    api = await bclient.ws("/ws-fapi/v1")
    try:
        placed = await call(api, json_next, "algoOrder.place", algo_params(binance_sim, "wsa-1"))
        assert placed["status"] == 200, placed
        result = placed["result"]
        assert result["clientAlgoId"] == "wsa-1" and result["algoStatus"] == "NEW"
        assert {r["rateLimitType"] for r in placed["rateLimits"]} == {"REQUEST_WEIGHT", "ORDERS"}
        new = await json_next(stream, lambda m: m.get("e") == "ALGO_UPDATE")
        assert new["o"]["caid"] == "wsa-1" and new["o"]["X"] == "NEW" and new["o"]["ia"] is True
        canceled = await call(api, json_next, "algoOrder.cancel", signed(binance_sim, clientAlgoId="wsa-1"))
        assert canceled["status"] == 200 and canceled["result"]["algoId"] == result["algoId"]
        again = await call(api, json_next, "algoOrder.cancel", signed(binance_sim, clientAlgoId="wsa-1"))
        assert again["status"] == 400  # already final
        update = await json_next(stream, lambda m: m.get("e") == "ALGO_UPDATE" and m["o"]["X"] != "NEW")
        assert update["o"]["X"] == "CANCELED"
    finally:
        await api.close()
        await stream.close()


async def test_open_conditional_orders_are_capped_account_wide_with_4045(
    bclient: BinanceTestClient, binance_sim: SimVenue, json_next: Any
) -> None:
    """2025-12-29 change log: MAX_NUM_ALGO_ORDERS left exchangeInfo; the cap is 200 open
    conditional orders across all symbols. The cap is lowered to 3 here (a setting)."""
    assert binance_sim.binance is not None
    assert binance_sim.binance.settings.max_open_conditional_orders == 200
    binance_sim.binance.settings.max_open_conditional_orders = 3
    _, _, info = await bclient.public("/fapi/v1/exchangeInfo")
    filters = {f["filterType"] for s in info["symbols"] for f in s["filters"]}
    assert "MAX_NUM_ALGO_ORDERS" not in filters
    eth_trigger = str((binance_sim.engine.last_price("ETHUSDT") * Decimal("1.05")).quantize(Decimal("0.01")))
    for i in range(2):
        status, _, body = await bclient.signed(
            "POST",
            "/fapi/v1/algoOrder",
            **{
                k: v
                for k, v in algo_params(binance_sim, f"c-{i}").items()
                if k not in ("apiKey", "signature", "timestamp")
            },
        )
        assert status == 200, body
    status, _, body = await bclient.signed(  # another symbol counts towards the same cap
        "POST",
        "/fapi/v1/algoOrder",
        algoType="CONDITIONAL",
        symbol="ETHUSDT",
        side="BUY",
        type="STOP_MARKET",
        quantity="0.100",
        triggerPrice=eth_trigger,
        clientAlgoId="c-eth",
    )
    assert status == 200, body
    api = await bclient.ws("/ws-fapi/v1")
    try:
        over = await call(api, json_next, "algoOrder.place", algo_params(binance_sim, "c-over"))
        assert (over["status"], over["error"]) == (400, {"code": -4045, "msg": "Reach max stop order limit."})
        status, _, body = await bclient.signed(
            "POST",
            "/fapi/v1/algoOrder",
            **{
                k: v
                for k, v in algo_params(binance_sim, "c-over").items()
                if k not in ("apiKey", "signature", "timestamp")
            },
        )
        assert (status, body["code"]) == (400, -4045)
        # Regular orders are not conditional orders: not capped by it.
        status, _, body = await bclient.signed(
            "POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010"
        )
        assert status == 200, body
        await call(api, json_next, "algoOrder.cancel", signed(binance_sim, clientAlgoId="c-0"))
        room = await call(api, json_next, "algoOrder.place", algo_params(binance_sim, "c-after"))
        assert room["status"] == 200, room
    finally:
        await api.close()
    assert binance_sim.engine.open_algo_count(binance_sim.account_id) == 3


async def test_a_trigger_rejection_arrives_in_algo_update_not_conditional_order_trigger_reject(
    bclient: BinanceTestClient, binance_sim: SimVenue, json_next: Any
) -> None:
    """2025-12-10 change log: CONDITIONAL_ORDER_TRIGGER_REJECT is deprecated from 2025-12-15; a
    conditional order's rejection reason comes in ALGO_UPDATE."""
    key = await bclient.listen_key()
    stream = await user_socket(bclient, key)
    try:
        trigger = _above(binance_sim)
        # Far more than the margin allows once it triggers (checked at trigger, not at placement).
        status, _, body = await bclient.signed(
            "POST",
            "/fapi/v1/algoOrder",
            algoType="CONDITIONAL",
            symbol="BTCUSDT",
            side="BUY",
            type="STOP_MARKET",
            quantity="40",
            triggerPrice=trigger,
            clientAlgoId="rej-1",
        )
        assert status == 200, body
        binance_sim.faults.set_price("BTCUSDT", Decimal(trigger) + 10)
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1].get("o", {}).get("X") not in ("REJECTED", "TRIGGERED"):
            seen.append(await json_next(stream))
        assert all(m["e"] != "CONDITIONAL_ORDER_TRIGGER_REJECT" for m in seen)
        rejected = seen[-1]
        assert rejected["e"] == "ALGO_UPDATE" and rejected["o"]["X"] == "REJECTED"
        assert rejected["o"]["caid"] == "rej-1" and rejected["o"]["rm"]
    finally:
        await stream.close()


async def test_ia_is_false_until_a_trailing_stop_activates_then_a_second_new_says_true(
    bclient: BinanceTestClient, binance_sim: SimVenue, json_next: Any
) -> None:
    """2026-08-21 change log: ``ia`` of ALGO_UPDATE; a trailing stop sends NEW with ia=false, then
    another NEW with ia=true when it reaches its activation price, before it triggers."""
    key = await bclient.listen_key()
    stream = await user_socket(bclient, key)
    try:
        activate = _above(binance_sim, "1.01")
        status, _, body = await bclient.signed(
            "POST",
            "/fapi/v1/algoOrder",
            algoType="CONDITIONAL",
            symbol="BTCUSDT",
            side="SELL",
            type="TRAILING_STOP_MARKET",
            quantity="0.010",
            activatePrice=activate,
            callbackRate="1",
            clientAlgoId="trail-1",
        )
        assert status == 200, body
        first = await json_next(stream, lambda m: m.get("e") == "ALGO_UPDATE")
        assert (first["o"]["X"], first["o"]["ia"]) == ("NEW", False)
        binance_sim.faults.set_price("BTCUSDT", Decimal(activate) + 5)
        second = await json_next(stream, lambda m: m.get("e") == "ALGO_UPDATE")
        assert (second["o"]["X"], second["o"]["ia"]) == ("NEW", True)
        assert second["o"]["aid"] == first["o"]["aid"]
    finally:
        await stream.close()


@pytest.mark.parametrize("method", ["algoOrder.place", "algoOrder.cancel"])
def test_algo_methods_are_weighted_and_counted_as_orders(method: str) -> None:
    from adapters.sim.binance.ws_api import ORDER_METHODS, WEIGHTS

    assert method in WEIGHTS
    assert (method in ORDER_METHODS) == (method == "algoOrder.place")


@pytest.mark.parametrize(("rate", "ok"), [("15", True), ("20", True), ("20.1", False)])
async def test_trailing_callback_rate_up_to_20_since_2026_10_23(
    bclient: BinanceTestClient, binance_sim: SimVenue, json_next: Any, rate: str, ok: bool
) -> None:
    """Change log 2026-10-23: the maximum callbackRate of TRAILING_STOP_MARKET is 20 (was 10), for
    POST /fapi/v1/algoOrder and the WS API's algoOrder.place."""
    api = await bclient.ws("/ws-fapi/v1")
    try:
        params = algo_params(binance_sim, f"cr-{rate}", type="TRAILING_STOP_MARKET", callbackRate=rate)
        params = {k: v for k, v in params.items() if k not in ("triggerPrice", "signature")}
        params["signature"] = hmac_sha256_hex(binance_sim.api_secret, ws_sign_payload(params))
        placed = await call(api, json_next, "algoOrder.place", params)
        assert (placed["status"] == 200) is ok, placed
    finally:
        await api.close()
