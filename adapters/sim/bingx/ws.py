"""The BingX websocket endpoint ``/swap-market``: market data by subscription, and the user-data
stream when connected with ``?listenKey=<key>`` (no subscription needed: every event is pushed).

Heartbeat: the server sends a gzip-compressed ``Ping`` every ``ping_interval`` seconds and drops
the connection when no ``Pong`` text frame arrived within ``pong_timeout`` (a client's own
``Ping`` is answered with ``Pong``). Requests are JSON ``{"id", "reqType": "sub"|"unsub",
"dataType"}``, acknowledged ``{"id", "code": 0, "msg": "", "dataType": "", "data": null}``; an
invalid frame (``{}`` included, on the user stream too) gets code 80014. Connecting with an unknown
or expired listen key fails the handshake (HTTP 400, code 80014). A connection lives at most
``max_connection_age`` seconds (close 1001).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from adapters.sim.bingx import wire
from adapters.sim.faults import KIND_MARKET, KIND_USER, LiveConnection, serve_ws
from adapters.sim.listen_keys import abbreviate
from adapters.sim.wirejson import MalformedJson, decode

if TYPE_CHECKING:
    from adapters.sim.bingx.app import BingxVenue

WS_PATH = "/swap-market"


def ack(req_id: Any, code: int = 0, msg: str = "", data_type: str = "") -> dict[str, Any]:
    rid = req_id if req_id is not None else ""
    return {"id": rid, "code": code, "msg": msg, "dataType": data_type, "data": None}


class StreamServer:
    def __init__(self, venue: BingxVenue) -> None:
        self.venue = venue
        venue.faults.market_gap_hook = venue.market.inject_gap

    def install(self, app: web.Application) -> None:
        app.router.add_get(WS_PATH, self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        v = self.venue
        listen_key = request.query.get("listenKey")
        if listen_key is not None and v.listen_keys.get_active(listen_key) is None:
            body = {"code": 80014, "msg": "listenKey does not exist or has expired"}
            return web.Response(body=msgspec.json.encode(body), status=400, content_type="application/json")
        kind = KIND_USER if listen_key else KIND_MARKET

        def on_open(conn: LiveConnection) -> None:
            v.market.attach(conn)
            if listen_key:
                lk = v.listen_keys.get_active(listen_key)
                if lk is not None:
                    v.user.bind(conn, lk, False)
                    v.on_user_connected(lk)
            conn.describe = lambda: {
                "listen_keys": [abbreviate(k) for k in v.user.bound_keys(conn)],
                "streams": v.market.topics_of(conn),
            }

        async def on_text(conn: LiveConnection, text: str) -> None:
            reply = self._command(conn, text)
            if reply is not None:
                conn.send(reply)

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

    def _command(self, conn: LiveConnection, text: str) -> bytes | None:
        v = self.venue
        stripped = text.strip()
        if stripped == "Pong":
            conn.on_pong()
            return None
        if stripped == "Ping":
            return wire.gz("Pong")
        try:
            msg = decode(stripped)
        except MalformedJson:  # bad syntax or nested too deep: 80014, the socket stays open
            return wire.gz(ack("", 80014, "invalid params"))
        if not isinstance(msg, dict):
            return wire.gz(ack("", 80014, "invalid params"))
        if "pong" in msg:  # the spot-style JSON heartbeat answer
            conn.on_pong()
            return None
        req_id = msg.get("id")
        if not isinstance(req_id, str | int) or isinstance(req_id, bool):
            req_id = ""  # only a string or number can be echoed back
        req_type = msg.get("reqType")
        data_type = msg.get("dataType")
        if req_type not in ("sub", "unsub") or not isinstance(data_type, str) or not data_type:
            return wire.gz(ack(req_id, 80014, "invalid params"))
        code = v.market.check(conn, data_type) if req_type == "sub" else 0
        if code == 0:
            conn.send(wire.gz(ack(req_id)))  # the ack goes before the topic's first push
            if req_type == "sub":
                v.market.subscribe(conn, data_type)
            else:
                v.market.unsubscribe(conn, data_type)
            return None
        if code == 80403:
            msg = "the number of subscriptions exceeds the limit of 200"
            return wire.gz(ack(req_id, 80403, msg, data_type))
        return wire.gz(ack(req_id, code, f"invalid dataType: {data_type}", data_type))
