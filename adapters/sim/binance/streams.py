"""The Binance websocket stream endpoints (market and user data share one handler, as on the
venue): ``/ws[/<name>]``, ``/stream?streams=a/b``, ``/private/ws?listenKey=``,
``/private/ws/<key>``, and the ``/market/...`` and ``/public/...`` aliases.

A name containing ``@`` is a market stream; anything else is a listen key. Raw endpoints send
bare events; combined endpoints wrap them as ``{"stream": name, "data": event}``. Connecting
with a listen key that is unknown, expired or deleted fails the handshake with HTTP 400 and
``-1125``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from adapters.sim.binance import errors
from adapters.sim.binance.market_stream import TooManyStreams, is_market_stream
from adapters.sim.binance.signing import abbreviate
from adapters.sim.faults import KIND_MARKET, KIND_USER, LiveConnection, serve_ws
from adapters.sim.wirejson import MalformedJson, decode

if TYPE_CHECKING:
    from adapters.sim.binance.app import BinanceVenue

STREAM_PREFIXES = ("", "/private", "/market", "/public")


class StreamServer:
    def __init__(self, venue: BinanceVenue) -> None:
        self.venue = venue
        venue.faults.market_gap_hook = venue.market.inject_gap

    def install(self, app: web.Application) -> None:
        for prefix in STREAM_PREFIXES:
            app.router.add_get(f"{prefix}/ws", self.handle)
            app.router.add_get(prefix + "/ws/{name}", self.handle)
            app.router.add_get(f"{prefix}/stream", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        v = self.venue
        path = request.path
        combined = path.endswith("/stream")
        names: list[str] = []
        if combined:
            names = [n for n in request.query.get("streams", "").split("/") if n]
        elif "name" in request.match_info:
            names = [request.match_info["name"]]
        listen_key = request.query.get("listenKey")
        if listen_key:
            names.append(listen_key)
        keys = [n for n in names if not is_market_stream(n)]
        market = [n for n in names if is_market_stream(n)]
        for key in keys:
            if v.listen_keys.get_active(key) is None:
                err = errors.listen_key_missing()
                return web.Response(body=err.json(), status=400, content_type="application/json")
        kind = KIND_USER if keys or path.startswith("/private") else KIND_MARKET
        try:
            v.market.check_capacity(None, market)
        except TooManyStreams as exc:
            body = msgspec.json.encode({"code": -1100, "msg": str(exc)})
            return web.Response(body=body, status=400, content_type="application/json")

        def on_open(conn: LiveConnection) -> None:
            if kind == KIND_USER:
                v.user.attach(conn, combined)
            v.market.attach(conn, combined)
            for key in keys:
                lk = v.listen_keys.get_active(key)
                if lk is not None:
                    v.user.bind(conn, lk, combined)
            for name in market:
                v.market.subscribe(conn, name, combined)
            conn.describe = lambda: {
                "listen_keys": [abbreviate(k) for k in v.user.bound_keys(conn)],
                "streams": v.market.streams_of(conn),
                "combined": combined,
            }

        async def on_text(conn: LiveConnection, text: str) -> None:
            conn.send(msgspec.json.encode(self._command(conn, text, combined)).decode())

        def on_close(conn: LiveConnection) -> None:
            v.user.detach(conn)
            v.market.detach(conn)

        return await serve_ws(
            request,
            v.registry,
            v.faults,
            kind=kind,
            settings=v.ws_settings,
            on_open=on_open,
            on_text=on_text,
            on_close=on_close,
        )

    def _command(self, conn: LiveConnection, text: str, combined: bool) -> dict[str, Any]:
        v = self.venue
        try:
            msg = decode(text)
        except MalformedJson:  # bad syntax or nested too deep: the venue's error frame, socket stays
            return {
                "error": {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"},
                "id": None,
            }
        if not isinstance(msg, dict):
            return {"error": {"code": 2, "msg": "Invalid request: request must be an object"}, "id": None}
        req_id = msg.get("id")
        if req_id is not None and (isinstance(req_id, bool) or not isinstance(req_id, int | str)):
            return {
                "error": {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"},
                "id": None,
            }
        method = msg.get("method")
        params = msg.get("params") or []
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                return {
                    "error": {"code": 2, "msg": "Invalid request: params must be a list of strings"},
                    "id": req_id,
                }
            if method == "SUBSCRIBE":
                try:
                    v.market.check_capacity(conn, params)
                except TooManyStreams as exc:
                    return {"error": {"code": 2, "msg": str(exc)}, "id": req_id}
            for name in params:
                if is_market_stream(name):
                    if method == "SUBSCRIBE":
                        v.market.subscribe(conn, name, combined)
                    else:
                        v.market.unsubscribe(conn, name)
                elif method == "SUBSCRIBE":
                    lk = v.listen_keys.get_active(name)
                    if lk is None:
                        return {
                            "error": {
                                "code": errors.INVALID_LISTEN_KEY,
                                "msg": "This listenKey does not exist.",
                            },
                            "id": req_id,
                        }
                    v.user.bind(conn, lk, combined)
                else:
                    v.user.unbind(conn, name)
            return {"result": None, "id": req_id}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": v.market.streams_of(conn) + v.user.bound_keys(conn), "id": req_id}
        if method == "SET_PROPERTY":
            return {"result": None, "id": req_id}
        if method == "GET_PROPERTY":
            return {"result": combined, "id": req_id}
        return {"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"}, "id": req_id}
