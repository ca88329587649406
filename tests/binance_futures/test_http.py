from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import pytest
import pytest_asyncio
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.binance_futures.errors import (
    BinanceAmbiguous,
    BinanceRateLimited,
    BinanceRejection,
    BinanceTransportError,
)
from adapters.binance_futures.http import BatchOrderError, BinanceFuturesHttpClient
from adapters.binance_futures.rate_limit import RateLimitTracker, parse_retry_after
from adapters.binance_futures.schemas_rest import Order

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binance_futures"
API_KEY = "test-api-key-0123456789"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
ED_SEED = bytes(range(100, 132))

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    raw_query: str = ""

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))


@dataclass
class FakeBinance:
    """Tiny Binance-like server: verifies signatures and recvWindow server-side."""

    server_offset_ms: int = 0
    ed25519: bool = False
    seen: list[Seen] = field(default_factory=list)
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    extra_headers: dict[str, str] = field(default_factory=dict)
    hang: asyncio.Event = field(default_factory=asyncio.Event)

    def server_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.server_offset_ms

    def verify(self, request: web.Request) -> web.Response | None:
        # Binance signs the query string exactly as sent (still percent-encoded)
        qs = request.raw_path.partition("?")[2]
        if "signature=" not in qs:
            return None
        if request.headers.get("X-MBX-APIKEY") != API_KEY:
            return web.json_response({"code": -2015, "msg": "Invalid API-key"}, status=401)
        payload, _, sig = qs.rpartition("&signature=")
        assert "signature=" not in payload, "signature must be the last parameter"
        if self.ed25519:
            key = Ed25519PrivateKey.from_private_bytes(ED_SEED).public_key()
            try:
                key.verify(base64.b64decode(unquote(sig)), payload.encode())
            except Exception:
                return web.json_response({"code": -1022, "msg": "Signature invalid."}, status=400)
        else:
            expected = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
            if sig != expected:
                return web.json_response({"code": -1022, "msg": "Signature invalid."}, status=400)
        params = dict(parse_qsl(payload))
        assert list(params)[-2:] == ["timestamp", "recvWindow"]
        ts = int(params["timestamp"])
        window = int(params.get("recvWindow", "5000"))
        now = self.server_ms()
        if ts > now + 1000 or now - ts > window:
            return web.json_response(
                {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}, status=400
            )
        return None

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            Seen(
                request.method,
                request.path,
                request.query_string,
                dict(request.headers),
                request.raw_path.partition("?")[2],
            )
        )
        if request.path == "/fapi/v1/time":
            return web.json_response({"serverTime": self.server_ms()})
        bad = self.verify(request)
        if bad is not None:
            return bad
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        resp = await handler(request)
        for k, v in self.extra_headers.items():
            resp.headers[k] = v
        return resp


def fixture_route(name: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=(FIXTURES / name).read_bytes(), content_type="application/json")

    return handler


def json_route(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(body, status=status, headers=headers)

    return handler


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[tuple[FakeBinance, str]]:
    fb = FakeBinance()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fb.dispatch)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fb, f"http://127.0.0.1:{port}"
    fb.hang.set()
    await runner.cleanup()


class SleepRecorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, secs: float) -> None:
        self.calls.append(secs)


