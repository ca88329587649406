"""The simulator's ``/sim/...`` control routes: fault injection and ground truth over HTTP.

Unauthenticated (the simulator binds to loopback only). Each route calls the same ``Faults``
method as the Python API ``sim.faults``; see ``adapters.sim.faults`` for the semantics.

    POST /sim/listen-keys/expire              every active listen key expires now
    POST /sim/streams/drop?kind=K              abort sockets (no close frame); K user|market|api|all
    POST /sim/streams/stall?kind=K&seconds=N[&mode=drop|queue]
    POST /sim/streams/refuse?kind=K[&on=true|false]  new handshakes of K fail with 503 (default on)
    POST /sim/streams/die-on-connect?kind=K[&count=N][&on=true|false]
                                               new sockets of K are aborted right after the handshake
    POST /sim/connections/expire[?kind=K]      the 24-hour close, now (1001 + reason)
    POST /sim/fail {"method","path","count","status","code","msg","after_execute","execute_after_ms"}
                                               method "WS": WS-API requests, path = WS method
                                               (e.g. "order.place"); status 0 cuts the socket;
                                               execute_after_ms: executed that much later
    POST /sim/latency {"rest_ms","ws_ms"}
    POST /sim/user-events {"duplicate","reorder","drop_ratio"}   drop_ratio in [0, 1]: events lost
    POST /sim/price {"symbol","price"}
    POST /sim/step?n=N
    POST /sim/trade {"symbol","side","qty","price"?}  an external taker trades qty against the
                                               account's resting orders (partial fills on demand)
    POST /sim/clock {"skew_ms"}
    POST /sim/margin-call {"account"?}
    POST /sim/market/gap?symbol=S[&count=N]   the next N depth diffs of S are lost (chain break)
    POST /sim/history/age {"ms"}              history queries see trades ms older
    POST /sim/reset-faults
    GET  /sim/state
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from adapters.sim.faults import Faults
from adapters.sim.model import VenueReject
from adapters.sim.wirejson import MalformedJson, decode


class FailBody(msgspec.Struct, forbid_unknown_fields=True):
    method: str = "*"
    path: str = "*"
    count: int = 1
    status: int = 503
    code: int | None = None
    msg: str | None = None
    after_execute: bool = False
    execute_after_ms: int | None = None


class HistoryAgeBody(msgspec.Struct, forbid_unknown_fields=True):
    ms: int


class LatencyBody(msgspec.Struct, forbid_unknown_fields=True):
    rest_ms: int | None = None
    ws_ms: int | None = None


class UserEventsBody(msgspec.Struct, forbid_unknown_fields=True):
    duplicate: bool | None = None
    reorder: bool | None = None
    drop_ratio: float | None = None


class PriceBody(msgspec.Struct, forbid_unknown_fields=True):
    symbol: str
    price: str | float | int


class TradeBody(msgspec.Struct, forbid_unknown_fields=True):
    symbol: str
    side: str
    qty: str | float | int
    price: str | float | int | None = None


class ClockBody(msgspec.Struct, forbid_unknown_fields=True):
    skew_ms: int


class MarginCallBody(msgspec.Struct, forbid_unknown_fields=True):
    account: str | None = None


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(body), status=status, content_type="application/json")


class ControlError(Exception):
    pass


def _decode(raw: bytes, typ: type[Any]) -> Any:
    try:
        return decode(raw or b"{}", typ)
    except MalformedJson as exc:
        raise ControlError(str(exc)) from None


def _flag(request: web.Request, name: str, default: str = "true") -> bool:
    return request.query.get(name, default).lower() not in ("0", "false", "no", "off")


def add_control_routes(app: web.Application, faults: Faults, state: Callable[[], dict[str, Any]]) -> None:
    Handler = Callable[[web.Request], Awaitable[Any]]

    def route(method: str, path: str) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            async def handle(request: web.Request) -> web.Response:
                try:
                    return _json(await fn(request))
                # ArithmeticError: overflowing or non-numeric numbers (e.g. seconds=1e400).
                except (ControlError, ValueError, ArithmeticError, RuntimeError, VenueReject) as exc:
                    return _json({"ok": False, "error": str(exc)}, 400)

            app.router.add_route(method, path, handle)
            return fn

        return deco

    @route("POST", "/sim/listen-keys/expire")
    async def expire_keys(request: web.Request) -> Any:
        return {"ok": True, "expired": faults.expire_listen_keys()}

    @route("POST", "/sim/streams/drop")
    async def drop(request: web.Request) -> Any:
        return {"ok": True, "dropped": faults.drop_streams(request.query.get("kind", "all"))}

    @route("POST", "/sim/streams/stall")
    async def stall(request: web.Request) -> Any:
        seconds = float(request.query.get("seconds", "5"))
        n = faults.stall_streams(request.query.get("kind", "all"), seconds, request.query.get("mode", "drop"))
        return {"ok": True, "stalled": n, "seconds": seconds}

    @route("POST", "/sim/streams/refuse")
    async def refuse(request: web.Request) -> Any:
        on = _flag(request, "on")
        return {"ok": True, "refused": faults.refuse_streams(request.query.get("kind", "all"), on)}

    @route("POST", "/sim/streams/die-on-connect")
    async def die_on_connect(request: web.Request) -> Any:
        raw_count = request.query.get("count")
        count = int(raw_count) if raw_count else None
        kinds = faults.die_on_connect(request.query.get("kind", "all"), count, _flag(request, "on"))
        return {"ok": True, "die_on_connect": kinds}

    @route("POST", "/sim/connections/expire")
    async def expire_conns(request: web.Request) -> Any:
        return {"ok": True, "expired": faults.expire_connections(request.query.get("kind", "all"))}

    @route("POST", "/sim/fail")
    async def fail(request: web.Request) -> Any:
        b = _decode(await request.read(), FailBody)
        rule = faults.fail(
            b.method, b.path, b.count, b.status, b.code, b.msg, b.after_execute, b.execute_after_ms
        )
        return {"ok": True, "rule": msgspec.structs.asdict(b) | {"count": rule.count}}

    @route("POST", "/sim/latency")
    async def latency(request: web.Request) -> Any:
        b = _decode(await request.read(), LatencyBody)
        faults.set_latency(b.rest_ms, b.ws_ms)
        return {"ok": True, "rest_ms": faults.rest_latency_ms, "ws_ms": faults.ws_latency_ms}

    @route("POST", "/sim/user-events")
    async def user_events(request: web.Request) -> Any:
        b = _decode(await request.read(), UserEventsBody)
        faults.set_user_events(b.duplicate, b.reorder, b.drop_ratio)
        return {
            "ok": True,
            "duplicate": faults.duplicate_user_events,
            "reorder": faults.reorder_user_events,
            "drop_ratio": faults.user_event_drop_ratio,
        }

    @route("POST", "/sim/price")
    async def price(request: web.Request) -> Any:
        b = _decode(await request.read(), PriceBody)
        faults.set_price(b.symbol, str(b.price))
        return {"ok": True, "symbol": b.symbol, "price": str(b.price)}

    @route("POST", "/sim/trade")
    async def trade(request: web.Request) -> Any:
        b = _decode(await request.read(), TradeBody)
        price = str(b.price) if b.price is not None else None
        traded = faults.external_trade(b.symbol, b.side, str(b.qty), price)
        return {"ok": True, "symbol": b.symbol, "side": b.side.upper(), "traded": str(traded)}

    @route("POST", "/sim/step")
    async def step(request: web.Request) -> Any:
        n = int(request.query.get("n", "1"))
        faults.step(n)
        return {"ok": True, "steps": n}

    @route("POST", "/sim/clock")
    async def clock(request: web.Request) -> Any:
        b = _decode(await request.read(), ClockBody)
        faults.set_clock_skew(b.skew_ms)
        return {"ok": True, "skew_ms": faults.clock_skew_ms}

    @route("POST", "/sim/margin-call")
    async def margin_call(request: web.Request) -> Any:
        b = _decode(await request.read(), MarginCallBody)
        return {"ok": True, "account": faults.margin_call(b.account)}

    @route("POST", "/sim/market/gap")
    async def market_gap(request: web.Request) -> Any:
        symbol = request.query.get("symbol")
        if not symbol:
            raise ControlError("symbol is required")
        count = int(request.query.get("count", "1"))
        return {"ok": True, "symbol": faults.market_gap(symbol, count), "count": count}

    @route("POST", "/sim/history/age")
    async def history_age(request: web.Request) -> Any:
        b = _decode(await request.read(), HistoryAgeBody)
        return {"ok": True, "ms": faults.age_history(b.ms)}

    @route("POST", "/sim/reset-faults")
    async def reset(request: web.Request) -> Any:
        faults.reset()
        return {"ok": True}

    @route("GET", "/sim/state")
    async def get_state(request: web.Request) -> Any:
        return state()
