"""BingxHttpClient against a small local aiohttp server that verifies signatures server-side."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote

import pytest
import pytest_asyncio
from aiohttp import web

from adapters.bingx.errors import (
    BingxAmbiguous,
    BingxError,
    BingxRateLimited,
    BingxRejection,
    BingxTransportError,
)
from adapters.bingx.http import BingxHttpClient, build_param_strings
from adapters.bingx.providers import BingxInstrumentProvider
from adapters.bingx.rate_limit import BingxRateLimiter, parse_expire_ms
from adapters.bingx.schemas_base import num

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bingx"
API_KEY = "bingx-test-api-key-0123456789"
SECRET = "mheO6dR8ovSsxZQCOYEFCtelpuxcWGTfHw7te326y6jOwq5WpvFQ9JNljoTwBXZGv5It07m9RXSPpDQEK2w"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    method: str
    path: str
    raw_query: str
    headers: dict[str, str]

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.raw_query, keep_blank_values=True))


@dataclass
class FakeBingx:
    """Tiny BingX-like server: verifies X-BX-APIKEY, the HMAC over the *unencoded* parameter string (as the
    docs prescribe) and the timestamp window; business errors come back at HTTP 200."""

    server_offset_ms: int = 0
    seen: list[Seen] = field(default_factory=list)
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)

    def server_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.server_offset_ms

    def verify(self, request: web.Request) -> web.Response | None:
        qs = request.raw_path.partition("?")[2]
        if "signature=" not in qs:
            return None
        if request.headers.get("X-BX-APIKEY") != API_KEY:
            return web.json_response({"code": 100413, "msg": "Incorrect apiKey"})
        sent, _, sig = qs.rpartition("&signature=")
        assert "signature=" not in sent, "signature must be the last parameter"
        raw = "&".join(f"{k}={unquote(v)}" for k, _, v in (p.partition("=") for p in sent.split("&")))
        expected = hmac.new(SECRET.encode(), raw.encode(), hashlib.sha256).hexdigest()
        if sig != expected:
            return web.json_response(
                {"code": 100001, "msg": "Signature verification failed", "timestamp": self.server_ms()}
            )
        params = dict(parse_qsl(sent))
        ts = int(params["timestamp"])
        window = int(params.get("recvWindow", "5000"))
        if abs(self.server_ms() - ts) > window:
            return web.json_response(
                {"code": 100421, "msg": "Null timestamp or timestamp mismatch", "timestamp": self.server_ms()}
            )
        return None

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            Seen(request.method, request.path, request.raw_path.partition("?")[2], dict(request.headers))
        )
        if request.path == "/openApi/swap/v2/server/time":
            return web.json_response({"code": 0, "msg": "", "data": {"serverTime": self.server_ms()}})
        bad = self.verify(request)
        if bad is not None:
            return bad
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return web.json_response({"code": 109400, "msg": "symbol not exist"})
        return await handler(request)


def fixture_route(name: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=(FIXTURES / name).read_bytes(), content_type="application/json")

    return handler


def json_route(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(
            text=json.dumps(body), status=status, headers=headers, content_type="application/json"
        )

    return handler


def ok(data: object) -> Handler:
    return json_route({"code": 0, "msg": "", "data": data})


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[tuple[FakeBingx, str]]:
    fb = FakeBingx()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fb.dispatch)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fb, f"http://127.0.0.1:{port}"
    await runner.cleanup()


class FakeClock:
    """Wall clock + sleep that advances it (no real sleeping)."""

    def __init__(self, start_ms: int) -> None:
        self.now = start_ms
        self.sleeps: list[float] = []

    def wall_ms(self) -> int:
        return self.now

    async def sleep(self, secs: float) -> None:
        self.sleeps.append(secs)
        self.now += int(secs * 1000)


def make_client(url: str, **kwargs: object) -> BingxHttpClient:
    kwargs.setdefault("api_key", API_KEY)
    kwargs.setdefault("api_secret", SECRET)
    return BingxHttpClient(url, **kwargs)  # type: ignore[arg-type]


def assert_no_secrets(exc: BaseException) -> None:
    text = f"{exc!s} {exc!r}"
    assert SECRET not in text
    assert API_KEY not in text
    assert "signature=" not in text


# ------------------------------------------------------------------------------------------------


def test_param_strings_encode_values_only() -> None:
    raw, sent = build_param_strings(
        {"batchOrders": '[{"a":1}]', "symbol": "BTC-USDT", "skip": None, "flag": True}
    )
    assert raw == 'batchOrders=[{"a":1}]&symbol=BTC-USDT&flag=true'
    assert sent == "batchOrders=%5B%7B%22a%22%3A1%7D%5D&symbol=BTC-USDT&flag=true"


async def test_signed_query_order_big_int_id(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    fb.routes[("GET", "/openApi/swap/v2/trade/order")] = fixture_route("order_query.json")
    client = make_client(url, recv_window_ms=7000)
    try:
        order = await client.query_order("OP-USDT", order_id=1736012449498123456)
    finally:
        await client.close()
    assert order.orderId == 1736012449498123456
    assert order.status == "PARTIALLY_FILLED"
    seen = fb.seen[-1]
    assert seen.headers["X-BX-APIKEY"] == API_KEY
    assert list(seen.params) == ["symbol", "orderId", "timestamp", "recvWindow", "signature"]
    assert seen.params["orderId"] == "1736012449498123456"
    assert seen.params["recvWindow"] == "7000"


async def test_place_order_sends_everything_in_query_and_lowercases_client_id(
    fake: tuple[FakeBingx, str],
) -> None:
    fb, url = fake
    fb.routes[("POST", "/openApi/swap/v2/trade/order")] = fixture_route("place_order.json")
    client = make_client(url, source_key="NAUTILUS")
    try:
        order = await client.place_order(
            "DOT-USDT", "BUY", "MARKET", quantity="3", client_order_id="O-ABC-1", reduce_only=False
        )
    finally:
        await client.close()
    assert order.orderId == 1767767539943940096
    p = fb.seen[-1].params
    assert p["clientOrderId"] == "o-abc-1"
    assert p["positionSide"] == "BOTH"
    assert p["quantity"] == "3"
    assert p["reduceOnly"] == "false"
    assert "price" not in p
    assert fb.seen[-1].headers["X-SOURCE-KEY"] == "NAUTILUS"


async def test_client_order_id_too_long_is_refused_locally(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    client = make_client(url)
    try:
        with pytest.raises(ValueError, match="1-40"):
            await client.place_order("BTC-USDT", "BUY", "MARKET", quantity="1", client_order_id="x" * 41)
    finally:
        await client.close()
    assert fb.seen == []


async def test_batch_orders_json_value_encoded_signed_raw(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    fb.routes[("POST", "/openApi/swap/v2/trade/batchOrders")] = ok(
        {"orders": [{"symbol": "BTC-USDT", "orderId": 1736010300483712345, "side": "BUY", "type": "LIMIT"}]}
    )
    client = make_client(url)
    try:
        orders = await client.place_batch_orders(
            [
                {
                    "symbol": "BTC-USDT",
                    "type": "LIMIT",
                    "side": "BUY",
                    "quantity": "0.001",
                    "clientOrderId": "AbC",
                }
            ]
        )
    finally:
        await client.close()
    assert [o.orderId for o in orders] == [1736010300483712345]
    raw_query = fb.seen[-1].raw_query
    assert raw_query.startswith("batchOrders=%5B%7B%22symbol%22%3A%22BTC-USDT%22")
    sent = json.loads(fb.seen[-1].params["batchOrders"])
    assert sent == [
        {"symbol": "BTC-USDT", "type": "LIMIT", "side": "BUY", "quantity": "0.001", "clientOrderId": "abc"}
    ]


async def test_cancel_batch_and_cancel_all(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    fb.routes[("DELETE", "/openApi/swap/v2/trade/batchOrders")] = ok(
        {
            "success": [{"symbol": "BTC-USDT", "orderId": 1735924831603391122, "status": "CANCELLED"}],
            "failed": [
                {"orderId": 1735924833239172233, "errorCode": 80018, "errorMessage": "order is filled"}
            ],
        }
    )
    fb.routes[("DELETE", "/openApi/swap/v2/trade/allOpenOrders")] = ok({"success": [], "failed": None})
    client = make_client(url)
    try:
        res = await client.cancel_batch_orders(
            "BTC-USDT", order_ids=[1735924831603391122, 1735924833239172233]
        )
        all_res = await client.cancel_all_open_orders("BTC-USDT")
        with pytest.raises(ValueError):
            await client.cancel_batch_orders("BTC-USDT")
    finally:
        await client.close()
    assert res.success is not None and res.success[0].orderId == 1735924831603391122
    assert res.failed is not None and res.failed[0].errorCode == 80018
    assert fb.seen[-2].params["orderIdList"] == "[1735924831603391122,1735924833239172233]"
    assert all_res.success == [] and all_res.failed is None


async def test_envelope_error_at_http_200_is_rejection(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    fb.routes[("POST", "/openApi/swap/v2/trade/order")] = json_route(
        {"code": 101481, "msg": "clientOrderID cannot be repeated", "data": {}}
    )
    client = make_client(url)
    try:
        with pytest.raises(BingxRejection) as err:
            await client.place_order("BTC-USDT", "BUY", "MARKET", quantity="1", client_order_id="dup")
    finally:
        await client.close()
    exc = err.value
    assert not isinstance(exc, BingxAmbiguous)
    assert (exc.code, exc.http_status) == (101481, 200)
    assert exc.is_duplicate_client_order_id
    assert_no_secrets(exc)


async def test_bad_signature_is_rejection(fake: tuple[FakeBingx, str]) -> None:
    _fb, url = fake
    client = make_client(url, api_secret="wrong-secret")
    try:
        with pytest.raises(BingxRejection) as err:
            await client.open_orders()
    finally:
        await client.close()
    assert err.value.code == 100001
    assert_no_secrets(err.value)


async def test_timestamp_error_resyncs_and_retries_once(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    fb.server_offset_ms = 60_000  # our clock is a minute behind
    fb.routes[("GET", "/openApi/swap/v2/trade/openOrders")] = fixture_route("open_orders.json")
    client = make_client(url)
    try:
        orders = await client.open_orders("BTC-USDT")
    finally:
        await client.close()
    assert [o.orderId for o in orders] == [1736012449498123457, 1736012449498123458]
    assert [s.path for s in fb.seen] == [
        "/openApi/swap/v2/trade/openOrders",
        "/openApi/swap/v2/server/time",
        "/openApi/swap/v2/trade/openOrders",
    ]
    assert 59_000 < client.time_offset_ms < 61_000


async def test_timestamp_error_retried_only_once(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    fb.routes[("GET", "/openApi/swap/v2/user/positions")] = json_route(
        {"code": 100421, "msg": "Null timestamp or timestamp mismatch"}
    )
    client = make_client(url)
    try:
        with pytest.raises(BingxRejection) as err:
            await client.positions()
    finally:
        await client.close()
    assert err.value.is_timestamp_error
    assert [s.path.rsplit("/", 1)[-1] for s in fb.seen] == ["positions", "time", "positions"]


async def test_overloaded_100421_pair_restricted_is_not_retried(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    fb.routes[("POST", "/openApi/swap/v2/trade/order")] = json_route(
        {"code": 100421, "msg": "This pair is currently restricted from API trading"}
    )
    client = make_client(url)
    try:
        with pytest.raises(BingxRejection) as err:
            await client.place_order("MTL-USDT", "BUY", "MARKET", quantity="1")
    finally:
        await client.close()
    assert not err.value.is_timestamp_error
    assert len(fb.seen) == 1


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"code": 100500, "msg": "internal error"}),
        (504, "gateway timeout"),
        (502, "<html>bad gateway</html>"),
        (200, {"code": 80019, "msg": "order is being processed, use allOrders later"}),
        (200, {"code": 101500, "msg": "rpc timeout"}),
        (200, {"code": 80012, "msg": "service unavailable"}),
        (200, "not json at all"),
        (200, {"code": 0, "msg": "", "data": {"order": {"noOrderId": True}}}),
    ],
)
async def test_ambiguous_outcomes(fake: tuple[FakeBingx, str], status: int, body: object) -> None:
    fb, url = fake

    async def handler(request: web.Request) -> web.StreamResponse:
        text = body if isinstance(body, str) else json.dumps(body)
        return web.Response(text=text, status=status)

    fb.routes[("POST", "/openApi/swap/v2/trade/order")] = handler
    client = make_client(url)
    try:
        with pytest.raises(BingxAmbiguous) as err:
            await client.place_order("BTC-USDT", "BUY", "MARKET", quantity="1")
    finally:
        await client.close()
    assert not isinstance(err.value, BingxRejection)
    assert_no_secrets(err.value)
    assert len(fb.seen) == 1  # never retried: the order may exist


async def test_cut_connection_is_ambiguous(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake

    async def cut(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response(text="never delivered")

    fb.routes[("POST", "/openApi/swap/v2/trade/order")] = cut
    client = make_client(url)
    try:
        with pytest.raises(BingxAmbiguous) as err:
            await client.place_order("BTC-USDT", "BUY", "MARKET", quantity="1")
    finally:
        await client.close()
    assert "connection error" in err.value.reason
    assert_no_secrets(err.value)


async def test_timeout_is_ambiguous(fake: tuple[FakeBingx, str]) -> None:
    import asyncio

    fb, url = fake
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response(text="late")

    fb.routes[("DELETE", "/openApi/swap/v2/trade/order")] = hang
    client = make_client(url, timeout_secs=0.2)
    try:
        with pytest.raises(BingxAmbiguous) as err:
            await client.cancel_order("BTC-USDT", order_id=1)
    finally:
        release.set()
        await client.close()
    assert err.value.reason == "timeout"


async def test_refused_connection_is_transport_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = make_client(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(BingxTransportError) as err:
            await client.open_orders()
    finally:
        await client.close()
    assert not isinstance(err.value, BingxAmbiguous)


async def test_http_429_and_code_100410_are_rate_limited(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    fb.routes[("GET", "/openApi/swap/v2/trade/openOrders")] = json_route(
        {"code": 429, "msg": "too many"}, status=429, headers={"Retry-After": "60"}
    )
    fb.routes[("GET", "/openApi/swap/v3/user/balance")] = json_route({"code": 100410, "msg": "rate limited"})
    client = make_client(url)
    try:
        with pytest.raises(BingxRateLimited) as err:
            await client.open_orders()
        assert err.value.retry_after_secs == 60.0 and err.value.http_status == 429
        assert client.rate_limiter.blocked_until_ms > client.now_ms() + 50_000
        client.rate_limiter.blocked_until_ms = 0
        with pytest.raises(BingxRateLimited) as err2:
            await client.balance()
        assert err2.value.code == 100410 and err2.value.http_status == 200
    finally:
        await client.close()


async def test_short_retry_after_is_retried_once(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    calls = 0

    async def flaky(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.Response(status=429, headers={"Retry-After": "1"}, text="slow down")
        return web.json_response({"code": 0, "msg": "", "data": {"dualSidePosition": "true"}})

    fb.routes[("GET", "/openApi/swap/v1/positionSide/dual")] = flaky
    clock = FakeClock(time.time_ns() // 1_000_000)
    client = make_client(url, sleep=clock.sleep)
    try:
        assert await client.position_side_dual() is True
    finally:
        await client.close()
    assert calls == 2
    assert clock.sleeps and clock.sleeps[0] >= 0.9


async def test_local_endpoint_window_waits_for_roll(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    fb.routes[("GET", "/openApi/swap/v2/user/positions")] = fixture_route("positions.json")
    real_ms = time.time_ns() // 1_000_000
    clock = FakeClock(real_ms - real_ms % 1000 + 100)  # 100 ms into a window
    client = make_client(url, wall_ms=clock.wall_ms, sleep=clock.sleep, recv_window_ms=60_000)
    try:
        for _ in range(6):  # limit 5/s
            await client.positions()
    finally:
        await client.close()
    assert len(clock.sleeps) == 1
    assert clock.sleeps[0] == pytest.approx(0.92)  # 900 ms to the roll + 20 ms margin


def test_remain_zero_blocks_endpoint_until_expire() -> None:
    rl = BingxRateLimiter()
    now = 1_700_000_000_000
    rl.update_from_headers(
        "GET", "/p", {"X-RateLimit-Requests-Remain": "0", "X-RateLimit-Requests-Expire": "1500"}, now
    )
    assert rl.delay_ms("GET", "/p", now) == 1500
    assert rl.delay_ms("GET", "/other", now) == 0
    rl.update_from_headers("GET", "/q", {"X-RateLimit-Requests-Remain": "3"}, now)
    assert rl.delay_ms("GET", "/q", now) == 0
    assert parse_expire_ms(str(now + 2000), now) == now + 2000
    assert parse_expire_ms(str((now + 2000) // 1000), now) == (now + 2000) // 1000 * 1000
    assert parse_expire_ms("junk", now) is None


async def test_listen_key_lifecycle(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    path = "/openApi/user/auth/userDataStream"
    fb.routes[("POST", path)] = json_route({"listenKey": "a8ea75681542e66f"})
    fb.routes[("PUT", path)] = json_route({}, status=200)
    fb.routes[("DELETE", path)] = json_route({"code": 404, "msg": "not found"}, status=404)
    client = make_client(url)
    try:
        key = await client.create_listen_key()
        await client.keepalive_listen_key(key)
        with pytest.raises(BingxRejection) as err:
            await client.close_listen_key(key)
    finally:
        await client.close()
    assert key == "a8ea75681542e66f"
    assert err.value.is_listen_key_not_found
    assert all(s.headers["X-BX-APIKEY"] == API_KEY for s in fb.seen)
    assert "signature" not in fb.seen[0].params
    assert fb.seen[1].params == {"listenKey": "a8ea75681542e66f"}


def bytes_route(body: bytes, status: int = 200) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, status=status, content_type="application/json")

    return handler


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Fuzz: a message that is no valid JSON value hid the code next to it, and the keepalive
        # passed as a success while the venue said the key is gone.
        (b'{"code":109400,"msg":1e400,"data":{}}', BingxRejection),
        (b'{"code":80012,"msg":[[[[[[1]]]]]]}', BingxAmbiguous),
        (b'{"code":1e400,"msg":"x"}', BingxAmbiguous),
        (b'{"code":109400,"msg":"x",', BingxAmbiguous),  # an object cut short may carry a code
    ],
)
async def test_listen_key_keepalive_error_behind_an_unreadable_field(
    fake: tuple[FakeBingx, str], body: bytes, expected: type[BingxError]
) -> None:
    fb, url = fake
    fb.routes[("PUT", "/openApi/user/auth/userDataStream")] = bytes_route(body)
    client = make_client(url)
    try:
        with pytest.raises(expected):
            await client.keepalive_listen_key("a8ea75681542e66f")
    finally:
        await client.close()


async def test_listen_key_keepalive_plain_success_bodies(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    client = make_client(url)
    try:
        for body in (b"", b"null", b"{}", b'{"code":0,"msg":1e400}', b"ok"):
            fb.routes[("PUT", "/openApi/user/auth/userDataStream")] = bytes_route(body)
            await client.keepalive_listen_key("a8ea75681542e66f")
    finally:
        await client.close()
    assert len(fb.seen) == 5


async def test_error_status_keeps_the_code_behind_an_unreadable_message(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    fb.routes[("GET", "/openApi/swap/v2/user/positions")] = bytes_route(
        b'{"code":109400,"msg":1e400}', status=400
    )
    client = make_client(url)
    try:
        with pytest.raises(BingxRejection) as err:
            await client.positions()
    finally:
        await client.close()
    assert err.value.code == 109400


async def test_account_endpoints(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    fb.routes[("GET", "/openApi/swap/v3/user/balance")] = fixture_route("balance.json")
    fb.routes[("GET", "/openApi/swap/v2/trade/fillHistory")] = fixture_route("fill_history.json")
    fb.routes[("GET", "/openApi/swap/v2/trade/allFillOrders")] = fixture_route("all_fill_orders.json")
    fb.routes[("GET", "/openApi/swap/v2/trade/allOrders")] = ok({"orders": None})
    fb.routes[("POST", "/openApi/swap/v2/trade/leverage")] = ok({"leverage": 8, "symbol": "ETH-USDT"})
    fb.routes[("GET", "/openApi/swap/v2/user/commissionRate")] = ok(
        {"commission": {"takerCommissionRate": 0.0005, "makerCommissionRate": 0.0002}}
    )
    client = make_client(url)
    try:
        balances = await client.balance()
        history = await client.fill_history("WLD-USDT", end_ts=1702731530000, start_ts=1702724330000)
        fills = await client.all_fill_orders(start_ts=1, end_ts=2, symbol="WLD-USDT")
        orders = await client.all_orders("BTC-USDT", start_time=1)
        lev = await client.set_leverage("ETH-USDT", "SHORT", 8)
        rate = await client.commission_rate()
    finally:
        await client.close()
    assert num(balances[0].availableMargin) == "193.7609"
    assert history.total == 2 and history.fill_history_orders is not None
    assert fb.seen[1].params["endTs"] == "1702731530000"
    assert fills[0].orderId == 1736007768311123456
    assert fb.seen[2].params["tradingUnit"] == "COIN"
    assert orders == []
    assert lev.leverage == 8
    assert num(rate.makerCommissionRate) == "0.0002"


async def test_unsigned_endpoint_without_secret_and_signed_without_secret(
    fake: tuple[FakeBingx, str],
) -> None:
    fb, url = fake
    fb.routes[("GET", "/openApi/swap/v2/quote/contracts")] = fixture_route("contracts.json")
    client = BingxHttpClient(url)
    try:
        contracts = await client.contracts()
        assert await client.server_time() > 0
        with pytest.raises(BingxError, match="api_secret"):
            await client.balance()
    finally:
        await client.close()
    assert [c.symbol for c in contracts] == ["BTC-USDT", "DOGE-USDT", "NEW-USDT"]
    assert "X-BX-APIKEY" not in fb.seen[0].headers


async def test_provider_loads_tradable_contracts(fake: tuple[FakeBingx, str]) -> None:
    fb, url = fake
    fb.routes[("GET", "/openApi/swap/v2/quote/contracts")] = fixture_route("contracts.json")
    fb.routes[("GET", "/openApi/swap/v2/user/commissionRate")] = ok(
        {"commission": {"takerCommissionRate": "0.0004", "makerCommissionRate": "0.0001"}}
    )
    client = make_client(url)
    try:
        provider = BingxInstrumentProvider(client, query_commission_rate=True)
        await provider.load_all_async()
        filtered = BingxInstrumentProvider(client)
        await filtered.load_all_async({"base_asset": "DOGE"})
    finally:
        await client.close()
    assert sorted(provider.instruments_by_symbol) == ["BTC-USDT", "DOGE-USDT"]  # status 5 skipped
    btc = provider.find_by_symbol("BTC-USDT")
    assert btc is not None and str(btc.id) == "BTC-USDT-PERP.BINGX"
    assert str(btc.maker_fee) == "0.0001" and str(btc.taker_fee) == "0.0004"
    assert provider.find(btc.id) is btc
    assert list(filtered.instruments_by_symbol) == ["DOGE-USDT"]
    doge = filtered.find_by_symbol("DOGE-USDT")
    assert doge is not None and str(doge.maker_fee) == "0.0002"  # contract field


def test_client_repr_hides_secret() -> None:
    client = BingxHttpClient("http://x", API_KEY, SECRET)
    assert SECRET not in repr(client)
    assert API_KEY not in repr(client)
