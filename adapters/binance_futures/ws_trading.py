"""Binance USD-M WebSocket trading API client (``/ws-fapi/v1``): orders over one persistent socket.

Built on :class:`~adapters.core.net.ws_connection.WsConnection` (protocol ping + application ``ping``
request, pong deadline, reconnect with backoff, at most N attempts). This module adds the request
layer and the part such clients usually get wrong: what happens to a request in flight when the
socket dies.

Wire
    request ``{"id","method","params"}``; response ``{"id","status","result"|"error","rateLimits"}``.
    Signed requests carry ``timestamp``/``recvWindow`` and, unless the connection is logged on,
    ``apiKey`` and ``signature`` over *all* params sorted by name (``k=v&...``), HMAC-SHA256 hex or
    Ed25519 base64 (:class:`~adapters.binance_futures.credentials.BinanceSigner` detects the key).
    With an Ed25519 key the client does ``session.logon`` on every (re)connect and then sends
    unsigned requests; HMAC keys cannot log on (-4056), so every request is signed.
    ``rateLimits`` of every response feed the same :class:`RateLimitTracker` as REST.

State machine (:class:`WsTradingState`)::

    IDLE -> CONNECTING -> AUTHENTICATING -> READY
    READY -- socket lost --> RECONNECTING -- reconnected --> AUTHENTICATING -> READY
    RECONNECTING -- attempts exhausted / logon refused --> FALLBACK (REST; retry every backoff cap)
    FALLBACK -- connected --> AUTHENTICATING -> READY;  any -> CLOSED on close()

Only READY accepts requests; anything else raises :class:`WsNotSent` *before* a byte is written,
so the caller may send the same request over REST without any risk of a duplicate.

Pending table and in-flight semantics
    Each request gets an id (``<prefix><n>``) and an entry (future, method, send time) in
    ``_pending``; the caller awaits it with its own timeout. Outcomes:

    * response 200 -> the decoded result; ``status != 200`` -> :class:`BinanceRejection`, except
      -1006/-1007, 5xx and 408 -> :class:`BinanceAmbiguous` (the venue may have executed it);
      418/429 -> :class:`BinanceRateLimited` (not executed);
    * no response within the timeout -> :class:`BinanceAmbiguous` (counted as a timeout);
    * the socket dies first -> every pending entry fails with :class:`BinanceAmbiguous`. Frames
      received before the death are drained first, so a response that did arrive still wins.

    An ambiguous outcome is never retried here: the owner resolves it by querying the order.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Unpack

import aiohttp
import msgspec

from adapters.binance_futures.credentials import BinanceSigner
from adapters.binance_futures.errors import (
    AMBIGUOUS_CODES,
    CODE_INVALID_TIMESTAMP,
    BinanceAmbiguous,
    BinanceRateLimited,
    BinanceRejection,
    BinanceTransportError,
)
from adapters.binance_futures.parsing import (
    ModifyOrderArgs,
    NewAlgoOrderArgs,
    NewOrderArgs,
    algo_ref_params,
    modify_order_params,
    new_algo_order_params,
    new_order_params,
    order_ref_params,
)
from adapters.binance_futures.rate_limit import RateLimitTracker
from adapters.binance_futures.schemas_rest import (
    AlgoCancelResponse,
    AlgoOrder,
    ListenKeyResponse,
    Order,
    http_decoder,
)
from adapters.core.base.backoff import Backoff, SleepFn
from adapters.core.base.tasks import OwnedTasks
from adapters.core.base.timestamps import wall_clock_ms
from adapters.core.net.stream import Reconnected, StreamEnded, StreamItem
from adapters.core.net.ws_connection import AppPing, WsConfig, WsConnection, WsState

if TYPE_CHECKING:
    from adapters.binance_futures.config import BinanceFuturesExecClientConfig

_log = logging.getLogger(__name__)

ParamValue = str | int | float | bool | Decimal | None
PATH: Final = "/ws-fapi/v1"
APP_PING_FRAME: Final = '{"id":"app-ping","method":"ping"}'
_APP_PONG_MARK: Final = '"id":"app-ping"'
_ENCODER = msgspec.json.Encoder()


class WsNotSent(BinanceTransportError):
    """The request was not written to the socket (not READY, or the transport was closing):
    it provably never reached the venue, so sending it over REST instead is safe."""


class WsTradingState(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    AUTHENTICATING = "authenticating"
    READY = "ready"
    RECONNECTING = "reconnecting"
    FALLBACK = "fallback"  # reconnect attempts exhausted: REST, background retry at the cap
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class WsTradingSettings:
    url: str
    ping_interval: float | None = 30.0  # protocol ping; None disables
    pong_timeout: float = 10.0  # also the application ping's reply deadline
    app_ping_interval: float | None = 30.0  # JSON ``ping`` request; None disables
    request_timeout: float = 10.0
    connect_timeout: float = 10.0
    backoff_initial: float = 1.0
    backoff_factor: float = 2.0
    backoff_cap: float = 60.0
    max_reconnect_attempts: int = 10
    backoff_reset_after: float = 30.0
    recv_window_ms: int = 5_000
    metrics_log_interval: float | None = 60.0
    latency_window: int = 2048  # request latencies kept for mean / p99

    def ws_config(self) -> WsConfig:
        app_ping = None
        if self.app_ping_interval:
            app_ping = AppPing(
                make=lambda: APP_PING_FRAME,
                is_pong=_is_app_pong,
                interval=self.app_ping_interval,
                timeout=self.pong_timeout,
            )
        return WsConfig(
            connect_timeout=self.connect_timeout,
            ping_interval=self.ping_interval,
            pong_timeout=self.pong_timeout,
            app_ping=app_ping,
            reconnect=True,
            backoff_initial=self.backoff_initial,
            backoff_factor=self.backoff_factor,
            backoff_cap=self.backoff_cap,
            max_reconnect_attempts=self.max_reconnect_attempts,
            backoff_reset_after=self.backoff_reset_after,
        )


def _is_app_pong(frame: str | bytes) -> bool:
    head = frame[:48]
    return _APP_PONG_MARK in (head if isinstance(head, str) else head.decode("utf-8", "replace"))


@dataclass(frozen=True, slots=True)
class ConnectionHealth:
    state: WsTradingState
    is_healthy: bool
    connected_since: float | None  # time.monotonic() of the current socket's open
    authenticated: bool  # session logged on (Ed25519) or per-request signing (HMAC) armed
    last_pong_rtt: float | None
    consecutive_failures: int
    reason: str  # why not healthy ("" when healthy)


@dataclass(frozen=True, slots=True)
class ConnectionMetrics:
    messages_in: int
    messages_out: int
    requests: int
    responses: int
    reconnects: int
    timeouts: int
    lost_in_flight: int  # requests failed (ambiguous) because their socket died
    late_responses: int  # responses to requests no longer pending
    logons: int
    fallbacks: int  # times the client gave up reconnecting and went to REST
    latency_mean: float | None  # seconds, request sent -> response received
    latency_p99: float | None
    requests_by_method: dict[str, int]


# --- wire envelope ------------------------------------------------------------------------------


class _WsErrorBody(msgspec.Struct, gc=False):
    code: int = 0
    msg: str = ""
    data: Any = None


class _WsRateLimit(msgspec.Struct, gc=False):
    rateLimitType: str = ""
    interval: str = ""
    intervalNum: int = 1
    limit: int = 0
    count: int = 0


class WsResponse(msgspec.Struct, gc=False):
    id: str | int | None = None
    status: int = 0
    result: msgspec.Raw = msgspec.Raw(b"")  # empty when absent (Raw cannot be in a union)
    error: _WsErrorBody | None = None
    rateLimits: list[_WsRateLimit] | None = None


class _IdOnly(msgspec.Struct, gc=False):
    id: Any = None


_RESPONSE_DECODER = msgspec.json.Decoder(WsResponse)
_ID_DECODER = msgspec.json.Decoder(_IdOnly)
_HEADER_OF: Final = {
    ("REQUEST_WEIGHT", 60_000): "x-mbx-used-weight-1m",
    ("ORDERS", 10_000): "x-mbx-order-count-10s",
    ("ORDERS", 60_000): "x-mbx-order-count-1m",
}
_INTERVAL_MS: Final = {"S": 1_000, "M": 60_000, "H": 3_600_000, "D": 86_400_000}


@dataclass(slots=True)
class _Pending:
    method: str
    future: asyncio.Future[WsResponse]
    sent_at: float


@dataclass(slots=True)
class _Counters:
    frames_in: int = 0
    frames_out: int = 0
    requests: int = 0
    responses: int = 0
    reconnects: int = 0
    timeouts: int = 0
    lost_in_flight: int = 0
    late_responses: int = 0
    logons: int = 0
    fallbacks: int = 0


def _json_value(value: ParamValue) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _sign_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class BinanceWsTradingClient:
    """Order entry over the WS trading API. ``start()`` / ``close()``; see the module doc."""

    def __init__(
        self,
        settings: WsTradingSettings,
        *,
        api_key: str,
        signer: BinanceSigner,
        rate_limiter: RateLimitTracker | None = None,
        now_ms: Callable[[], int] = wall_clock_ms,
        time_sync: Callable[[], Awaitable[Any]] | None = None,
        logger: logging.Logger | None = None,
        name: str = "binance-ws-trading",
        sleep: SleepFn = asyncio.sleep,
    ) -> None:
        if not api_key:
            raise ValueError("api_key required for the WS trading API")
        self._s = settings
        self._api_key = api_key
        self._signer = signer
        self.rate_limiter = rate_limiter or RateLimitTracker()
        self._now_ms = now_ms
        self._time_sync = time_sync
        self._log = logger or _log
        self._name = name
        self._sleep = sleep
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._state = WsTradingState.IDLE
        self._conn: WsConnection | None = None
        self._logged_on = False
        self._authenticated = False
        self._closing = False
        self._runner: asyncio.Task[None] | None = None
        self._tasks = OwnedTasks(name, self._log)
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._need_auth = False
        self._stream_ended = False
        self._reason = "not started"
        self._had_connection = False
        self._last_rtt: float | None = None
        self._failures = 0  # connect attempts failed since the last READY (outer loop)
        self._outer_backoff = Backoff(settings.backoff_initial, settings.backoff_factor, settings.backoff_cap)
        self._c = _Counters()
        self._by_method: dict[str, int] = {}
        self._latencies: deque[float] = deque(maxlen=max(16, settings.latency_window))
        self.last_rate_limits: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        return (
            f"BinanceWsTradingClient(url={self._s.url!r}, state={self._state.value}, signer={self._signer!r})"
        )

    # ------------------------------------------------------------------ lifecycle / health

    @property
    def state(self) -> WsTradingState:
        return self._state

    @property
    def is_ready(self) -> bool:
        conn = self._conn
        return self._state is WsTradingState.READY and conn is not None and conn.is_open

    @property
    def logged_on(self) -> bool:
        return self._logged_on

    async def start(self, wait: float | None = None) -> bool:
        """Start connecting in the background; wait up to ``wait`` seconds (default: the connect
        timeout) for READY. Returns whether it is READY; if not, it keeps trying by itself."""
        if self._runner is not None:
            raise RuntimeError(f"{self._name}: already started")
        loop = asyncio.get_running_loop()
        self._runner = loop.create_task(self._run(), name=f"{self._name}-runner")
        if self._s.metrics_log_interval:
            self._tasks.spawn(self._log_metrics_loop(self._s.metrics_log_interval), "metrics-log")
        try:
            async with asyncio.timeout(wait if wait is not None else self._s.connect_timeout):
                await self._ready.wait()
        except TimeoutError:
            self._log.warning(
                "%s: not ready yet (%s); orders go over REST meanwhile", self._name, self._reason
            )
        return self.is_ready

    async def wait_ready(self) -> None:
        """Return once READY (bound it with asyncio.timeout)."""
        while not self.is_ready:
            self._ready.clear()
            if self.is_ready:
                return
            await self._ready.wait()

    async def close(self) -> None:
        """Stop reconnecting, close the socket, fail whatever is still pending; idempotent."""
        self._closing = True
        runner, self._runner = self._runner, None
        try:
            if runner is not None and not runner.done():
                runner.cancel()
                await asyncio.wait({runner})
        finally:
            conn, self._conn = self._conn, None
            if conn is not None:
                await conn.close()
                self._fold(conn)
            self._fail_pending("trading socket closed")
            await self._tasks.close()
            self._set_state(WsTradingState.CLOSED, "closed")

    def health(self) -> ConnectionHealth:
        conn = self._conn
        m = conn.metrics if conn is not None else None
        healthy = self.is_ready
        return ConnectionHealth(
            state=self._state,
            is_healthy=healthy,
            connected_since=m.connected_since if m is not None else None,
            authenticated=self._authenticated,
            last_pong_rtt=m.last_pong_rtt
            if m is not None and m.last_pong_rtt is not None
            else self._last_rtt,
            consecutive_failures=max(self._failures, m.consecutive_failures if m is not None else 0),
            reason="" if healthy else self._reason,
        )

    def metrics(self) -> ConnectionMetrics:
        c = self._c
        conn = self._conn
        lat = sorted(self._latencies)
        p99 = lat[min(len(lat) - 1, math.ceil(0.99 * len(lat)) - 1)] if lat else None
        return ConnectionMetrics(
            messages_in=c.frames_in + (conn.metrics.frames_in if conn is not None else 0),
            messages_out=c.frames_out + (conn.metrics.frames_out if conn is not None else 0),
            requests=c.requests,
            responses=c.responses,
            reconnects=c.reconnects,
            timeouts=c.timeouts,
            lost_in_flight=c.lost_in_flight,
            late_responses=c.late_responses,
            logons=c.logons,
            fallbacks=c.fallbacks,
            latency_mean=sum(lat) / len(lat) if lat else None,
            latency_p99=p99,
            requests_by_method=dict(self._by_method),
        )

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    # ------------------------------------------------------------------ orders (same kwargs as REST)

    async def new_order(
        self, symbol: str, side: str, order_type: str, **kwargs: Unpack[NewOrderArgs]
    ) -> Order:
        params = new_order_params(symbol, side, order_type, **kwargs)
        return await self.request("order.place", params, Order, weight=0, is_order=True)

    async def modify_order(
        self,
        symbol: str,
        side: str,
        quantity: str | Decimal,
        price: str | Decimal,
        **kwargs: Unpack[ModifyOrderArgs],
    ) -> Order:
        params = modify_order_params(symbol, side, quantity, price, **kwargs)
        return await self.request("order.modify", params, Order, weight=1, is_order=True)

    async def cancel_order(
        self, symbol: str, *, order_id: int | None = None, orig_client_order_id: str | None = None
    ) -> Order:
        params = order_ref_params(symbol, order_id, orig_client_order_id)
        return await self.request("order.cancel", params, Order)

    async def query_order(
        self, symbol: str, *, order_id: int | None = None, orig_client_order_id: str | None = None
    ) -> Order:
        params = order_ref_params(symbol, order_id, orig_client_order_id)
        return await self.request("order.status", params, Order)

    # ------------------------------------------------------------------ algo (conditional) orders

    async def new_algo_order(
        self, symbol: str, side: str, order_type: str, **kwargs: Unpack[NewAlgoOrderArgs]
    ) -> AlgoOrder:
        """``algoOrder.place`` (WS API since 2026-10-23): the same parameters and answer as
        ``POST /fapi/v1/algoOrder`` (the REST client's ``new_algo_order`` takes the same kwargs)."""
        params = new_algo_order_params(symbol, side, order_type, **kwargs)
        return await self.request("algoOrder.place", params, AlgoOrder, weight=0, is_order=True)

    async def cancel_algo_order(
        self, *, algo_id: int | None = None, client_algo_id: str | None = None
    ) -> AlgoCancelResponse:
        """``algoOrder.cancel`` by ``algoId`` or ``clientAlgoId``."""
        params = algo_ref_params(algo_id, client_algo_id)
        return await self.request("algoOrder.cancel", params, AlgoCancelResponse)

    # ------------------------------------------------------------------ user data stream listen key

    async def start_user_data_stream(self) -> str:
        """``userDataStream.start``: the account's listen key (a new one, or the active one
        extended by 60 minutes), as ``POST /fapi/v1/listenKey`` gives it."""
        result: ListenKeyResponse = await self.request("userDataStream.start", {}, ListenKeyResponse)
        return result.listenKey

    async def ping_user_data_stream(self, listen_key: str) -> None:
        """``userDataStream.ping``: extend ``listen_key`` by 60 minutes (-1125 if it is gone)."""
        await self.request("userDataStream.ping", {"listenKey": listen_key}, None)

    async def stop_user_data_stream(self, listen_key: str) -> None:
        """``userDataStream.stop``: close the key's streams and invalidate it."""
        await self.request("userDataStream.stop", {"listenKey": listen_key}, None)

    async def ping(self) -> None:
        await self.request("ping", {}, None, signed=False)

    # ------------------------------------------------------------------ request layer

    async def request(
        self,
        method: str,
        params: Mapping[str, ParamValue],
        tp: Any,
        *,
        signed: bool = True,
        weight: int = 1,
        is_order: bool = False,
        request_timeout: float | None = None,
    ) -> Any:
        """Send one request on the READY socket and decode its result into ``tp`` (None: ignore).
        Raises :class:`WsNotSent`, :class:`BinanceRejection`, :class:`BinanceAmbiguous`."""
        retried = False
        while True:
            delay = self.rate_limiter.delay_for(self._now_ms(), weight, is_order)
            if delay > 0:
                self._log.warning("%s: rate limit near for %s; waiting %.3fs", self._name, method, delay)
                await self._sleep(delay)
            conn = self._conn
            if not self.is_ready or conn is None:
                raise WsNotSent(f"WS trading socket {self._state.value}", method=method, path=PATH)
            resp = await self._call(conn, method, self._params(params, signed), request_timeout)
            try:
                return self._result(method, resp, tp)
            except BinanceRejection as exc:
                if exc.code != CODE_INVALID_TIMESTAMP or retried or self._time_sync is None:
                    raise
                retried = True  # -1021 is definite (not executed): resync the clock, send once more
                await self._time_sync()

    def _params(self, params: Mapping[str, ParamValue], signed: bool) -> dict[str, Any]:
        out = {k: _json_value(v) for k, v in params.items() if v is not None}
        if not signed:
            return out
        out["timestamp"] = self._now_ms()
        out["recvWindow"] = self._s.recv_window_ms
        if self._logged_on:
            return out  # the session is authenticated: no apiKey / signature needed
        out["apiKey"] = self._api_key
        out["signature"] = self._sign(out)
        return out

    def _sign(self, params: Mapping[str, Any]) -> str:
        payload = "&".join(f"{k}={_sign_value(params[k])}" for k in sorted(params) if k != "signature")
        return self._signer.sign(payload)

    async def _call(
        self, conn: WsConnection, method: str, params: dict[str, Any], deadline: float | None
    ) -> WsResponse:
        rid = f"r{next(self._ids)}"
        frame = _ENCODER.encode({"id": rid, "method": method, "params": params}).decode()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[WsResponse] = loop.create_future()
        self._pending[rid] = _Pending(method, future, time.perf_counter())
        try:
            try:
                await conn.send(frame)
            except ConnectionError as exc:
                # WsConnection's "not connected", aiohttp's "closing transport": nothing written.
                raise WsNotSent(f"not sent: {type(exc).__name__}", method=method, path=PATH) from None
            except (aiohttp.ClientError, OSError, RuntimeError) as exc:
                raise BinanceAmbiguous(
                    f"send failed: {type(exc).__name__}", method=method, path=PATH
                ) from None
            self._c.requests += 1
            self._by_method[method] = self._by_method.get(method, 0) + 1
            try:
                async with asyncio.timeout(deadline if deadline is not None else self._s.request_timeout):
                    return await future
            except TimeoutError:
                self._c.timeouts += 1
                raise BinanceAmbiguous(
                    "no response within the request timeout", method=method, path=PATH
                ) from None
        finally:
            self._pending.pop(rid, None)

    def _result(self, method: str, resp: WsResponse, tp: Any) -> Any:
        status = resp.status
        if status == 200:
            if tp is None:
                return None
            if not resp.result or bytes(resp.result) == b"null":
                raise BinanceAmbiguous("200 without a result", http_status=200, method=method, path=PATH)
            try:
                return http_decoder(tp).decode(resp.result)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                raise BinanceAmbiguous(
                    f"undecodable result: {exc}", http_status=200, method=method, path=PATH
                ) from None
        code = resp.error.code if resp.error is not None else None
        msg = resp.error.msg if resp.error is not None else f"status {status}"
        if status in (418, 429):
            retry_after = _retry_after_secs(
                resp.error.data if resp.error is not None else None, self._now_ms()
            )
            if retry_after is not None:
                self.rate_limiter.block_for(retry_after, self._now_ms())
            raise BinanceRateLimited(
                code if code is not None else -1003,
                msg,
                http_status=status,
                retry_after_secs=retry_after,
                method=method,
                path=PATH,
            )
        if code in AMBIGUOUS_CODES or status >= 500 or status == 408:
            raise BinanceAmbiguous(
                f"code={code} msg={msg!r}", code=code, http_status=status, method=method, path=PATH
            )
        raise BinanceRejection(
            code if code is not None else 0, msg, http_status=status, method=method, path=PATH
        )

    # ------------------------------------------------------------------ incoming frames

    def _handle_item(self, item: StreamItem) -> None:
        if isinstance(item, str | bytes):
            self._handle_frame(item)
        elif isinstance(item, Reconnected):
            self._c.reconnects += 1
            self._log.info(
                "%s: reconnected after %d attempt(s) (%s); re-authenticating",
                self._name,
                item.attempts,
                item.cause.value,
            )
            self._need_auth = True
            self._wake.set()
        elif isinstance(item, StreamEnded):
            self._reason = f"socket ended: {item.kind.value} {item.detail}"
            self._fail_pending(self._reason)
            self._stream_ended = True
            self._wake.set()

    def _handle_frame(self, frame: str | bytes) -> None:
        try:
            resp = _RESPONSE_DECODER.decode(frame)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            self._undecodable(frame, exc)
            return
        if resp.rateLimits:
            self._apply_rate_limits(resp.rateLimits)
        entry = self._pending.pop(str(resp.id), None) if resp.id is not None else None
        if entry is None:
            self._c.late_responses += 1
            self._log.debug("%s: response to unknown or expired request id %r", self._name, resp.id)
            return
        self._c.responses += 1
        self._latencies.append(time.perf_counter() - entry.sent_at)
        if not entry.future.done():
            entry.future.set_result(resp)

    def _undecodable(self, frame: str | bytes, exc: Exception) -> None:
        """A frame that is not a valid envelope: if its id is readable, that request's outcome is
        unknown (ambiguous) rather than left to time out."""
        self._log.warning("%s: undecodable frame (%d bytes): %s", self._name, len(frame), exc)
        try:
            rid = _ID_DECODER.decode(frame).id
        except (msgspec.ValidationError, msgspec.DecodeError):
            return
        entry = self._pending.pop(str(rid), None) if rid is not None else None
        if entry is not None and not entry.future.done():
            entry.future.set_exception(
                BinanceAmbiguous(f"undecodable response: {exc}", method=entry.method, path=PATH)
            )

    def _apply_rate_limits(self, limits: list[_WsRateLimit]) -> None:
        headers: dict[str, str] = {}
        snapshot: list[dict[str, Any]] = []
        for rl in limits:
            ms = _INTERVAL_MS.get(rl.interval[:1].upper(), 0) * rl.intervalNum
            name = _HEADER_OF.get((rl.rateLimitType, ms))
            if name is not None:
                headers[name] = str(rl.count)
            snapshot.append(msgspec.structs.asdict(rl))
        self.last_rate_limits = snapshot
        if headers:
            self.rate_limiter.update_from_headers(headers, self._now_ms())

    def _fail_pending(self, reason: str) -> None:
        if not self._pending:
            return
        entries = list(self._pending.values())
        self._pending.clear()
        for entry in entries:
            if not entry.future.done():
                self._c.lost_in_flight += 1
                entry.future.set_exception(
                    BinanceAmbiguous(
                        f"connection lost before response ({reason})", method=entry.method, path=PATH
                    )
                )

    def _on_conn_state(self, conn: WsConnection | None, state: WsState) -> None:
        if state in (WsState.OPEN, WsState.CONNECTING):
            return
        # STALLED / RECONNECTING / CLOSED: the socket is gone. Deliver what it did receive first
        # (a response that arrived wins), then every request still pending is ambiguous.
        if conn is not None:
            queue = conn.queue
            while not queue.empty():
                self._handle_item(queue.get_nowait())
        self._logged_on = False
        self._authenticated = False
        self._fail_pending(f"socket {state.value}")
        if not self._closing and self._state in (
            WsTradingState.READY,
            WsTradingState.AUTHENTICATING,
            WsTradingState.CONNECTING,
        ):
            self._set_state(WsTradingState.RECONNECTING, f"socket {state.value}")

    # ------------------------------------------------------------------ connection owner

    def _new_connection(self) -> WsConnection:
        holder: list[WsConnection] = []
        conn = WsConnection(
            self._s.url,
            config=self._s.ws_config(),
            on_state=lambda st: self._on_conn_state(holder[0] if holder else None, st),
            name=self._name,
            logger=self._log,
            sleep=self._sleep,
        )
        holder.append(conn)
        return conn

    async def _run(self) -> None:
        s = self._s
        while not self._closing:
            conn = self._new_connection()
            if self._state is not WsTradingState.FALLBACK:
                self._set_state(WsTradingState.CONNECTING, "connecting")
            try:
                await conn.start()
            except Exception as exc:  # refused, timed out, handshake error: one failed attempt
                self._failures += 1
                self._reason = f"connect failed: {type(exc).__name__}"
                self._log.warning("%s: connect attempt %d failed: %r", self._name, self._failures, exc)
                if self._failures >= s.max_reconnect_attempts and self._state is not WsTradingState.FALLBACK:
                    self._enter_fallback()
                delay = (
                    s.backoff_cap
                    if self._state is WsTradingState.FALLBACK
                    else self._outer_backoff.next_delay()
                )
                await self._sleep(delay)
                continue
            if self._had_connection:
                self._c.reconnects += 1  # a new socket after the old one gave up
            self._had_connection = True
            self._conn = conn
            try:
                await self._serve(conn)
            finally:
                if self._conn is conn:
                    self._conn = None
                await conn.close()
                self._fold(conn)
                self._fail_pending("socket replaced")
            if self._closing:
                return
            # This socket is finished for good (its reconnects gave up, or the logon was refused).
            self._enter_fallback()
            await self._sleep(s.backoff_cap)

    async def _serve(self, conn: WsConnection) -> None:
        self._need_auth = False
        self._stream_ended = False
        self._wake.clear()
        dispatcher = asyncio.get_running_loop().create_task(
            self._dispatch(conn), name=f"{self._name}-dispatch"
        )
        try:
            while not self._stream_ended:
                self._need_auth = False
                self._set_state(WsTradingState.AUTHENTICATING, "authenticating")
                outcome = await self._authenticate(conn)
                if outcome == "refused":
                    return
                if outcome == "ok":
                    self._mark_ready()
                while not (self._stream_ended or self._need_auth):
                    await self._wake.wait()
                    self._wake.clear()
        finally:
            dispatcher.cancel()
            await asyncio.wait({dispatcher})

    async def _dispatch(self, conn: WsConnection) -> None:
        queue = conn.queue
        while True:
            self._handle_item(await queue.get())

    async def _authenticate(self, conn: WsConnection) -> str:
        """``ok`` | ``lost`` (socket died meanwhile: wait for the reconnect) | ``refused``."""
        self._logged_on = False
        if not self._signer.is_ed25519:
            self._authenticated = True  # HMAC: every request carries its own signature
            return "ok"
        params: dict[str, Any] = {"apiKey": self._api_key, "timestamp": self._now_ms()}
        params["signature"] = self._sign(params)
        try:
            resp = await self._call(conn, "session.logon", params, None)
            self._result("session.logon", resp, None)
        except (BinanceAmbiguous, WsNotSent) as exc:
            self._log.warning("%s: session.logon did not complete (%s)", self._name, exc.__class__.__name__)
            return "lost"
        except BinanceRejection as exc:
            self._reason = f"session.logon refused: {exc.code} {exc.msg}"
            self._log.error("%s: %s", self._name, self._reason)
            return "refused"
        self._c.logons += 1
        self._logged_on = True
        self._authenticated = True
        return "ok"

    def _mark_ready(self) -> None:
        self._failures = 0
        self._outer_backoff.reset()
        self._set_state(WsTradingState.READY, "")
        self._ready.set()

    def _enter_fallback(self) -> None:
        self._c.fallbacks += 1
        self._set_state(
            WsTradingState.FALLBACK,
            f"reconnect attempts exhausted ({self._reason}); REST until a retry succeeds",
        )
        self._log.warning("%s: %s", self._name, self._reason)

    def _set_state(self, state: WsTradingState, reason: str) -> None:
        if state is not WsTradingState.READY:
            self._ready.clear()
        if self._state is state:
            return
        self._log.debug("%s: %s -> %s %s", self._name, self._state.value, state.value, reason)
        self._state = state
        if reason:
            self._reason = reason

    def _fold(self, conn: WsConnection) -> None:
        """Keep a finished socket's frame counts in the totals."""
        if conn.metrics.last_pong_rtt is not None:
            self._last_rtt = conn.metrics.last_pong_rtt
        self._c.frames_in += conn.metrics.frames_in
        self._c.frames_out += conn.metrics.frames_out
        conn.metrics.frames_in = conn.metrics.frames_out = 0

    async def _log_metrics_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            h, m = self.health(), self.metrics()
            self._log.debug(
                "%s: state=%s healthy=%s rtt=%s failures=%d in=%d out=%d req=%d timeouts=%d lost=%d "
                "reconnects=%d mean=%s p99=%s",
                self._name,
                h.state.value,
                h.is_healthy,
                _ms(h.last_pong_rtt),
                h.consecutive_failures,
                m.messages_in,
                m.messages_out,
                m.requests,
                m.timeouts,
                m.lost_in_flight,
                m.reconnects,
                _ms(m.latency_mean),
                _ms(m.latency_p99),
            )


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f}ms"


