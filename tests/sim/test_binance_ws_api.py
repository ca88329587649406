"""The WebSocket trading API (``/ws-fapi/v1``): per-request signing, session.logon with an
Ed25519 key, order place/status/modify/cancel, errors and rate-limit reporting."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from adapters.sim.binance.signing import (
    ed25519_sign_b64,
    load_private_key_pem,
    ws_sign_payload,
)
from adapters.sim.server import SimVenue
from tests.sim.binance_ws_calls import call, hmac_params


async def test_place_status_modify_cancel_with_hmac(
    bclient: Any, binance_sim: SimVenue, json_next: Any
) -> None:
    price = str((binance_sim.engine.last_price("BTCUSDT") * Decimal("0.9")).quantize(Decimal("0.1")))
    ws = await bclient.ws("/ws-fapi/v1")
    try:
        placed = await call(
            ws,
            json_next,
            "order.place",
            hmac_params(
                binance_sim,
                symbol="BTCUSDT",
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity="0.010",
                price=price,
                newClientOrderId="ws-1",
            ),
        )
        assert placed["status"] == 200, placed
        assert placed["result"]["status"] == "NEW" and placed["result"]["clientOrderId"] == "ws-1"
        kinds = {r["rateLimitType"] for r in placed["rateLimits"]}
        assert kinds == {"REQUEST_WEIGHT", "ORDERS"}
        oid = placed["result"]["orderId"]
        status = await call(
            ws, json_next, "order.status", hmac_params(binance_sim, symbol="BTCUSDT", orderId=oid)
        )
        assert status["result"]["orderId"] == oid and status["result"]["status"] == "NEW"
        modified = await call(
            ws,
            json_next,
            "order.modify",
            hmac_params(
                binance_sim, symbol="BTCUSDT", orderId=oid, side="BUY", quantity="0.020", price=price
            ),
        )
        assert modified["status"] == 200 and modified["result"]["origQty"] == "0.020"
        canceled = await call(
            ws,
            json_next,
            "order.cancel",
            hmac_params(binance_sim, symbol="BTCUSDT", origClientOrderId="ws-1"),
        )
        assert canceled["result"]["status"] == "CANCELED"
        again = await call(
            ws, json_next, "order.cancel", hmac_params(binance_sim, symbol="BTCUSDT", orderId=oid)
        )
        assert again["status"] == 400 and again["error"]["code"] == -2011 and "result" not in again
        algo_type = await call(
            ws,
            json_next,
            "order.place",
            hmac_params(
                binance_sim,
                symbol="BTCUSDT",
                side="BUY",
                type="STOP_MARKET",
                quantity="0.010",
                stopPrice="99999",
            ),
        )
        assert algo_type["error"]["code"] == -4120
        bad = hmac_params(binance_sim, symbol="BTCUSDT", orderId=oid)
        bad["symbol"] = "ETHUSDT"
        rejected = await call(ws, json_next, "order.status", bad)
        assert rejected["error"]["code"] == -1022
        unsigned = await call(
            ws,
            json_next,
            "order.status",
            {"symbol": "BTCUSDT", "orderId": oid, "timestamp": int(time.time() * 1000)},
        )
        assert unsigned["error"]["code"] == -1102  # no session, no apiKey
    finally:
        await ws.close()
    assert (
        binance_sim.engine.get_order(binance_sim.account_id, "BTCUSDT", order_id=oid).status.value
        == "CANCELED"
    )


async def test_session_logon_with_ed25519(bclient: Any, binance_sim: SimVenue, json_next: Any) -> None:
    private = load_private_key_pem(binance_sim.ed25519_private_key_pem)
    ws = await bclient.ws("/ws-fapi/v1")
    try:
        assert (await call(ws, json_next, "ping"))["result"] == {}
        assert isinstance((await call(ws, json_next, "time"))["result"]["serverTime"], int)
        hmac_logon = await call(ws, json_next, "session.logon", hmac_params(binance_sim))
        assert hmac_logon["status"] == 400 and hmac_logon["error"]["code"] == -4056
        logon = {"apiKey": binance_sim.ed25519_api_key, "timestamp": int(time.time() * 1000)}
        logon["signature"] = ed25519_sign_b64(private, ws_sign_payload(logon))
        res = await call(ws, json_next, "session.logon", logon)
        assert res["status"] == 200 and res["result"]["apiKey"] == binance_sim.ed25519_api_key
        status = await call(ws, json_next, "session.status")
        assert status["result"]["apiKey"] == binance_sim.ed25519_api_key
        placed = await call(
            ws,
            json_next,
            "order.place",
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "MARKET",
                "quantity": "0.010",
                "newOrderRespType": "RESULT",
                "timestamp": int(time.time() * 1000),
            },
        )
        assert placed["status"] == 200 and placed["result"]["status"] == "FILLED"
        stale = await call(
            ws,
            json_next,
            "order.status",
            {
                "symbol": "BTCUSDT",
                "orderId": placed["result"]["orderId"],
                "timestamp": int(time.time() * 1000) - 60_000,
            },
        )
        assert stale["error"]["code"] == -1021
        out = await call(ws, json_next, "session.logout")
        assert out["result"]["apiKey"] is None
        after = await call(
            ws,
            json_next,
            "order.status",
            {"symbol": "BTCUSDT", "orderId": 1, "timestamp": int(time.time() * 1000)},
        )
        assert after["error"]["code"] == -1102
    finally:
        await ws.close()
