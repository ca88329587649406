"""Binance USD-M WebSocket trading API (``/ws-fapi/v1``).

Requests ``{"id", "method", "params"}`` → responses ``{"id", "status", "result" | "error",
"rateLimits"}``. Each request is signed over its params (minus ``signature``) sorted by name
and URL-query formatted, unless the connection did ``session.logon`` with an Ed25519 key, after
which ``apiKey``/``signature`` may be omitted (``timestamp`` is still checked).

Injected failures (``/sim/fail`` with ``method="WS"``, ``path`` = the WS method name, e.g.
``order.place``): without ``after_execute`` the request is not executed and answered with the
rule's error (e.g. ``status=408, code=-1007``); with it, the request is executed and then the
answer is replaced by that error, or for ``status=0`` the socket is cut instead of answering —
the outcomes a client must resolve by querying. With ``execute_after_ms`` the request is answered
with the rule's error (or the socket cut) now and executed that much later, on the key it was
signed with (``adapters.sim.late``).

A frame that is not a JSON object (bad syntax, nesting too deep) is answered ``-1102`` with
``"id": null``, a request whose ``id`` is not a string, integer or null likewise; the socket stays
open, as on the venue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from adapters.sim.binance import errors, ops
from adapters.sim.binance.errors import BinanceError
from adapters.sim.binance.ops import Params
from adapters.sim.binance.signing import ApiKey, check_timestamp, verify_ws
from adapters.sim.faults import KIND_API, FailRule, LiveConnection, now_ms, serve_ws
from adapters.sim.late import Outcome, request_deadline_ms
from adapters.sim.wirejson import MalformedJson, decode

if TYPE_CHECKING:
    from adapters.sim.binance.app import BinanceVenue

ORDER_METHODS = {"order.place", "order.modify", "algoOrder.place"}
WEIGHTS = {
    "order.place": 0,
    "order.modify": 1,
    "order.cancel": 1,
    "order.status": 1,
    "algoOrder.place": 0,
    "algoOrder.cancel": 1,
    "session.logon": 2,
    "session.status": 2,
    "session.logout": 2,
    "ping": 1,
    "time": 1,
    "userDataStream.start": 1,
    "userDataStream.ping": 1,
    "userDataStream.stop": 1,
}


@dataclass(slots=True)
class Session:
    connected_since: int
    key: ApiKey | None = None
    authorized_since: int | None = None


class WsApi:
    def __init__(self, venue: BinanceVenue) -> None:
        self.venue = venue
        self.sessions: dict[LiveConnection, Session] = {}

    def install(self, app: web.Application) -> None:
        app.router.add_get("/ws-fapi/v1", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        v = self.venue

        def on_open(conn: LiveConnection) -> None:
            session = Session(now_ms())
            self.sessions[conn] = session
            conn.describe = lambda: {"logged_on": session.key is not None}

        async def on_text(conn: LiveConnection, text: str) -> None:
            response = self._request(conn, text)
            if response is not None:
                conn.send(msgspec.json.encode(response).decode())

        def on_close(conn: LiveConnection) -> None:
            self.sessions.pop(conn, None)

        return await serve_ws(
            request,
            v.registry,
            v.faults,
            kind=KIND_API,
            settings=v.ws_settings,
            on_open=on_open,
            on_text=on_text,
            on_close=on_close,
        )

    # --- request handling ----------------------------------------------------------------------
    def _rate_limits(self, account: str | None, method: str | None) -> list[dict[str, Any]]:
        lim = self.venue.limiter
        out: list[dict[str, Any]] = [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": lim.weight_limit,
                "count": lim.used_weight(),
            }
        ]
        if account is not None and method in ORDER_METHODS:
            c10, c1m = lim.order_counts(account)
            out += [
                {
                    "rateLimitType": "ORDERS",
                    "interval": "SECOND",
                    "intervalNum": 10,
                    "limit": lim.orders_10s,
                    "count": c10,
                },
                {
                    "rateLimitType": "ORDERS",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": lim.orders_1m,
                    "count": c1m,
                },
            ]
        return out

    def _malformed(self, detail: str = "Malformed request.") -> dict[str, Any]:
        return {
            "id": None,
            "status": 400,
            "error": {"code": -1102, "msg": detail},
            "rateLimits": self._rate_limits(None, None),
        }

    def _request(self, conn: LiveConnection, text: str) -> dict[str, Any] | None:
        try:
            msg = decode(text)
        except MalformedJson:
            msg = None
        if not isinstance(msg, dict):
            return self._malformed()
        req_id = msg.get("id")
        if req_id is not None and not isinstance(req_id, str | int):
            # The venue takes an INT / STRING / null id; anything else cannot be echoed back.
            return self._malformed("Mandatory parameter 'id' was not sent, was empty/null, or malformed.")
        method = msg.get("method")
        params = msg.get("params") or {}
        account: str | None = None
        try:
            if not isinstance(method, str):
                raise errors.mandatory("method")
            if not isinstance(params, dict):
                raise errors.invalid_param("params")
            lim = self.venue.limiter
            weight = WEIGHTS.get(method, 1)
            key = f"WS {method}" if method in WEIGHTS else "WS other"
            self.venue.requests.count(key)
            self.venue.requests.add_weight(key, weight)
            if lim.add_weight(weight) > lim.weight_limit:
                raise errors.too_much_weight(lim.weight_limit)
            rule = self.venue.faults.take_ws_fail_rule(method)
            if rule is not None and rule.execute_after_ms is not None:
                self._schedule_late(conn, method, params, rule)
                if rule.status == 0:
                    conn.abort("fault: request dropped, executes late")
                    return None
                raise errors.default_fail_error(rule.status, rule.code, rule.msg)
            if rule is not None and not rule.after_execute:
                if rule.status == 0:
                    conn.abort("fault: request dropped")
                    return None
                raise errors.default_fail_error(rule.status, rule.code, rule.msg)
            result, account = self._dispatch(conn, method, params)
            if rule is not None:
                if rule.status == 0:
                    conn.abort("fault: cut after execute")
                    return None
                raise errors.default_fail_error(rule.status, rule.code, rule.msg)
        except BinanceError as err:
            return {
                "id": req_id,
                "status": err.status,
                "error": err.body(),
                "rateLimits": self._rate_limits(account, method if isinstance(method, str) else None),
            }
        return {
            "id": req_id,
            "status": 200,
            "result": result,
            "rateLimits": self._rate_limits(account, method),
        }

    def _schedule_late(
        self, conn: LiveConnection, method: str, params: dict[str, Any], rule: FailRule
    ) -> None:
        """Authenticate now (the gateway does, before the backend times out), execute later on that
        key; an authentication error is answered instead of the injected failure."""
        assert rule.execute_after_ms is not None
        key = self._auth(conn, params)
        p = Params.from_json({k: val for k, val in params.items() if k not in ("apiKey", "signature")})

        async def run() -> Outcome:
            try:
                return True, self._dispatch_account(key.account_id, method, p)
            except BinanceError as err:
                return False, err.body()

        self.venue.faults.late.schedule(
            f"WS {method}", rule.execute_after_ms, request_deadline_ms(p.data), run
        )

    def _auth(self, conn: LiveConnection, params: dict[str, Any]) -> ApiKey:
        v = self.venue
        session = self.sessions[conn]
        p = Params.from_json(params)
        api_key = params.get("apiKey")
        signature = params.get("signature")
        if signature is None and session.key is not None and api_key in (None, session.key.api_key):
            check_timestamp(p.data, v.faults.server_time_ms())
            return session.key
        if not api_key:
            raise errors.mandatory("apiKey")
        key = v.keys.get(str(api_key))
        if key is None:
            raise errors.bad_api_key()
        if not signature:
            raise errors.mandatory("signature")
        check_timestamp(p.data, v.faults.server_time_ms())
        if not verify_ws(key, params, str(signature)):
            raise errors.bad_signature()
        return key

    def _dispatch(self, conn: LiveConnection, method: str, params: dict[str, Any]) -> tuple[Any, str | None]:
        v = self.venue
        session = self.sessions[conn]
        if method == "ping":
            return {}, None
        if method == "time":
            return {"serverTime": v.faults.server_time_ms()}, None
        if method == "session.status":
            return self._session_json(session), None
        if method == "session.logout":
            session.key = None
            session.authorized_since = None
            return self._session_json(session), None
        if method == "session.logon":
            key = self._auth_signed_only(conn, params)
            if not key.is_ed25519:
                raise BinanceError(-4056, "HMAC_SHA256 API key is not supported.")
            session.key = key
            session.authorized_since = now_ms()
            return self._session_json(session), key.account_id
        key = self._auth(conn, params)
        account = key.account_id
        p = Params.from_json({k: val for k, val in params.items() if k not in ("apiKey", "signature")})
        return self._dispatch_account(account, method, p), account

    def _dispatch_account(self, account: str, method: str, p: Params) -> Any:
        """The methods that act on an authenticated account (also what a late execution runs)."""
        v = self.venue
        if method in ORDER_METHODS:
            lim = v.limiter
            c10, c1m = lim.order_counts(account)
            if c10 + 1 > lim.orders_10s or c1m + 1 > lim.orders_1m:
                raise BinanceError(-1015, "Too many new orders.", 429)
            lim.add_orders(account, 1)
        if method == "order.place":
            return ops.place_order(v, account, p)
        if method == "order.cancel":
            return ops.cancel_order(v, account, p)
        if method == "order.modify":
            return ops.modify_order(v, account, p)
        if method == "order.status":
            return ops.query_order(v, account, p)
        if method == "algoOrder.place":
            return ops.place_algo(v, account, p)
        if method == "algoOrder.cancel":
            return ops.cancel_algo(v, account, p)
        if method == "userDataStream.start":
            return {"listenKey": v.listen_keys.create_or_extend(account).key}
        if method == "userDataStream.ping":
            return {"listenKey": v.listen_keys.keepalive(account, p.get("listenKey")).key}
        if method == "userDataStream.stop":
            lk = v.listen_keys.delete(account, p.get("listenKey"))
            v.user.deleted(lk)
            return {}
        raise BinanceError(
            -1100, f"Illegal characters found in parameter 'method'; unknown method '{method}'."
        )

    def _auth_signed_only(self, conn: LiveConnection, params: dict[str, Any]) -> ApiKey:
        session = self.sessions[conn]
        saved = session.key
        session.key = None  # logon must carry its own signature
        try:
            return self._auth(conn, params)
        finally:
            session.key = saved

    def _session_json(self, session: Session) -> dict[str, Any]:
        return {
            "apiKey": session.key.api_key if session.key is not None else None,
            "authorizedSince": session.authorized_since,
            "connectedSince": session.connected_since,
            "returnRateLimits": True,
            "serverTime": self.venue.faults.server_time_ms(),
        }
