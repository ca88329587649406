"""Configuration for the Binance USD-M Futures data and execution clients.

Environments
------------
``SIM`` is the default so that nothing ever talks to a real venue by accident; it has no default URLs (pass
them, e.g. from the simulator's JSON start-up line). ``LIVE`` is only used when set explicitly.

Secrets
-------
``api_secret`` is masked in ``repr``/``str``/rich output. It is still part of ``json()``/``dict()`` because
NautilusTrader needs those to round-trip configs; never log those. When ``api_key``/``api_secret`` are None
the clients fall back to the environment variables ``BINANCE_FUTURES_API_KEY`` /
``BINANCE_FUTURES_API_SECRET``
(see :func:`resolve_credentials`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from adapters.core.base.secrets import KEY_FIELDS, SECRET_FIELDS, MaskedReprMixin
from adapters.core.base.secrets import mask as mask  # re-export (was importable from here)
from adapters.core.client import client_config
from adapters.core.client.client_config import PerpDataClientConfig, PerpExecClientConfig


class BinanceEnvironment(Enum):
    SIM = "SIM"
    TESTNET = "TESTNET"
    DEMO = "DEMO"
    LIVE = "LIVE"


@dataclass(frozen=True, slots=True)
class BinanceUrls:
    http: str
    ws: str
    ws_api: str | None


# Defaults per environment: (REST, market/user stream WS host, WS trading API)
_DEFAULT_URLS: Final[dict[BinanceEnvironment, BinanceUrls]] = {
    # Binance USD-M "General Info" (developers.binance.com/docs/derivatives/usds-margined-futures/
    # general-info): 'The REST base url for testnet is "https://demo-fapi.binance.com"', 'The Websocket
    # base url for testnet is "wss://fstream.binancefuture.com"'; "WebSocket API General Info": 'The
    # base endpoint for testnet is: wss://testnet.binancefuture.com/ws-fapi/v1'. Streams use the
    # routed paths (/public, /market, /private) on every stream host.
    BinanceEnvironment.TESTNET: BinanceUrls(
        http="https://demo-fapi.binance.com",
        ws="wss://fstream.binancefuture.com",
        ws_api="wss://testnet.binancefuture.com/ws-fapi/v1",
    ),
    BinanceEnvironment.DEMO: BinanceUrls(
        http="https://demo-fapi.binance.com",
        ws="wss://demo-fstream.binance.com",
        # Binance documents no separate demo WS-API host; NautilusTrader uses the testnet one for demo too.
        ws_api="wss://testnet.binancefuture.com/ws-fapi/v1",
    ),
    BinanceEnvironment.LIVE: BinanceUrls(
        http="https://fapi.binance.com",
        ws="wss://fstream.binance.com",
        ws_api="wss://ws-fapi.binance.com/ws-fapi/v1",
    ),
}

ENV_API_KEY: Final = "BINANCE_FUTURES_API_KEY"
ENV_API_SECRET: Final = "BINANCE_FUTURES_API_SECRET"
_SECRET_FIELDS: Final = SECRET_FIELDS
_KEY_FIELDS: Final = KEY_FIELDS


def default_urls(environment: BinanceEnvironment) -> BinanceUrls | None:
    """Return the default URLs for ``environment`` (None for SIM, which has none)."""
    return _DEFAULT_URLS.get(environment)


def resolve_urls(
    environment: BinanceEnvironment,
    base_url_http: str | None = None,
    base_url_ws: str | None = None,
    base_url_ws_api: str | None = None,
) -> BinanceUrls:
    """Explicit URLs win over environment defaults. SIM requires explicit HTTP and WS URLs."""
    defaults = _DEFAULT_URLS.get(environment)
    http, ws = client_config.resolve_base_urls(environment, defaults, base_url_http, base_url_ws)
    ws_api = base_url_ws_api or (defaults.ws_api if defaults else None)
    return BinanceUrls(http=http, ws=ws, ws_api=ws_api.rstrip("/") if ws_api else None)


def resolve_credentials(api_key: str | None, api_secret: str | None) -> tuple[str, str]:
    """Return ``(api_key, api_secret)`` from config or environment; raise without echoing anything secret."""
    return client_config.resolve_credentials(api_key, api_secret, ENV_API_KEY, ENV_API_SECRET)


# The masking mixin is shared with BingX (adapters.core.base.secrets); old name kept importable.
_MaskedReprMixin = MaskedReprMixin


class BinanceFuturesDataClientConfig(PerpDataClientConfig, frozen=True):
    """Market-data client configuration (same connection fields as the exec client)."""

    environment: BinanceEnvironment = BinanceEnvironment.SIM
    base_url_ws_api: str | None = None
    # --- market streams (see adapters.binance_futures.data) -------------------------------------
    # Binance's routes since its 2026 URL split (legacy root /stream retired 2026-04-23): market
    # streams (aggTrade, markPrice, kline, ...) on ``ws_stream_path``, public ones (depth, bookTicker,
    # trade) on ``ws_book_path``; ``ws_book_path=None`` puts every stream on ``ws_stream_path``.
    ws_stream_path: str = "/market/stream"
    ws_book_path: str | None = "/public/stream"
    # Binance allows 1024 streams per connection; NautilusTrader's own client uses 200.
    max_streams_per_connection: int = 200
    ws_ping_interval_secs: float | None = 30.0
    ws_pong_timeout_secs: float = 10.0
    ws_stall_timeout_secs: float | None = None
    use_agg_trades: bool = True  # aggTrade stream/REST; False: the raw trade stream
    bars_closed_only: bool = True  # klines still open are not published
    depth_update_speed_ms: int = 100
    depth_snapshot_limit: int = 1000
    depth_resync_backoff_secs: float = 0.2
    mark_price_1s: bool = True
    # REST paging for historical requests (Binance maxima: 1500 klines, 1000 aggTrades per call)
    klines_page_limit: int = 1500
    agg_trades_page_limit: int = 1000
    max_request_items: int = 100_000
    fleet_budget_limit: int | None = None  # the venue's weight limit per window when None
    fleet_budget_max_wait_secs: float = 65.0

    def urls(self) -> BinanceUrls:
        return resolve_urls(self.environment, self.base_url_http, self.base_url_ws, self.base_url_ws_api)


class BinanceFuturesExecClientConfig(PerpExecClientConfig, frozen=True):
    """
    Execution client configuration (the fields both venues share: :class:`PerpExecClientConfig`).

    Parameters
    ----------
    keepalive_interval_secs
        Listen-key keepalive (``PUT /fapi/v1/listenKey``) period; Binance expires keys after 60 min.
    treat_expired_as_canceled
        Map venue EXPIRED / EXPIRED_IN_MATCH to CANCELED instead of EXPIRED.
    use_reduce_only
        Send ``reduceOnly`` for reduce-only orders (ignored in hedge mode, where Binance rejects it).
    use_position_ids
        Emit venue position ids ``<instrument_id>-<LONG|SHORT|BOTH>`` on fills (hedge-mode friendly).
    dual_side_position
        Hedge mode (True) or one-way mode (False/None, the default). The node's OMS type follows it
        (HEDGING or NETTING) and is fixed when the client is built, so on connect the account's mode
        is read (``GET /fapi/v1/positionSide/dual``) and a mismatch fails the connect with a message
        saying which value to set — never trading in the wrong mode.
    use_ws_trading
        Route order entry (place / modify / cancel, and order queries that resolve ambiguous
        outcomes) over the WS trading API (``base_url_ws_api``) instead of REST. Off by default;
        while the trading socket is down, orders go over REST.
    user_stream_via_ws_api
        Create, keep alive and delete the user stream's listen key with the WS API
        (``userDataStream.start`` / ``ping`` / ``stop`` on the trading socket; HMAC keys sign each
        request, Ed25519 keys log the session on) instead of ``/fapi/v1/listenKey``. Same recovery
        driver, triggers and backfill. A request the trading socket cannot send, or whose answer it
        lost, is asked again over REST (the account has one key either way). Independent of
        ``use_ws_trading`` (orders stay on REST unless that is on too).
    ws_trading_*
        Trading socket: protocol ping period (None disables), pong timeout (also the deadline of the
        JSON ``ping`` request sent every ``ws_trading_app_ping_interval_secs``), per-request timeout,
        reconnect backoff (initial delay doubling up to the cap, at most ``max_reconnect_attempts``;
        afterwards REST, with a background retry every cap), how long a socket must stay up before
        the backoff resets, and the period of the debug-level health/metrics log line.
    fleet_budget_*
        Several nodes on one IP: every REST request takes its weight from one budget in the Redis of
        ``fleet_budget_redis`` (a ``DatabaseConfig``, e.g. the cache's), shared by every node with the
        same Redis and ``fleet_budget_key_prefix``; the fleet uses ``fleet_budget_share`` of the venue's
        limit (or of ``fleet_budget_limit``), and one request waits at most
        ``fleet_budget_max_wait_secs`` for it. None (default): the local limiter alone.
    """

    environment: BinanceEnvironment = BinanceEnvironment.SIM
    base_url_ws_api: str | None = None
    use_ws_trading: bool = False
    # The user stream's listen key from the WS API (userDataStream.start/ping/stop on the trading
    # socket, base_url_ws_api) instead of /fapi/v1/listenKey; REST when that socket cannot carry one.
    user_stream_via_ws_api: bool = False
    # User socket liveness (Binance itself pings every 3 minutes and allows 10 for a pong).
    ws_ping_interval_secs: float = 20.0
    ws_stall_timeout_secs: float | None = 60.0
    # WS trading API socket (used when use_ws_trading=True)
    ws_trading_ping_interval_secs: float | None = 30.0
    ws_trading_pong_timeout_secs: float = 10.0
    ws_trading_app_ping_interval_secs: float | None = 30.0
    ws_trading_request_timeout_secs: float = 10.0
    ws_trading_connect_timeout_secs: float = 10.0
    ws_trading_backoff_initial_secs: float = 1.0
    ws_trading_backoff_cap_secs: float = 60.0
    ws_trading_max_reconnect_attempts: int = 10
    ws_trading_backoff_reset_after_secs: float = 30.0
    ws_trading_metrics_log_interval_secs: float | None = 60.0
    fleet_budget_limit: int | None = None  # the venue's weight limit per window when None
    fleet_budget_max_wait_secs: float = 65.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.keepalive_interval_secs <= 0:
            raise ValueError("keepalive_interval_secs must be > 0")
        if not 0 < self.ws_trading_backoff_initial_secs <= self.ws_trading_backoff_cap_secs:
            raise ValueError("need 0 < ws_trading_backoff_initial_secs <= ws_trading_backoff_cap_secs")
        if self.ws_trading_max_reconnect_attempts < 1:
            raise ValueError("ws_trading_max_reconnect_attempts must be >= 1")
        for name in (
            "ws_trading_pong_timeout_secs",
            "ws_trading_request_timeout_secs",
            "ws_trading_connect_timeout_secs",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")

    def urls(self) -> BinanceUrls:
        return resolve_urls(self.environment, self.base_url_http, self.base_url_ws, self.base_url_ws_api)