def make_client(url: str, **kwargs: object) -> BinanceFuturesHttpClient:
    kwargs.setdefault("api_key", API_KEY)
    kwargs.setdefault("api_secret", SECRET)
    return BinanceFuturesHttpClient(url, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------


async def test_signed_request_verified_server_side(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake
    fb.routes[("GET", "/fapi/v1/openOrders")] = fixture_route("http_open_orders.json")
    client = make_client(url)
    try:
        orders = await client.open_orders("ETHUSDT")
    finally:
        await client.close()
    assert [o.orderId for o in orders] == [4200000011, 4200000012]
    seen = fb.seen[-1]
    assert seen.headers["X-MBX-APIKEY"] == API_KEY
    keys = [k for k, _ in parse_qsl(seen.query)]
    assert keys == ["symbol", "timestamp", "recvWindow", "signature"]
    assert seen.params["recvWindow"] == "5000"


async def test_ed25519_signature_verified_server_side(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake
    fb.ed25519 = True
    fb.routes[("GET", "/fapi/v1/positionSide/dual")] = fixture_route("http_position_side_dual.json")
    client = make_client(url, api_secret=base64.b64encode(ED_SEED).decode())
    try:
        assert await client.position_side_dual() is False
    finally:
        await client.close()
    raw_sig = fb.seen[-1].raw_query.rpartition("signature=")[2]
    assert "+" not in raw_sig and "/" not in raw_sig and "=" not in raw_sig  # base64 is percent-encoded


async def test_bad_signature_is_rejection(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake
    fb.routes[("GET", "/fapi/v2/account")] = fixture_route("http_account_v3.json")
    client = make_client(url, api_secret="WRONG" + SECRET[5:])
    try:
        with pytest.raises(BinanceRejection) as exc:
            await client.account()
    finally:
        await client.close()
    assert exc.value.code == -1022


async def test_param_encoding_and_order_endpoint(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake
    fb.routes[("POST", "/fapi/v1/order")] = fixture_route("http_order.json")
    client = make_client(url)
    try:
        order = await client.new_order(
            "ETHUSDT",
            "SELL",
            "LIMIT",
            quantity=Decimal("0.250"),
            price="3150.10",
            time_in_force="GTX",
            reduce_only=False,
            new_client_order_id="O-1:a/b",
        )
    finally:
        await client.close()
    assert isinstance(order, Order) and order.orderId == 4200000001
    params = fb.seen[-1].params
    assert params["quantity"] == "0.250"
    assert params["reduceOnly"] == "false"
    assert params["newClientOrderId"] == "O-1:a/b"
    assert "positionSide" not in params  # None dropped


async def test_listen_key_uses_api_key_only(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake
    fb.routes[("POST", "/fapi/v1/listenKey")] = fixture_route("http_listen_key.json")
    fb.routes[("PUT", "/fapi/v1/listenKey")] = json_route({})
    fb.routes[("DELETE", "/fapi/v1/listenKey")] = json_route({})
    client = make_client(url)
    try:
        key = await client.create_listen_key()
        await client.keepalive_listen_key(key)
        await client.close_listen_key(key)
    finally:
        await client.close()
    assert key == "OurOwnListenKey0001"
    assert [s.method for s in fb.seen] == ["POST", "PUT", "DELETE"]
    assert all(s.headers["X-MBX-APIKEY"] == API_KEY and "signature" not in s.query for s in fb.seen)
    assert fb.seen[1].params == {"listenKey": key}


async def test_minus_1021_syncs_clock_and_retries_once(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake
    fb.server_offset_ms = 20_000  # venue clock 20 s ahead: our timestamps fall outside recvWindow
    fb.routes[("GET", "/fapi/v1/openAlgoOrders")] = fixture_route("http_open_algo_orders.json")
    client = make_client(url)
    try:
        algos = await client.open_algo_orders()
    finally:
        await client.close()
    assert len(algos) == 2
    assert [s.path for s in fb.seen] == [
        "/fapi/v1/openAlgoOrders",
        "/fapi/v1/time",
        "/fapi/v1/openAlgoOrders",
    ]
    assert 19_000 <= client.time_offset_ms <= 21_000


async def test_minus_1021_not_retried_twice(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake

    async def always_1021(request: web.Request) -> web.StreamResponse:
        return web.json_response({"code": -1021, "msg": "Timestamp outside recvWindow"}, status=400)

    fb.routes[("GET", "/fapi/v1/openOrders")] = always_1021
    client = make_client(url)
    try:
        with pytest.raises(BinanceRejection) as exc:
            await client.open_orders()
    finally:
        await client.close()
    assert exc.value.code == -1021
    assert [s.path for s in fb.seen] == ["/fapi/v1/openOrders", "/fapi/v1/time", "/fapi/v1/openOrders"]


async def test_429_retry_after_honoured(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake
    calls = {"n": 0}

    async def limited_once(request: web.Request) -> web.StreamResponse:
        calls["n"] += 1
        if calls["n"] == 1:
            return web.json_response(
                {"code": -1003, "msg": "Too many requests"}, status=429, headers={"Retry-After": "2"}
            )
        return web.json_response(
            {"symbol": "ETHUSDT", "makerCommissionRate": "0.0002", "takerCommissionRate": "0.0005"}
        )

    fb.routes[("GET", "/fapi/v1/commissionRate")] = limited_once
    sleeper = SleepRecorder()
    client = make_client(url, sleep=sleeper)
    try:
        rate = await client.commission_rate("ETHUSDT")
    finally:
        await client.close()
    assert rate.takerCommissionRate == "0.0005"
    assert calls["n"] == 2
    assert len(sleeper.calls) == 1 and 1.5 <= sleeper.calls[0] <= 2.0


async def test_429_long_retry_after_raises_and_blocks(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake
    fb.routes[("GET", "/fapi/v1/openOrders")] = json_route(
        {"code": -1003, "msg": "Too many requests"}, status=429, headers={"Retry-After": "120"}
    )
    sleeper = SleepRecorder()
    client = make_client(url, sleep=sleeper)
    try:
        with pytest.raises(BinanceRateLimited) as exc:
            await client.open_orders()
        assert exc.value.retry_after_secs == 120 and not exc.value.is_ip_ban
        assert client.rate_limiter.delay_for(client.now_ms()) > 100
    finally:
        await client.close()
    assert sleeper.calls == []


async def test_418_ip_ban_raises(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake
    fb.routes[("GET", "/fapi/v1/openOrders")] = json_route(
        {"code": -1003, "msg": "IP banned"}, status=418, headers={"Retry-After": "1"}
    )
    client = make_client(url, sleep=SleepRecorder())
    try:
        with pytest.raises(BinanceRateLimited) as exc:
            await client.open_orders()
    finally:
        await client.close()
    assert exc.value.is_ip_ban and exc.value.http_status == 418


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (503, {"code": -1000, "msg": "Service Unavailable."}),
        (500, "Internal error"),
        (502, "<html>bad gateway</html>"),
        (408, {"code": -1007, "msg": "Timeout waiting for response from backend server."}),
        (400, {"code": -1006, "msg": "An unexpected response was received from the message bus."}),
        (400, {"code": -1007, "msg": "Timeout waiting for response from backend server."}),
    ],
)
async def test_ambiguous_outcomes(fake: tuple[FakeBinance, str], status: int, body: object) -> None:
    fb, url = fake

    async def handler(request: web.Request) -> web.StreamResponse:
        if isinstance(body, str):
            return web.Response(text=body, status=status)
        return web.json_response(body, status=status)

    fb.routes[("POST", "/fapi/v1/order")] = handler
    client = make_client(url)
    try:
        with pytest.raises(BinanceAmbiguous) as exc:
            await client.new_order("ETHUSDT", "BUY", "MARKET", quantity="0.001")
    finally:
        await client.close()
    assert exc.value.http_status == status
    assert not isinstance(exc.value, BinanceRejection)


async def test_cut_connection_is_ambiguous(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake

    async def cut(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        return web.Response(status=200)

    fb.routes[("POST", "/fapi/v1/order")] = cut
    client = make_client(url)
    try:
        with pytest.raises(BinanceAmbiguous, match="connection"):
            await client.new_order("ETHUSDT", "BUY", "MARKET", quantity="0.001")
    finally:
        await client.close()


async def test_timeout_is_ambiguous(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake

    async def hang(request: web.Request) -> web.StreamResponse:
        await fb.hang.wait()
        return web.Response(status=200)

    fb.routes[("DELETE", "/fapi/v1/order")] = hang
    client = make_client(url, timeout_secs=0.2)
    try:
        with pytest.raises(BinanceAmbiguous, match="timeout"):
            await client.cancel_order("ETHUSDT", order_id=1)
    finally:
        await client.close()


async def test_connection_refused_is_transport_error() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    client = make_client(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(BinanceTransportError):
            await client.open_orders()
    finally:
        await client.close()


async def test_undecodable_success_is_ambiguous(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake
    fb.routes[("POST", "/fapi/v1/order")] = json_route({"unexpected": True})
    client = make_client(url)
    try:
        with pytest.raises(BinanceAmbiguous, match="undecodable"):
            await client.new_order("ETHUSDT", "BUY", "MARKET", quantity="0.001")
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("code", "msg", "post_only", "unknown"),
    [
        (-2010, "Order would immediately match and take.", False, False),
        (
            -5022,
            "Due to the order could not be executed as maker, the Post Only order will be rejected.",
            True,
            False,
        ),
        (-2011, "Unknown order sent.", False, True),
        (-2013, "Order does not exist.", False, True),
        (-4164, "Order's notional must be no smaller than 5.", False, False),
        (-2019, "Margin is insufficient.", False, False),
    ],
)
async def test_rejections(
    fake: tuple[FakeBinance, str], code: int, msg: str, post_only: bool, unknown: bool
) -> None:
    fb, url = fake
    fb.routes[("POST", "/fapi/v1/order")] = json_route({"code": code, "msg": msg}, status=400)
    client = make_client(url)
    try:
        with pytest.raises(BinanceRejection) as exc:
            await client.new_order(
                "ETHUSDT", "BUY", "LIMIT", quantity="0.001", price="1", time_in_force="GTX"
            )
    finally:
        await client.close()
    err = exc.value
    assert (err.code, err.msg, err.http_status) == (code, msg, 400)
    assert err.is_post_only is post_only
    assert err.is_unknown_order is unknown
    text = str(err) + repr(err)
    assert SECRET not in text and "signature" not in text and "timestamp" not in text


async def test_non_json_4xx_is_rejection(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake

    async def waf(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html>403 Forbidden</html>", status=403)

    fb.routes[("GET", "/fapi/v1/openOrders")] = waf
    client = make_client(url)
    try:
        with pytest.raises(BinanceRejection) as exc:
            await client.open_orders()
    finally:
        await client.close()
    assert exc.value.code == 0 and exc.value.http_status == 403 and "403" in exc.value.msg


async def test_weight_headers_tracked_and_throttle_before_429(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake
    fb.routes[("GET", "/fapi/v1/openOrders")] = fixture_route("http_open_orders.json")
    fb.routes[("POST", "/fapi/v1/order")] = fixture_route("http_order.json")
    fb.extra_headers = {
        "x-mbx-used-weight-1m": "2390",
        "X-MBX-ORDER-COUNT-10S": "299",
        "X-MBX-ORDER-COUNT-1M": "12",
    }
    sleeper = SleepRecorder()
    client = make_client(url, sleep=sleeper)
    try:
        await client.open_orders("ETHUSDT")
        assert client.rate_limiter.used_weight_1m == 2390
        assert client.rate_limiter.orders_10s.used == 299
        assert client.rate_limiter.orders_1m.used == 12
        assert sleeper.calls == []
        await client.open_orders("ETHUSDT")  # 2390 + 1 > 0.95 * 2400: wait for the minute to roll
    finally:
        await client.close()
    assert len(sleeper.calls) == 1 and 0 < sleeper.calls[0] <= 60.1


async def test_batch_orders_mixed_results(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake
    order = (FIXTURES / "http_order.json").read_text()
    body = f'[{order}, {{"code": -2022, "msg": "ReduceOnly Order is rejected."}}]'

    async def batch(request: web.Request) -> web.StreamResponse:
        return web.Response(text=body, content_type="application/json")

    fb.routes[("POST", "/fapi/v1/batchOrders")] = batch
    client = make_client(url)
    try:
        res = await client.batch_orders(
            "POST",
            [{"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.1", "price": "1"}] * 2,
        )
    finally:
        await client.close()
    assert isinstance(res[0], Order) and isinstance(res[1], BatchOrderError) and res[1].code == -2022
    assert fb.seen[-1].params["batchOrders"].startswith('[{"symbol":"ETHUSDT"')


async def test_typed_endpoints_decode(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake
    fb.routes[("GET", "/fapi/v1/exchangeInfo")] = fixture_route("http_exchange_info.json")
    fb.routes[("GET", "/fapi/v1/userTrades")] = fixture_route("http_user_trades.json")
    fb.routes[("GET", "/fapi/v3/positionRisk")] = fixture_route("http_position_risk_v3.json")
    fb.routes[("GET", "/fapi/v3/account")] = fixture_route("http_account_v3.json")
    fb.routes[("GET", "/fapi/v3/balance")] = fixture_route("http_balance_v3.json")
    fb.routes[("DELETE", "/fapi/v1/algoOrder")] = json_route(
        {"algoId": 7700000001, "clientAlgoId": "c", "code": "200", "msg": "success"}
    )
    fb.routes[("DELETE", "/fapi/v1/allOpenOrders")] = json_route(
        {"code": 200, "msg": "The operation of cancel all open order is done."}
    )
    fb.routes[("POST", "/fapi/v1/leverage")] = json_route(
        {"leverage": 20, "maxNotionalValue": "1000000", "symbol": "ETHUSDT"}
    )
    client = make_client(url)
    try:
        info = await client.exchange_info()
        trades = await client.user_trades("ETHUSDT", order_id=4200000001)
        positions = await client.position_risk(version=3)
        account = await client.account(version=3)
        balances = await client.balance(version=3)
        cancel = await client.cancel_algo_order(algo_id=7700000001)
        cancel_all = await client.cancel_all_open_orders("ETHUSDT")
        lev = await client.change_leverage("ETHUSDT", 20)
    finally:
        await client.close()
    assert len(info.symbols) == 5
    assert "signature" not in fb.seen[0].query  # exchangeInfo is public
    assert trades[0].id == 987650001
    assert positions[0].positionAmt == "-0.100"
    assert account.assets[0].asset == "USDT"
    assert balances[0].availableBalance == "1504.67000000"
    assert cancel.algoId == 7700000001 and cancel.code == "200"
    assert cancel_all.code == 200
    assert lev.leverage == 20


def test_repr_has_no_secret() -> None:
    client = BinanceFuturesHttpClient("http://x", API_KEY, SECRET)
    assert SECRET not in repr(client) and API_KEY not in repr(client)


# ------------------------------------------------------------------------------------------------
# RateLimitTracker (pure)
# ------------------------------------------------------------------------------------------------


def test_tracker_window_rolls() -> None:
    t = RateLimitTracker()
    now = 1_700_000_000_000 - 1_700_000_000_000 % 60_000 + 30_000  # mid-minute
    t.update_from_headers({"X-MBX-USED-WEIGHT-1M": "2200"}, now)
    assert t.delay_for(now, weight=40) == 0.0  # 2240 <= 0.95 * 2400
    delay = t.delay_for(now, weight=100)
    assert delay == pytest.approx(30.05)
    assert t.delay_for(now + 30_000, weight=100) == 0.0  # new minute: counter is stale
    t.update_from_headers({"X-MBX-ORDER-COUNT-10S": "290"}, now)
    assert t.delay_for(now, weight=1, is_order=True) > 0
    assert t.delay_for(now, weight=1, is_order=False) == 0.0


def test_tracker_limits_from_exchange_info_and_retry_after() -> None:
    t = RateLimitTracker()
    t.set_limits_from_exchange_info([("REQUEST_WEIGHT", "MINUTE", 1, 1200), ("ORDERS", "SECOND", 10, 50)])
    assert t.weight.limit == 1200 and t.orders_10s.limit == 50
    t.block_for(3, 1_000)
    assert t.delay_for(1_000) == pytest.approx(3.0)
    assert (
        parse_retry_after("5") == 5.0 and parse_retry_after("x") is None and parse_retry_after(None) is None
    )


# ------------------------------------------------------------------------------------------------
# Instrument provider (through the HTTP client against the fake venue)
# ------------------------------------------------------------------------------------------------


async def test_provider_load_all_and_ids(fake: tuple[FakeBinance, str]) -> None:
    from nautilus_trader.model.identifiers import InstrumentId

    from adapters.binance_futures.parsing import DEFAULT_TAKER_FEE
    from adapters.binance_futures.providers import BinanceFuturesInstrumentProvider

    fb, url = fake
    fb.routes[("GET", "/fapi/v1/exchangeInfo")] = fixture_route("http_exchange_info.json")

    async def commission(request: web.Request) -> web.StreamResponse:
        if request.query["symbol"] == "ETHUSDT":
            return web.Response(body=(FIXTURES / "http_commission_rate.json").read_bytes())
        return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)

    fb.routes[("GET", "/fapi/v1/commissionRate")] = commission
    client = make_client(url)
    try:
        provider = BinanceFuturesInstrumentProvider(client)
        await provider.load_all_async()
        ids = sorted(str(i.id) for i in provider.list_all())
        assert ids == ["1000PEPEUSDT-PERP.BINANCE", "BTCUSDT-PERP.BINANCE", "ETHUSDT-PERP.BINANCE"]
        eth = provider.find_by_symbol("ETHUSDT")
        assert (
            eth is not None and eth.maker_fee == Decimal("0.000180") and eth.taker_fee == Decimal("0.000450")
        )
        btc = provider.find(InstrumentId.from_str("BTCUSDT-PERP.BINANCE"))
        assert btc is not None and btc.taker_fee == DEFAULT_TAKER_FEE  # commission query failed -> default
        assert btc.price_precision == 1
        assert (
            provider.find_by_symbol("BTCUSDT_250627") is None and provider.find_by_symbol("OLDUSDT") is None
        )
        assert client.rate_limiter.orders_10s.limit == 300

        only = BinanceFuturesInstrumentProvider(client, query_commission_rates=False)
        await only.load_async(InstrumentId.from_str("ETHUSDT-PERP.BINANCE"))
        assert [str(i.id) for i in only.list_all()] == ["ETHUSDT-PERP.BINANCE"]
        assert only.list_all()[0].maker_fee == Decimal("0.0002")
        assert only.currency("USDT") is not None
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("method", "path", "body", "call"),
    [
        (
            "DELETE",
            "/fapi/v1/algoOrder",
            {"code": -2011, "msg": "Unknown order sent."},
            lambda c: c.cancel_algo_order(client_algo_id="O-1"),
        ),
        (
            "PUT",
            "/fapi/v1/listenKey",
            {"code": -1125, "msg": "This listenKey does not exist."},
            lambda c: c.keepalive_listen_key("k"),
        ),
    ],
)
async def test_an_error_answered_with_http_200_is_an_error(
    fake: tuple[FakeBinance, str], method: str, path: str, body: dict[str, object], call: Any
) -> None:
    """A cancel answered 200 {"code": -2011} made us emit OrderCanceled for an order the venue still
    held; a keepalive answered 200 {"code": -1125} passed as alive."""
    fb, url = fake
    fb.routes[(method, path)] = json_route(body, status=200)
    client = make_client(url)
    try:
        with pytest.raises(BinanceRejection) as exc:
            await call(client)
    finally:
        await client.close()
    assert exc.value.code == body["code"] and exc.value.http_status == 200


async def test_success_envelopes_with_a_code_are_still_success(fake: tuple[FakeBinance, str]) -> None:
    fb, url = fake
    fb.routes[("DELETE", "/fapi/v1/algoOrder")] = json_route(
        {"algoId": 7, "clientAlgoId": "O-1", "code": "200", "msg": "success"}
    )
    client = make_client(url)
    try:
        answer = await client.cancel_algo_order(client_algo_id="O-1")
    finally:
        await client.close()
    assert answer.algoId == 7


@pytest.mark.parametrize("retry_after", ["inf", "NaN", "-1", "1e400", "soon"])
async def test_absurd_retry_after_headers_are_not_believed_or_raised(
    fake: tuple[FakeBinance, str], retry_after: str
) -> None:
    fb, url = fake

    async def limited(request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {"code": -1003, "msg": "Too many requests."},
            status=429,
            headers={"Retry-After": retry_after, "X-MBX-USED-WEIGHT-1M": "NaN"},
        )

    fb.routes[("GET", "/fapi/v1/openOrders")] = limited
    client = make_client(url)
    try:
        with pytest.raises(BinanceRateLimited) as exc:  # typed, whatever the headers say
            await client.open_orders()
    finally:
        await client.close()
    assert exc.value.retry_after_secs is None
    assert parse_retry_after(retry_after) is None
