"""BingX signing: HMAC-SHA256 test vectors (the first two are the 2023 official docs' own,
BingX-API/BingX-swap-api-v2-doc), and the server's auth checks in order
(API key 100413, null signature 100412, timestamp 100421, signature 100001), all with HTTP 200."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from adapters.sim.bingx.client import BingxTestClient
from adapters.sim.bingx.errors import BingxError
from adapters.sim.bingx.signing import KeyStore, authenticate, payload_candidates, sign
from adapters.sim.server import SimVenue

SECRET = "mheO6dR8ovSsxZQCOYEFCtelpuxcWGTfHw7te326y6jOwq5WpvFQ9JNljoTwBXZGv5It07m9RXSPpDQEK2w"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            "symbol=BTC-USDT&timestamp=1667872120843&side=LONG&leverage=6",
            "4f581ecdb1fa09b9d6e57886b6f70cffed17f82b93399722939e49a38edec2bf",
        ),
        (
            "symbol=BTC-USDT&timestamp=1668159715051side=LONG&leverage=6",
            "8b756b01e7a30f02e19c58a91ab01b29528694316b08a51ecb8dd072942bd47d",
        ),
        (
            "recvWindow=0&symbol=BTC-USDT&timestamp=1696751141337",
            "f8d883609dfd31c824feb4de865b071008dedb1d461451fa70847875c8e7a7a2",
        ),
        (
            "recvWindow=0&subAccountString=abc12345&timestamp=1696751141337",
            "8d0d3ea9b592be3678c33332ab13e9102e093e67255921e15a581146c87c272f",
        ),
    ],
)
def test_signature_vectors(payload: str, expected: str) -> None:
    assert sign(SECRET, payload) == expected


def test_nautilus_fork_golden_vector() -> None:
    payload = "price=50000&quantity=0.001&side=BUY&symbol=BTC-USDT&timestamp=1700000000000&type=LIMIT"
    assert (
        sign("testsecret_short", payload)
        == "1d4496992901d0c59df846515d63e3cbd0b900d769371278b55585b38729aefe"
    )


def test_server_verifies_unsorted_and_query_plus_body_vectors() -> None:
    keys = KeyStore()
    keys.add("k", SECRET, "acct")
    # The 2023 official docs' vector 1 (BingX-swap-api-v2-doc): the order as sent, not sorted.
    q = "symbol=BTC-USDT&timestamp=1667872120843&side=LONG&leverage=6"
    sig = "4f581ecdb1fa09b9d6e57886b6f70cffed17f82b93399722939e49a38edec2bf"
    params = {"timestamp": "1667872120843"}
    assert authenticate(keys, "k", f"{q}&signature={sig}", "", params, 1667872120843).account_id == "acct"
    # The 2023 official docs' vector 2: query + form body joined without '&'.
    sig2 = "8b756b01e7a30f02e19c58a91ab01b29528694316b08a51ecb8dd072942bd47d"
    key = authenticate(
        keys,
        "k",
        "symbol=BTC-USDT&timestamp=1668159715051",
        f"side=LONG&leverage=6&signature={sig2}",
        {"timestamp": "1668159715051"},
        1668159715051,
    )
    assert key.account_id == "acct"
    # The sorted string is a different signature: the server does not re-sort.
    with pytest.raises(BingxError) as exc:
        authenticate(
            keys,
            "k",
            f"leverage=6&side=LONG&symbol=BTC-USDT&timestamp=1667872120843&signature={sig}",
            "",
            params,
            1667872120843,
        )
    assert exc.value.code == 100001


def test_payload_candidates_accept_raw_or_percent_decoded() -> None:
    payloads, sig = payload_candidates("batchOrders=%5B%7B%22a%22%3A1%7D%5D&timestamp=1&signature=ab", "")
    assert sig == "ab"
    assert payloads == [
        "batchOrders=%5B%7B%22a%22%3A1%7D%5D&timestamp=1",
        'batchOrders=[{"a":1}]&timestamp=1',
    ]


@pytest.fixture
async def client() -> AsyncIterator[BingxTestClient]:
    async with SimVenue("bingx", seed=2, step_interval=3600.0) as sim, aiohttp.ClientSession() as session:
        yield BingxTestClient(sim.rest_url, sim.ws_market_url, sim.api_key, sim.api_secret, session)


async def test_signed_request_ok_raw_and_encoded(client: BingxTestClient) -> None:
    assert isinstance(await client.ok("GET", "/openApi/swap/v2/user/positions"), list)
    # CCXT style: sign the raw values, send them percent-encoded.
    status, _, body = await client.signed(
        "GET", "/openApi/swap/v2/trade/openOrders", encode=True, symbol="BTC-USDT", recvWindow=5000
    )
    assert status == 200 and body == {"code": 0, "msg": "", "data": {"orders": []}}


async def _expect(client: BingxTestClient, code: int, **kwargs: Any) -> dict[str, Any]:
    status, _, body = await client.signed("GET", "/openApi/swap/v2/user/positions", **kwargs)
    assert status == 200 and body["code"] == code, body  # business errors come with HTTP 200
    return dict(body)


async def test_auth_errors(client: BingxTestClient) -> None:
    body = await _expect(client, 100413, api_key="not-a-key")
    assert body["msg"] == "Incorrect apiKey"
    body = await _expect(client, 100421, timestamp=int(time.time() * 1000) - 6000)
    assert "timestamp" in body["msg"] and isinstance(body["timestamp"], int)
    await _expect(client, 0, timestamp=int(time.time() * 1000) - 6000, recvWindow=10000)  # widened
    await _expect(client, 100421, timestamp=int(time.time() * 1000) + 5000)  # from the future
    secret, client.api_secret = client.api_secret, "wrong-secret"
    try:
        body = await _expect(client, 100001)
        assert body["msg"].startswith("Signature verification failed")
    finally:
        client.api_secret = secret
    url = f"{client.rest_url}/openApi/swap/v2/user/positions?timestamp={int(time.time() * 1000)}"
    async with client.session.get(url, headers={"X-BX-APIKEY": client.api_key}) as r:
        assert r.status == 200 and (await r.json())["code"] == 100412


async def test_clock_skew_fault_causes_100421(client: BingxTestClient) -> None:
    await client.control("/sim/clock", {"skew_ms": 20_000})
    await _expect(client, 100421)
    status, _, body = await client.public("/openApi/swap/v2/server/time")
    assert status == 200
    assert body["data"]["serverTime"] - int(time.time() * 1000) > 15_000
    await _expect(client, 0, timestamp=body["data"]["serverTime"])  # a client that syncs recovers
