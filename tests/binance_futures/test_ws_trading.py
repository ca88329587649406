"""The WS trading API client against the simulator's ``/ws-fapi/v1``: round trips with every key
encoding, liveness (pong withheld -> reconnect + re-auth), requests in flight when the socket dies,
-1007, the retry cap and the REST hand-over state, rate limits, and secrets never echoed."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from adapters.binance_futures.credentials import BinanceSigner, CredentialError
from adapters.binance_futures.errors import BinanceAmbiguous, BinanceRejection
from adapters.binance_futures.rate_limit import RateLimitTracker
from adapters.binance_futures.ws_trading import (
    BinanceWsTradingClient,
    WsNotSent,
    WsTradingSettings,
    WsTradingState,
)
from adapters.sim.binance.signing import load_private_key_pem
from adapters.sim.server import SimVenue

FAST: dict[str, Any] = {
    "ping_interval": 0.1,
    "pong_timeout": 0.3,
    "app_ping_interval": 0.1,
    "request_timeout": 2.0,
    "connect_timeout": 2.0,
    "backoff_initial": 0.02,
    "backoff_cap": 0.1,
    "max_reconnect_attempts": 3,
    "metrics_log_interval": 0.05,
}


async def wait_for(cond: Callable[[], bool], within: float = 5.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not cond():
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def secrets_of(sim: SimVenue, encoding: str) -> tuple[str, str]:
    if encoding == "hmac":
        return sim.api_key, sim.api_secret
    pem = sim.ed25519_private_key_pem
    if encoding == "pem":
        return sim.ed25519_api_key, pem
    key = load_private_key_pem(pem)
    if encoding == "der":
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return sim.ed25519_api_key, base64.b64encode(der).decode()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return sim.ed25519_api_key, base64.b64encode(raw).decode()


def make_client(sim: SimVenue, encoding: str = "hmac", **overrides: Any) -> BinanceWsTradingClient:
    api_key, secret = secrets_of(sim, encoding)
    settings = WsTradingSettings(url=sim.ws_api_url, **{**FAST, **overrides})
    return BinanceWsTradingClient(
        settings, api_key=api_key, signer=BinanceSigner(secret), rate_limiter=RateLimitTracker()
    )


@pytest.fixture
async def sim() -> AsyncIterator[SimVenue]:
    async with SimVenue(seed=3, step_interval=3600.0) as venue:
        yield venue


def below_market(sim: SimVenue, factor: str = "0.9") -> str:
    return str((sim.engine.last_price("BTCUSDT") * Decimal(factor)).quantize(Decimal("0.1")))


def venue_orders(sim: SimVenue, cid: str) -> list[dict[str, Any]]:
    return [o for o in sim.state()["orders"] if o["client_order_id"] == cid]


def api_conns(sim: SimVenue) -> list[dict[str, Any]]:
    return [c for c in sim.state()["connections"] if c["kind"] == "api"]


@pytest.mark.parametrize("encoding", ["hmac", "pem", "der", "raw"])
async def test_round_trip_with_every_key_encoding(sim: SimVenue, encoding: str) -> None:
    client = make_client(sim, encoding)
    try:
        assert await client.start()
        assert client.logged_on is (encoding != "hmac")  # Ed25519 -> session.logon
        price = below_market(sim)
        cid = f"ws-{encoding}"
        placed = await client.new_order(
            "BTCUSDT", "BUY", "LIMIT", quantity="0.010", price=price, time_in_force="GTC",
            new_client_order_id=cid,
        )  # fmt: skip
        assert placed.status == "NEW" and placed.clientOrderId == cid
        status = await client.query_order("BTCUSDT", orig_client_order_id=cid)
        assert status.orderId == placed.orderId and status.status == "NEW"
        modified = await client.modify_order("BTCUSDT", "BUY", "0.020", price, orig_client_order_id=cid)
        assert modified.origQty == "0.020"
        canceled = await client.cancel_order("BTCUSDT", order_id=placed.orderId)
        assert canceled.status == "CANCELED"
        with pytest.raises(BinanceRejection) as err:
            await client.cancel_order("BTCUSDT", order_id=placed.orderId)
        assert err.value.is_unknown_order
        [venue] = venue_orders(sim, cid)
        assert venue["status"] == "CANCELED" and Decimal(venue["qty"]) == Decimal("0.020")
        # rateLimits of the responses fed the shared tracker (same accounting as REST headers).
        assert client.rate_limiter.orders_10s.current(client._now_ms()) >= 2
        assert client.rate_limiter.used_weight_1m > 0
        m = client.metrics()
        assert m.requests_by_method["order.place"] == 1 and m.requests_by_method["order.cancel"] == 2
        assert m.latency_mean is not None and m.latency_p99 is not None and m.timeouts == 0
        assert m.logons == (0 if encoding == "hmac" else 1)
        h = client.health()
        assert h.is_healthy and h.state is WsTradingState.READY and h.authenticated
        assert h.connected_since is not None
        assert [c["logged_on"] for c in api_conns(sim)] == [encoding != "hmac"]
    finally:
        await client.close()
    assert client.state is WsTradingState.CLOSED and not client.is_ready


async def test_secrets_never_echoed(sim: SimVenue) -> None:
    bogus = "not a key at all \u00e9"
    with pytest.raises(CredentialError) as err:
        BinanceSigner(bogus)
    assert bogus not in str(err.value)
    client = make_client(sim, "pem")
    assert sim.ed25519_private_key_pem not in repr(client)
    assert sim.ed25519_api_key not in repr(client)


async def test_rejection_is_definite_and_minus_1007_is_ambiguous(sim: SimVenue) -> None:
    client = make_client(sim)
    try:
        assert await client.start()
        with pytest.raises(BinanceRejection) as rej:
            await client.new_order("BTCUSDT", "BUY", "STOP_MARKET", quantity="0.010", stop_price="99999")
        assert rej.value.code == -4120
        sim.faults.fail("WS", "order.place", count=1, status=408, code=-1007, after_execute=True)
        with pytest.raises(BinanceAmbiguous) as amb:
            await client.new_order(
                "BTCUSDT", "BUY", "LIMIT", quantity="0.010", price=below_market(sim), time_in_force="GTC",
                new_client_order_id="ws-1007",
            )  # fmt: skip
        assert amb.value.code == -1007
        # The venue did execute it: resolved by query, not re-sent.
        found = await client.query_order("BTCUSDT", orig_client_order_id="ws-1007")
        assert found.status == "NEW" and len(venue_orders(sim, "ws-1007")) == 1
        assert client.is_ready  # an error response does not hurt the socket
    finally:
        await client.close()


async def test_pong_withheld_reconnects_and_reauthenticates(sim: SimVenue) -> None:
    client = make_client(sim, "raw")
    try:
        assert await client.start()
        assert client.metrics().logons == 1
        first = api_conns(sim)[0]["id"]
        sim.faults.stall_streams("api", seconds=30)  # no pong, no ping reply, requests swallowed
        await wait_for(lambda: client.state is not WsTradingState.READY, what="pong timeout noticed")
        with pytest.raises(WsNotSent):  # refused before writing anything: REST may take it
            await client.query_order("BTCUSDT", order_id=1)
        await wait_for(lambda: client.is_ready, what="reconnected and logged on again")
        m = client.metrics()
        assert m.reconnects == 1 and m.logons == 2
        conns = api_conns(sim)
        assert [c["logged_on"] for c in conns if c["id"] != first] == [True]
        placed = await client.new_order("BTCUSDT", "BUY", "MARKET", quantity="0.010")
        assert placed.status in ("NEW", "FILLED")
        await wait_for(lambda: client.health().last_pong_rtt is not None, what="a pong on the new socket")
    finally:
        await client.close()


async def test_requests_in_flight_when_the_socket_dies_are_ambiguous(sim: SimVenue) -> None:
    client = make_client(sim)
    try:
        assert await client.start()
        sim.faults.set_latency(ws_ms=400)  # the venue executes at once, its answers travel slowly
        price = below_market(sim)
        cids = [f"ws-fly-{i}" for i in range(3)]
        calls = [
            asyncio.ensure_future(
                client.new_order(
                    "BTCUSDT", "BUY", "LIMIT", quantity="0.010", price=price, time_in_force="GTC",
                    new_client_order_id=cid,
                )
            )
            for cid in cids
        ]  # fmt: skip
        await wait_for(lambda: all(venue_orders(sim, c) for c in cids), what="venue executed all three")
        assert client.pending_count == 3
        sim.faults.drop_streams("api")
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(r, BinanceAmbiguous) for r in results), results
        assert client.metrics().lost_in_flight == 3 and client.pending_count == 0
        sim.faults.set_latency(ws_ms=0)
        await wait_for(lambda: client.is_ready, what="reconnected")
        for cid in cids:
            found = await client.query_order("BTCUSDT", orig_client_order_id=cid)
            assert found.status == "NEW"
            assert len(venue_orders(sim, cid)) == 1  # never sent twice
    finally:
        await client.close()


async def test_request_timeout_is_ambiguous_and_late_answers_are_dropped(sim: SimVenue) -> None:
    client = make_client(sim, ping_interval=None, app_ping_interval=None, request_timeout=0.15)
    try:
        assert await client.start()
        sim.faults.set_latency(ws_ms=400)
        with pytest.raises(BinanceAmbiguous):
            await client.new_order(
                "BTCUSDT", "BUY", "LIMIT", quantity="0.010", price=below_market(sim), time_in_force="GTC",
                new_client_order_id="ws-late",
            )  # fmt: skip
        assert client.metrics().timeouts == 1
        await wait_for(lambda: client.metrics().late_responses == 1, what="late answer")
        assert client.is_ready and len(venue_orders(sim, "ws-late")) == 1
    finally:
        await client.close()


async def test_retry_cap_falls_back_then_retries_in_the_background(sim: SimVenue) -> None:
    client = make_client(sim, "pem")
    try:
        assert await client.start()
        sim.faults.refuse_streams("api")
        sim.faults.drop_streams("api")
        await wait_for(lambda: client.state is WsTradingState.FALLBACK, what="attempts exhausted")
        h = client.health()
        assert not h.is_healthy and "exhausted" in h.reason and client.metrics().fallbacks == 1
        with pytest.raises(WsNotSent):
            await client.query_order("BTCUSDT", order_id=1)
        refused = sim.faults.counters["handshakes_refused"]
        assert refused >= 3  # max_reconnect_attempts
        await wait_for(lambda: sim.faults.counters["handshakes_refused"] > refused, what="background retry")
        assert client.state is WsTradingState.FALLBACK
        sim.faults.refuse_streams("api", on=False)
        await wait_for(lambda: client.is_ready, what="back after the cap")
        assert client.metrics().logons == 2  # re-authenticated on the new socket
        assert (await client.new_order("BTCUSDT", "BUY", "MARKET", quantity="0.010")).orderId > 0
    finally:
        await client.close()


def test_config_defaults_and_validation() -> None:
    from adapters.binance_futures.config import BinanceFuturesExecClientConfig
    from adapters.binance_futures.ws_trading import settings_from_config

    config = BinanceFuturesExecClientConfig(base_url_http="http://x", base_url_ws="ws://x")
    assert config.use_ws_trading is False  # off until the benchmark shows the gain
    s = settings_from_config(config, "ws://x/ws-fapi/v1")
    assert (s.ping_interval, s.pong_timeout, s.app_ping_interval) == (30.0, 10.0, 30.0)
    assert (s.backoff_initial, s.backoff_cap, s.max_reconnect_attempts) == (1.0, 60.0, 10)
    wc = s.ws_config()
    assert wc.reconnect and wc.max_reconnect_attempts == 10 and wc.app_ping is not None
    with pytest.raises(ValueError):
        BinanceFuturesExecClientConfig(ws_trading_max_reconnect_attempts=0)
    with pytest.raises(ValueError):
        BinanceFuturesExecClientConfig(ws_trading_backoff_initial_secs=90.0)
