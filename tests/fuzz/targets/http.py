"""HTTP decoding targets: the Binance and BingX REST clients behind a fake aiohttp session.

The session answers every request of a case with one mutated response (status, headers, body) or
cuts the connection the way aiohttp reports it. Oracles:

* only the typed taxonomy (:mod:`adapters.core.net.http_errors`, the venue's subclasses) may escape a
  client call;
* a call that returns normally must have had a 2xx answer whose body is not a venue error
  (Binance: an integer ``code`` other than 0/200; BingX: a non-zero envelope ``code``);
* after the answer, a well-formed request must go through without an unbounded (or non-finite)
  wait: a header value must not block the client for years or raise on the wait.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from tests.fuzz import mutate, strict
from tests.fuzz.base import (
    FIXTURES,
    HTTP_SUCCESS_ON_ERROR,
    HTTP_UNTYPED,
    STALL,
    Case,
    Finding,
    Target,
    location,
)
from tests.fuzz.targets.values import field

STATUSES = [200] * 12 + [
    201,
    204,
    299,
    302,
    400,
    401,
    403,
    404,
    408,
    409,
    418,
    429,
    500,
    502,
    503,
    504,
    520,
    999,
]
HEADER_VALUES = [
    "1",
    "0",
    "-1",
    "inf",
    "-inf",
    "nan",
    "NaN",
    "1e400",
    "",
    " ",
    "abc",
    "99999999999",
    "0.5",
    " 2 ",
    "\u0661",
    "\uff12",
    "1_0",
    "1e3",
    "18446744073709551616",
    "2400",
    "3.5e1",
]
CUTS = ["disconnected", "payload", "oserror", "timeout", "reset", "read-cut"]
MAX_SANE_WAIT = 7 * 86_400.0  # a week: longer than any ban the venues document


class _Resp:
    def __init__(self, status: int, body: bytes, headers: dict[str, str], cut: str | None) -> None:
        self.status = status
        self._body = body
        self.headers = CIMultiDictProxy(CIMultiDict(headers))
        self._cut = cut

    async def read(self) -> bytes:
        if self._cut == "read-cut":
            raise aiohttp.ClientPayloadError("Response payload is not completed")
        return self._body

    async def __aenter__(self) -> _Resp:
        if self._cut == "disconnected":
            raise aiohttp.ServerDisconnectedError()
        if self._cut == "payload":
            raise aiohttp.ClientPayloadError("cut")
        if self._cut == "oserror":
            raise aiohttp.ClientOSError(104, "Connection reset by peer")
        if self._cut == "timeout":
            raise TimeoutError()
        if self._cut == "reset":
            raise ConnectionResetError(104, "reset")
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None


class FakeSession:
    """Answers with ``responses`` in turn (the last one repeats)."""

    closed = False

    def __init__(self, responses: list[tuple[int, bytes, dict[str, str], str | None]]) -> None:
        self.responses = responses
        self.calls = 0

    def request(self, method: str, url: Any, **kwargs: Any) -> _Resp:
        r = self.responses[min(self.calls, len(self.responses) - 1)]
        self.calls += 1
        return _Resp(*r)

    async def close(self) -> None:
        pass


def _body(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text())


def _how_long(s: float) -> str:
    return "non-finite" if not math.isfinite(s) else "negative" if s < 0 else "years"


class _HttpBase(Target):
    venue = ""
    calls: dict[str, tuple[str, dict[str, Any], str]] = {}  # name -> (method, kwargs, success fixture)
    header_names: tuple[str, ...] = ()
    error_bodies: list[Any] = []

    def setup(self) -> None:
        self.bodies = {name: _body(fx) if fx else {} for name, (_, _, fx) in self.calls.items()}
        self._loop: asyncio.AbstractEventLoop | None = None

    def random_case(self, rng: random.Random) -> Case:
        call = rng.choice(sorted(self.calls))
        roll = rng.random()
        if roll < 0.45:
            kind, doc = "success", self.bodies[call]
        elif roll < 0.8:
            kind, doc = "error", rng.choice(self.error_bodies)
        else:
            kind, doc = rng.choice(["empty", "html", "garbage", "truncated"]), None
        headers = {}
        for name in self.header_names:
            if rng.random() < 0.3:
                headers[name] = rng.choice(HEADER_VALUES)
        ops = mutate.random_ops(rng, doc) if doc is not None and rng.random() < 0.6 else []
        return {
            "call": call,
            "status": rng.choice(STATUSES),
            "headers": headers,
            "body": kind,
            "error_doc": doc if kind == "error" else None,
            "ops": ops,
            "cut": rng.choice(CUTS) if rng.random() < 0.07 else None,
        }

    def hypothesis_case(self) -> Any:
        from hypothesis import strategies as st

        header = st.one_of(
            st.sampled_from(HEADER_VALUES),
            st.text(max_size=30),
            st.floats(allow_nan=True, allow_infinity=True).map(str),
            st.integers().map(str),
        )

        def build(call: str) -> Any:
            return st.fixed_dictionaries(
                {
                    "call": st.just(call),
                    "status": st.one_of(st.sampled_from(STATUSES), st.integers(min_value=100, max_value=999)),
                    "headers": st.dictionaries(st.sampled_from(self.header_names), header, max_size=3),
                    "body": st.just("error"),
                    "error_doc": st.sampled_from(self.error_bodies),
                    "ops": st.just([]),
                    "cut": st.none(),
                }
            )

        return st.sampled_from(sorted(self.calls)).flatmap(build)

    def frame_bytes(self, case: Case) -> bytes:
        kind = case["body"]
        if kind == "empty":
            return b""
        if kind == "html":
            return b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        if kind == "garbage":
            return b"\xff\xfe{not json"
        doc = case["error_doc"] if kind == "error" else self.bodies[case["call"]]
        data = mutate.build(doc, case["ops"])
        return data[: len(data) // 2] if kind == "truncated" else data

    def _ensure(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
        return self._loop

    def execute(self, case: Case) -> list[Finding]:
        return self._ensure().run_until_complete(self._execute(case))

    def make_client(self, session: FakeSession, sleeps: list[float]) -> Any:
        raise NotImplementedError

    def is_error_body(self, doc: Any) -> bool:
        raise NotImplementedError

    async def _execute(self, case: Case) -> list[Finding]:
        from adapters.core.net.http_errors import VenueError

        body = self.frame_bytes(case)
        sleeps: list[float] = []
        session = FakeSession([(case["status"], body, case["headers"], case["cut"])])
        client = self.make_client(session, sleeps)
        method, kwargs, _ = self.calls[case["call"]]
        found: list[Finding] = []
        returned = False
        try:
            await asyncio.wait_for(getattr(client, method)(**kwargs), 5.0)
            returned = True
        except VenueError:
            pass
        except Exception as exc:
            found.append(
                Finding(
                    HTTP_UNTYPED,
                    f"{self.venue}: {location(exc.__traceback__, exc)}",
                    f"{case['call']}: {type(exc).__name__}: {exc!s:.200}",
                )
            )
        if returned:
            doc = strict.loads(body)
            if self.is_error_body(doc):
                found.append(
                    Finding(
                        HTTP_SUCCESS_ON_ERROR,
                        f"{self.venue}: {case['call']} returned on a venue error body",
                        f"HTTP {case['status']} {body[:120]!r}",
                    )
                )
            elif not 200 <= case["status"] < 300 and case["cut"] is None:
                found.append(
                    Finding(
                        HTTP_SUCCESS_ON_ERROR,
                        f"{self.venue}: {case['call']} returned on HTTP {case['status'] // 100}xx",
                        f"HTTP {case['status']} {body[:120]!r}",
                    )
                )
        # A well-formed answer next: it must come through without an unbounded or broken wait.
        session.responses = [(200, self.ok_body(), {}, None)]
        try:
            await asyncio.wait_for(self.probe(client), 5.0)
        except VenueError:
            pass
        except Exception as exc:
            found.append(
                Finding(
                    HTTP_UNTYPED,
                    f"{self.venue}: next request: {location(exc.__traceback__, exc)}",
                    f"after {case['headers']!r:.120}: {type(exc).__name__}: {exc!s:.200}",
                )
            )
        for s in sleeps:
            if not math.isfinite(s) or s < 0 or s > MAX_SANE_WAIT:
                found.append(
                    Finding(
                        STALL,
                        f"{self.venue}: rate-limit header makes the client wait {_how_long(s)}",
                        f"headers {case['headers']!r:.160} -> sleep({s})",
                    )
                )
                break
        await client.close()
        return found

    def ok_body(self) -> bytes:
        raise NotImplementedError

    async def probe(self, client: Any) -> None:
        raise NotImplementedError


# ==================================================================================================


class BinanceHttpTarget(_HttpBase):
    name = "binance-http"
    description = "Binance REST client response handling (status, headers, bodies, cuts)"
    weight = 0.8
    venue = "binance"
    header_names = ("Retry-After", "X-MBX-USED-WEIGHT-1M", "X-MBX-ORDER-COUNT-10S", "X-MBX-ORDER-COUNT-1M")
    error_bodies = [
        {"code": -2011, "msg": "Unknown order sent."},
        {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
        {"code": -1003, "msg": "Too many requests."},
        {"code": -1007, "msg": "Timeout waiting for response from backend server."},
        {"code": -2019, "msg": "Margin is insufficient."},
        {"code": "-2011", "msg": "Unknown order sent."},
        {"code": -2011},
        {"msg": "no code"},
    ]
    calls = {
        "query_order": (
            "query_order",
            {"symbol": "ETHUSDT", "order_id": 1},
            "binance_futures/http_order.json",
        ),
        "new_order": (
            "new_order",
            {
                "symbol": "ETHUSDT",
                "side": "SELL",
                "order_type": "LIMIT",
                "quantity": "0.1",
                "price": "3150.1",
                "time_in_force": "GTC",
            },
            "binance_futures/http_order.json",
        ),
        "cancel_order": (
            "cancel_order",
            {"symbol": "ETHUSDT", "order_id": 1},
            "binance_futures/http_order.json",
        ),
        "open_orders": ("open_orders", {"symbol": "ETHUSDT"}, "binance_futures/http_open_orders.json"),
        "user_trades": ("user_trades", {"symbol": "ETHUSDT"}, "binance_futures/http_user_trades.json"),
        "account": ("account", {"version": 3}, "binance_futures/http_account_v3.json"),
        "balance": ("balance", {"version": 3}, "binance_futures/http_balance_v3.json"),
        "position_risk": ("position_risk", {"version": 3}, "binance_futures/http_position_risk_v3.json"),
        "commission_rate": (
            "commission_rate",
            {"symbol": "ETHUSDT"},
            "binance_futures/http_commission_rate.json",
        ),
        "position_side_dual": ("position_side_dual", {}, "binance_futures/http_position_side_dual.json"),
        "create_listen_key": ("create_listen_key", {}, "binance_futures/http_listen_key.json"),
        "keepalive_listen_key": ("keepalive_listen_key", {}, ""),
        "depth": ("depth", {"symbol": "BTCUSDT"}, "binance_futures/market/rest_depth.json"),
        "klines": (
            "klines",
            {"symbol": "BTCUSDT", "interval": "1m"},
            "binance_futures/market/rest_klines.json",
        ),
        "agg_trades": ("agg_trades", {"symbol": "BTCUSDT"}, "binance_futures/market/rest_agg_trades.json"),
        "premium_index": (
            "premium_index",
            {"symbol": "BTCUSDT"},
            "binance_futures/market/rest_premium_index.json",
        ),
    }

    def setup(self) -> None:
        super().setup()
        import inspect

        from adapters.binance_futures.http import BinanceFuturesHttpClient

        # Keep only calls this client version has, with the parameters it takes.
        for name, (method, kwargs, _) in list(self.calls.items()):
            fn = getattr(BinanceFuturesHttpClient, method, None)
            if fn is None:
                del self.calls[name]
                continue
            params = inspect.signature(fn).parameters
            self.calls[name] = (method, {k: v for k, v in kwargs.items() if k in params}, self.calls[name][2])

    def make_client(self, session: FakeSession, sleeps: list[float]) -> Any:
        from adapters.binance_futures.http import BinanceFuturesHttpClient

        async def sleep(secs: float) -> None:
            sleeps.append(secs)

        return BinanceFuturesHttpClient(
            "http://127.0.0.1:1",
            "key",
            "secret",
            session=session,
            sleep=sleep,  # type: ignore[arg-type]
            wall_ms=lambda: 1_700_000_000_000,
        )

    def is_error_body(self, doc: Any) -> bool:
        code = field(doc, "code")
        code = strict.integer(code) if not isinstance(code, bool) else None
        return code is not None and code not in (0, 200)

    def ok_body(self) -> bytes:
        return b'{"serverTime":1700000000000}'

    async def probe(self, client: Any) -> None:
        await client.server_time()


class BingxHttpTarget(_HttpBase):
    name = "bingx-http"
    description = "BingX REST client response handling (envelopes, status, headers, cuts)"
    weight = 0.8
    venue = "bingx"
    header_names = ("Retry-After", "X-RateLimit-Requests-Remain", "X-RateLimit-Requests-Expire")
    error_bodies = [
        {"code": 109400, "msg": "order not exist", "data": {}},
        {"code": 100410, "msg": "rate limited", "data": {}},
        {"code": 80012, "msg": "service unavailable", "data": {}},
        {"code": 100421, "msg": "timestamp", "data": {}},
        {"code": "109400", "msg": "order not exist"},
        {"code": 109400},
        {"msg": "no code", "data": None},
        {"code": 0, "msg": "", "data": None},
    ]
    calls = {
        "query_order": ("query_order", {"symbol": "OP-USDT", "order_id": 1}, "bingx/order_query.json"),
        "cancel_order": ("cancel_order", {"symbol": "OP-USDT", "order_id": 1}, "bingx/cancel_order.json"),
        "open_orders": ("open_orders", {"symbol": "OP-USDT"}, "bingx/open_orders.json"),
        "balance": ("balance", {}, "bingx/balance.json"),
        "positions": ("positions", {}, "bingx/positions.json"),
        "fill_history": (
            "fill_history",
            {"symbol": "OP-USDT", "end_ts": 1700000000000},
            "bingx/fill_history.json",
        ),
        "contracts": ("contracts", {}, "bingx/contracts.json"),
        "create_listen_key": ("create_listen_key", {}, ""),
        "keepalive_listen_key": ("keepalive_listen_key", {"listen_key": "k"}, ""),
        "server_time": ("server_time", {}, ""),
    }

    def setup(self) -> None:
        super().setup()
        self.bodies["create_listen_key"] = {"listenKey": "abc"}
        self.bodies["server_time"] = {"code": 0, "msg": "", "data": {"serverTime": 1700000000000}}

    def make_client(self, session: FakeSession, sleeps: list[float]) -> Any:
        from adapters.bingx.http import BingxHttpClient

        async def sleep(secs: float) -> None:
            sleeps.append(secs)

        return BingxHttpClient(
            "http://127.0.0.1:1",
            "key",
            "secret",
            session=session,
            sleep=sleep,  # type: ignore[arg-type]
            wall_ms=lambda: 1_700_000_000_000,
        )

    def is_error_body(self, doc: Any) -> bool:
        code = field(doc, "code")
        code = strict.integer(code) if not isinstance(code, bool) else None
        return code is not None and code != 0

    def ok_body(self) -> bytes:
        return b'{"code":0,"msg":"","data":{"serverTime":1700000000000}}'

    async def probe(self, client: Any) -> None:
        await client.server_time()
