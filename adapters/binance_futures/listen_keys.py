"""Where the user data stream's listen key comes from: REST, or the WebSocket API's trading socket.

Both implement :class:`~adapters.core.userstream.listen_key.ListenKeyEndpoints` (create / keepalive / delete),
which :class:`~adapters.binance_futures.user_stream.BinanceUserStreamOps` hands to the core's
recovery driver and keeper. Nothing else changes between the two: the same driver, triggers
(``listenKeyExpired``, a failed keepalive, any incident end of the user socket), snapshot, backfill
and backoff.

:class:`RestListenKeys`
    ``POST / PUT / DELETE /fapi/v1/listenKey`` (USER_STREAM: the API-key header).

:class:`WsApiListenKeys` (``user_stream_via_ws_api=True``)
    ``userDataStream.start / ping / stop`` on the trading socket
    (:class:`~adapters.binance_futures.ws_trading.BinanceWsTradingClient`): signed per request
    with an HMAC key, unsigned after ``session.logon`` with an Ed25519 key. The key is the
    account's one key whichever way it is asked for (both return the active key and extend it),
    and start/ping are idempotent. So a request the socket could not send (not READY, closing:
    :class:`WsNotSent`) or whose answer it lost (:class:`BinanceAmbiguous`: cut, timeout, 5xx) is
    asked again once over REST: a trading socket that is down never leaves the user stream blind,
    and a lost answer never becomes a needless rotation. A definite answer (``-1125`` for a key
    that is gone, a rate limit) is the answer: it goes to the caller like REST's would, and the
    keeper/driver act on it as they always do.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from adapters.binance_futures.config import BinanceFuturesExecClientConfig, resolve_credentials
from adapters.binance_futures.credentials import BinanceSigner
from adapters.binance_futures.errors import BinanceAmbiguous
from adapters.binance_futures.http import BinanceFuturesHttpClient
from adapters.binance_futures.ws_trading import BinanceWsTradingClient, WsNotSent, settings_from_config

T = TypeVar("T")

_log = logging.getLogger(__name__)


class RestListenKeys:
    """``/fapi/v1/listenKey`` (the default)."""

    def __init__(self, http: BinanceFuturesHttpClient) -> None:
        self._http = http

    async def create(self) -> str:
        return await self._http.create_listen_key()

    async def keepalive(self, key: str) -> None:
        await self._http.keepalive_listen_key(key)

    async def delete(self, key: str) -> None:
        await self._http.close_listen_key(key)


class WsApiListenKeys:
    """``userDataStream.start/ping/stop`` on the trading socket; REST when it cannot carry one."""

    def __init__(
        self,
        ws: BinanceWsTradingClient,
        rest: RestListenKeys,
        *,
        logger: logging.Logger | None = None,
        name: str = "binance-listen-key",
    ) -> None:
        self._ws = ws
        self._rest = rest
        self._log = logger or _log
        self._name = name
        self.ws_calls: collections.Counter[str] = collections.Counter()  # answered on the socket
        self.rest_calls: collections.Counter[str] = collections.Counter()  # asked over REST instead

    @property
    def rest_fallbacks(self) -> int:
        return sum(self.rest_calls.values())

    async def create(self) -> str:
        return await self._call("userDataStream.start", self._ws.start_user_data_stream, self._rest.create)

    async def keepalive(self, key: str) -> None:
        await self._call(
            "userDataStream.ping",
            lambda: self._ws.ping_user_data_stream(key),
            lambda: self._rest.keepalive(key),
        )

    async def delete(self, key: str) -> None:
        await self._call(
            "userDataStream.stop",
            lambda: self._ws.stop_user_data_stream(key),
            lambda: self._rest.delete(key),
        )

    async def _call(
        self, method: str, on_socket: Callable[[], Awaitable[T]], over_rest: Callable[[], Awaitable[T]]
    ) -> T:
        if self._ws.is_ready:
            try:
                result = await on_socket()
            except (WsNotSent, BinanceAmbiguous) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                self.ws_calls[method] += 1
                return result
        else:
            reason = f"trading socket {self._ws.state.value}"
        self.rest_calls[method] += 1
        self._log.warning(
            "%s: %s not answered on the trading socket (%s); asking over REST", self._name, method, reason
        )
        return await over_rest()


def trading_socket_and_keys(
    config: BinanceFuturesExecClientConfig,
    http: BinanceFuturesHttpClient,
    *,
    logger: logging.Logger,
    name: str,
) -> tuple[BinanceWsTradingClient | None, RestListenKeys | WsApiListenKeys]:
    """The WS API's trading socket an execution client's config asks for (None: neither
    ``use_ws_trading`` nor ``user_stream_via_ws_api``), and where its listen key comes from:
    ``/fapi/v1/listenKey``, or ``userDataStream.*`` on that socket."""
    ws_trading: BinanceWsTradingClient | None = None
    if config.use_ws_trading or config.user_stream_via_ws_api:
        ws_api = config.urls().ws_api
        if ws_api is None:
            raise ValueError(
                "use_ws_trading / user_stream_via_ws_api need base_url_ws_api "
                "(no default for this environment)"
            )
        api_key, api_secret = resolve_credentials(config.api_key, config.api_secret)
        ws_trading = BinanceWsTradingClient(
            settings_from_config(config, ws_api),
            api_key=api_key,
            signer=BinanceSigner(api_secret),
            rate_limiter=http.rate_limiter,
            now_ms=http.now_ms,
            time_sync=http.sync_time,
            logger=logger,
            name=f"{name}-ws-trading",
        )
    if config.user_stream_via_ws_api and ws_trading is not None:
        keys = WsApiListenKeys(ws_trading, RestListenKeys(http), logger=logger, name=f"{name}-listen-key")
        return ws_trading, keys
    return ws_trading, RestListenKeys(http)
