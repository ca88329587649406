"""Binance request signing as the simulator verifies it: HMAC-SHA256 hex and Ed25519 base64 over
the exact query string + body, timestamp/recvWindow, and the key errors."""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import quote, urlencode

import msgspec

from adapters.sim.binance.signing import (
    ed25519_sign_b64,
    hmac_sha256_hex,
    load_private_key_pem,
    split_signature,
    ws_sign_payload,
)

DOC_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_QUERY = "&".join(
    [
        "symbol=LTCBTC",
        "side=BUY",
        "type=LIMIT",
        "timeInForce=GTC",
        "quantity=1",
        "price=0.1",
        "recvWindow=5000",
        "timestamp=1499827319559",
    ]
)
DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_binance_documented_hmac_example() -> None:
    assert hmac_sha256_hex(DOC_SECRET, DOC_QUERY) == DOC_SIGNATURE


def test_signature_is_removed_from_query_and_body_and_parts_concatenate() -> None:
    # Binance's mixed example: totalParams = query + body with no separator.
    payload, sig = split_signature(
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
        "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=abc",
    )
    assert sig == "abc"
    assert payload == (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTCquantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    )


def test_documented_key_accepted_by_a_venue_keystore() -> None:
    from adapters.sim.binance.signing import KeyStore, authenticate_rest

    keys = KeyStore()
    keys.add_hmac(DOC_KEY, DOC_SECRET, "acct")
    params = dict(p.split("=") for p in DOC_QUERY.split("&"))
    key = authenticate_rest(
        keys, DOC_KEY, DOC_QUERY + "&signature=" + DOC_SIGNATURE, "", params, 1499827319559
    )
    assert key.account_id == "acct"


async def test_signed_rest_with_hmac_in_query(bclient: Any) -> None:
    status, headers, body = await bclient.signed("GET", "/fapi/v2/balance")
    assert status == 200
    assert body[0]["asset"] == "USDT" and isinstance(body[0]["balance"], str)
    assert int(headers["X-MBX-USED-WEIGHT-1M"]) >= 5


async def test_signed_rest_with_params_in_form_body(bclient: Any, binance_sim: Any) -> None:
    query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
    price = binance_sim.engine.last_price("BTCUSDT") * 8 / 10
    body = urlencode({"quantity": "0.010", "price": f"{price:.1f}", "timestamp": int(time.time() * 1000)})
    sig = hmac_sha256_hex(binance_sim.api_secret, query + body)
    async with bclient.session.post(
        f"{binance_sim.rest_url}/fapi/v1/order?{query}",
        data=body + "&signature=" + sig,
        headers={"X-MBX-APIKEY": binance_sim.api_key, "Content-Type": "application/x-www-form-urlencoded"},
    ) as r:
        data = msgspec.json.decode(await r.read())
        assert r.status == 200, data
    assert data["status"] == "NEW" and data["origQty"] == "0.010"


async def test_ed25519_signed_request(bclient: Any, binance_sim: Any) -> None:
    private = load_private_key_pem(binance_sim.ed25519_private_key_pem)
    query = urlencode({"timestamp": int(time.time() * 1000), "recvWindow": 5000})
    sig = ed25519_sign_b64(private, query)
    url = f"{binance_sim.rest_url}/fapi/v2/balance?{query}&signature={quote(sig, safe='')}"
    async with bclient.session.get(url, headers={"X-MBX-APIKEY": binance_sim.ed25519_api_key}) as r:
        assert r.status == 200, await r.text()
    # The same signature over different params is rejected.
    bad = f"{binance_sim.rest_url}/fapi/v2/balance?{query}&limit=1&signature={quote(sig, safe='')}"
    async with bclient.session.get(bad, headers={"X-MBX-APIKEY": binance_sim.ed25519_api_key}) as r:
        assert r.status == 400
        assert msgspec.json.decode(await r.read())["code"] == -1022
    assert base64.b64decode(sig)  # base64, as Binance expects


async def test_timestamp_outside_recv_window_is_1021(bclient: Any) -> None:
    status, _, body = await bclient.signed(
        "GET", "/fapi/v2/balance", timestamp=int(time.time() * 1000) - 10_000
    )
    assert (status, body["code"]) == (400, -1021)
    assert body["msg"] == "Timestamp for this request is outside of the recvWindow."
    status, _, body = await bclient.signed(
        "GET", "/fapi/v2/balance", timestamp=int(time.time() * 1000) + 5_000
    )
    assert (status, body["code"]) == (400, -1021)
    status, _, body = await bclient.signed(
        "GET", "/fapi/v2/balance", timestamp=int(time.time() * 1000) - 10_000, recvWindow=20_000
    )
    assert status == 200


async def test_bad_signature_is_1022_and_unknown_key_is_2015(bclient: Any, binance_sim: Any) -> None:
    status, _, body = await bclient.signed("GET", "/fapi/v2/balance", secret="not-the-secret")
    assert (status, body) == (400, {"code": -1022, "msg": "Signature for this request is not valid."})
    status, _, body = await bclient.signed("GET", "/fapi/v2/balance", api_key="unknown-key")
    assert (status, body["code"]) == (401, -2015)
    async with bclient.session.get(f"{binance_sim.rest_url}/fapi/v2/balance?timestamp=1") as r:
        assert r.status == 401
        assert msgspec.json.decode(await r.read())["code"] == -2014
    query = urlencode({"timestamp": int(time.time() * 1000)})
    async with bclient.session.get(
        f"{binance_sim.rest_url}/fapi/v2/balance?{query}", headers={"X-MBX-APIKEY": binance_sim.api_key}
    ) as r:
        assert r.status == 400
        assert msgspec.json.decode(await r.read())["code"] == -1102


def test_ws_payload_is_sorted_params_without_signature() -> None:
    params = {"symbol": "BTCUSDT", "apiKey": "k", "timestamp": 1, "reduceOnly": False, "signature": "x"}
    assert ws_sign_payload(params) == "apiKey=k&reduceOnly=false&symbol=BTCUSDT&timestamp=1"
