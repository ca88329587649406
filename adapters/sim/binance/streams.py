"""The Binance websocket stream endpoints (market and user data share one handler, as on the
venue): ``/ws[/<name>[/<name>...]]`` and ``/stream?streams=a/b`` under each route prefix —
``/public``, ``/market``, ``/private`` and the legacy unrouted root — plus the private forms
``/private/ws?listenKey=<k>&events=A/B``, ``/private/stream?listenKey=<k1>&events=A&listenKey=<k2>``
and ``/private/ws/<key>``.

Which route serves what is :mod:`adapters.sim.binance.routes` (the venue since its 2026 URL split,
with the sources relied on): a stream asked on a route that does not serve it — and anything but a
public stream on a legacy root path — is accepted and stays silent, as on the venue; the simulator's
``legacy_urls`` setting brings back the old behaviour (every route serves everything).

A name containing ``@`` is a market stream; anything else is a listen key. Raw endpoints send
bare events; combined endpoints wrap them as ``{"stream": name, "data": event}``. Connecting to a
route that serves user data with a listen key that is unknown, expired or deleted fails the
handshake with HTTP 400 and ``-1125``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from adapters.sim.binance import errors, routes
from adapters.sim.binance.market_stream import TooManyStreams, is_market_stream
from adapters.sim.binance.signing import abbreviate
from adapters.sim.faults import KIND_MARKET, KIND_USER, LiveConnection, serve_ws
from adapters.sim.wirejson import MalformedJson, decode

if TYPE_CHECKING:
    from adapters.sim.binance.app import BinanceVenue

STREAM_PREFIXES = routes.ROUTES


class StreamServer:
    def __init__(self, venue: BinanceVenue) -> None:
        self.venue = venue
        venue.faults.market_gap_hook = venue.market.inject_gap
        self.unrouted_connections = 0  # legacy root-path sockets opened while routes are enforced

    def install(self, app: web.Application) -> None:
        for prefix in STREAM_PREFIXES:
            app.router.add_get(f"{prefix}/ws", self.handle)
            app.router.add_get(prefix + "/ws/{names:.+}", self.handle)
            app.router.add_get(f"{prefix}/stream", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        v = self.venue
        legacy = v.settings.legacy_urls
        path = request.path
        route = routes.route_of(path)
        combined = path.endswith("/stream")
        names: list[str] = []
        if combined:
            names = [n for n in request.query.get("streams", "").split("/") if n]
        elif "names" in request.match_info:
            names = [n for n in request.match_info["names"].split("/") if n]
        market = [n for n in names if is_market_stream(n)]
        # Listen keys: in the path or streams= (all events), or listenKey=/events= pairs in the query.
        keyed: list[tuple[str, frozenset[str] | None]] = [(n, None) for n in names if not is_market_stream(n)]
        keyed += routes.private_subscriptions(list(request.query.items()))
        user_route = routes.serves_user_data(route, legacy_urls=legacy)
        if user_route:
            for key, _ in keyed:
                if v.listen_keys.get_active(key) is None:
                    err = errors.listen_key_missing()
                    return web.Response(body=err.json(), status=400, content_type="application/json")
        # Elsewhere a listen key is just a name the route does not serve: accepted, silent.
        kind = KIND_USER if route == routes.PRIVATE or (user_route and keyed) else KIND_MARKET
        if route == routes.ROOT and not legacy:
            self.unrouted_connections += 1
        try:
            v.market.check_capacity(None, market)
        except TooManyStreams as exc:
            body = msgspec.json.encode({"code": -1100, "msg": str(exc)})
            return web.Response(body=body, status=400, content_type="application/json")

        def on_open(conn: LiveConnection) -> None:
            if kind == KIND_USER:
                v.user.attach(conn, combined)
            v.market.attach(conn, combined)
            if user_route:
                for key, events in keyed:
                    lk = v.listen_keys.get_active(key)
                    if lk is not None:
                        v.user.bind(conn, lk, combined, events)
            for name in market:
                v.market.subscribe(
                    conn, name, combined, deliver=routes.serves_stream(route, name, legacy_urls=legacy)
                )
            conn.describe = lambda: {
                "route": route or "/",
                "listen_keys": [abbreviate(k) for k in v.user.bound_keys(conn)],
                "streams": v.market.streams_of(conn),
                "combined": combined,
            }

        async def on_text(conn: LiveConnection, text: str) -> None:
            conn.send(msgspec.json.encode(self._command(conn, text, combined, route)).decode())

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

    def _command(
        self, conn: LiveConnection, text: str, combined: bool, route: routes.Route
    ) -> dict[str, Any]:
        v = self.venue
        legacy = v.settings.legacy_urls
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
                        # Another route's stream is acknowledged and never delivered (routes.py).
                        serves = routes.serves_stream(route, name, legacy_urls=legacy)
                        v.market.subscribe(conn, name, combined, deliver=serves)
                    else:
                        v.market.unsubscribe(conn, name)
                elif not routes.serves_user_data(route, legacy_urls=legacy):
                    continue  # a listen key on a market route: acknowledged, nothing bound
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