def _retry_after_secs(data: Any, now_ms: int) -> float | None:
    """WS-API 418/429 errors carry ``data.retryAfter`` (epoch ms until which requests fail)."""
    if isinstance(data, dict):
        until = data.get("retryAfter")
        if isinstance(until, int | float):
            return max(0.0, (float(until) - now_ms) / 1000.0)
    return None


def settings_from_config(config: BinanceFuturesExecClientConfig, url: str) -> WsTradingSettings:
    """The trading-socket settings of an execution client config (``ws_trading_*`` fields)."""
    return WsTradingSettings(
        url=url,
        ping_interval=config.ws_trading_ping_interval_secs,
        pong_timeout=config.ws_trading_pong_timeout_secs,
        app_ping_interval=config.ws_trading_app_ping_interval_secs,
        request_timeout=config.ws_trading_request_timeout_secs,
        connect_timeout=config.ws_trading_connect_timeout_secs,
        backoff_initial=config.ws_trading_backoff_initial_secs,
        backoff_cap=config.ws_trading_backoff_cap_secs,
        max_reconnect_attempts=config.ws_trading_max_reconnect_attempts,
        backoff_reset_after=config.ws_trading_backoff_reset_after_secs,
        recv_window_ms=config.recv_window_ms,
        metrics_log_interval=config.ws_trading_metrics_log_interval_secs,
    )
