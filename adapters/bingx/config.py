"""Configuration for the BingX USDT-M perpetual swap data and execution clients.

Environments
------------
``SIM`` is the default so that nothing ever talks to a real venue by accident; it has no default URLs (pass
them, e.g. from the simulator's start-up line). ``VST`` is BingX's demo-money environment
(``open-api-vst.bingx.com``; same API keys as live). ``LIVE`` is only used when set explicitly.

Secrets
-------
``api_secret`` is masked in ``repr``/``str``/rich output (``api_key`` shortened). It is still part of
``json()``/``dict()`` because NautilusTrader round-trips configs through them; never log those. When
``api_key``/``api_secret`` are None the clients fall back to ``BINGX_API_KEY`` / ``BINGX_API_SECRET``
(see :func:`resolve_credentials`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from typing import Final

from nautilus_trader.config import DatabaseConfig, LiveDataClientConfig, LiveExecClientConfig

from adapters.core.base.secrets import MaskedReprMixin
from adapters.core.net.fleet_budget import DEFAULT_KEY_PREFIX, DEFAULT_SHARE, settings_from_config


class BingxEnvironment(Enum):
    SIM = "SIM"
    VST = "VST"
    LIVE = "LIVE"


@dataclass(frozen=True, slots=True)
class BingxUrls:
    http: str
    ws: str  # market and user stream (user stream appends ``?listenKey=``)


_DEFAULT_URLS: Final[dict[BingxEnvironment, BingxUrls]] = {
    BingxEnvironment.VST: BingxUrls(
        http="https://open-api-vst.bingx.com", ws="wss://vst-open-api-ws.bingx.com/swap-market"
    ),
    BingxEnvironment.LIVE: BingxUrls(
        http="https://open-api.bingx.com", ws="wss://open-api-swap.bingx.com/swap-market"
    ),
}

ENV_API_KEY: Final = "BINGX_API_KEY"
ENV_API_SECRET: Final = "BINGX_API_SECRET"
MAX_RECV_WINDOW_MS: Final = 60_000
# BingX documents no connection-age limit; peers assume ~24 h. Rotate comfortably before that.
DEFAULT_ROTATE_AFTER_SECS: Final = 23.5 * 3600


def default_urls(environment: BingxEnvironment) -> BingxUrls | None:
    """Default URLs for ``environment`` (None for SIM, which has none)."""
    return _DEFAULT_URLS.get(environment)


def resolve_urls(
    environment: BingxEnvironment, base_url_http: str | None = None, base_url_ws: str | None = None
) -> BingxUrls:
    """Explicit URLs win over environment defaults. SIM requires both explicit URLs."""
    defaults = _DEFAULT_URLS.get(environment)
    http = base_url_http or (defaults.http if defaults else None)
    ws = base_url_ws or (defaults.ws if defaults else None)
    if http is None or ws is None:
        raise ValueError(
            f"environment {environment.value} has no default URLs: set base_url_http and base_url_ws "
            "(for SIM take them from the simulator's start-up line)"
        )
    return BingxUrls(http=http.rstrip("/"), ws=ws.rstrip("/"))


def resolve_credentials(api_key: str | None, api_secret: str | None) -> tuple[str, str]:
    """``(api_key, api_secret)`` from config or environment; raises without echoing anything secret."""
    key = api_key or os.environ.get(ENV_API_KEY)
    secret = api_secret or os.environ.get(ENV_API_SECRET)
    if not key:
        raise ValueError(f"no api_key configured (config field or {ENV_API_KEY})")
    if not secret:
        raise ValueError(f"no api_secret configured (config field or {ENV_API_SECRET})")
    return key, secret


def _check_common(http_timeout_secs: float, recv_window_ms: int) -> None:
    if http_timeout_secs <= 0:
        raise ValueError("http_timeout_secs must be > 0")
    if not 0 < recv_window_ms <= MAX_RECV_WINDOW_MS:
        raise ValueError(f"recv_window_ms must be in (0, {MAX_RECV_WINDOW_MS}]")


class BingxDataClientConfig(MaskedReprMixin, LiveDataClientConfig, frozen=True):  # type: ignore[misc]
    """
    Market-data client configuration (same connection fields as the exec client).

    Parameters
    ----------
    max_topics_per_connection
        Topics per market socket (BingX refuses more than 200 with 80403); more open another socket.
    max_ws_messages_per_sec
        Subscribe/unsubscribe requests per socket and second (BingX asks for at most 10).
    subscribe_timeout_secs
        How long a subscribe/unsubscribe waits for the venue's ack.
    ws_stall_timeout_secs
        No frame (BingX pings every ~5 s) for this long: the socket is dead and is reconnected.
    ws_backoff_initial_secs / ws_backoff_cap_secs
        Reconnect backoff.
    depth_interval_ms
        ``@depth10@<X>ms`` push interval for OrderBookDepth10; None: 200 for BTC-USDT/ETH-USDT and 500
        otherwise (the venue's own cadence since 2025-06).
    book_resync_backoff_secs
        Pause between failed attempts to get a fresh ``@incrDepth`` snapshot (doubling, capped at 5 s).
    funding_poll_interval_secs
        Funding-rate and index-price subscriptions poll ``GET /openApi/swap/v2/quote/premiumIndex`` at
        this period (the stream carries neither); an update is published when the value changes.
    trade_dedup_capacity
        How many recent synthesised trade ids are remembered per instrument to drop duplicate pushes.
    klines_page_limit
        Rows per ``klines`` page for bar requests (BingX max 1440).
    """

    api_key: str | None = None
    api_secret: str | None = None
    environment: BingxEnvironment = BingxEnvironment.SIM
    base_url_http: str | None = None
    base_url_ws: str | None = None
    http_timeout_secs: float = 10.0
    recv_window_ms: int = 5_000
    update_instruments_interval_mins: int | None = 60
    max_topics_per_connection: int = 200
    max_ws_messages_per_sec: int = 8
    subscribe_timeout_secs: float = 10.0
    ws_stall_timeout_secs: float | None = 30.0
    ws_backoff_initial_secs: float = 0.5
    ws_backoff_cap_secs: float = 30.0
    depth_interval_ms: int | None = None
    book_resync_backoff_secs: float = 0.5
    funding_poll_interval_secs: float = 60.0
    trade_dedup_capacity: int = 10_000
    klines_page_limit: int = 1000
    max_request_items: int = 50_000
    # Prometheus endpoint (adapters.core.client.metrics), off by default: /metrics on
    # metrics_host:metrics_port, one server per process whichever clients enable it.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # --- several nodes on one IP (adapters.core.net.fleet_budget; see docs/operations.md) ---------------
    fleet_budget_redis: DatabaseConfig | None = None
    fleet_budget_key_prefix: str = DEFAULT_KEY_PREFIX
    fleet_budget_share: float = DEFAULT_SHARE
    fleet_budget_max_wait_secs: float = 10.0

    def __post_init__(self) -> None:
        _check_common(self.http_timeout_secs, self.recv_window_ms)
        settings_from_config(self)  # validates the fleet budget fields
        if not 1 <= self.max_topics_per_connection <= 200:
            raise ValueError("max_topics_per_connection must be in [1, 200] (BingX's per-socket limit)")
        if self.max_ws_messages_per_sec < 1:
            raise ValueError("max_ws_messages_per_sec must be >= 1")
        if self.funding_poll_interval_secs <= 0:
            raise ValueError("funding_poll_interval_secs must be > 0")
        if not 1 <= self.klines_page_limit <= 1440:
            raise ValueError("klines_page_limit must be in [1, 1440]")
        if self.trade_dedup_capacity < 1:
            raise ValueError("trade_dedup_capacity must be >= 1")

    def urls(self) -> BingxUrls:
        return resolve_urls(self.environment, self.base_url_http, self.base_url_ws)


class BingxExecClientConfig(MaskedReprMixin, LiveExecClientConfig, frozen=True):  # type: ignore[misc]
    """
    Execution client configuration.

    Parameters
    ----------
    keepalive_interval_secs
        listenKey keepalive (``PUT /openApi/user/auth/userDataStream``) period. Keys live 60 min from the
        last keepalive; BingX recommends every 30 min (the default).
    recovery_backoff_initial_secs / recovery_backoff_cap_secs / recovery_backoff_reset_secs
        User-stream recovery retry backoff: initial delay, doubling up to the cap; shared by
        consecutive recoveries until a recovered stream has stayed up ``recovery_backoff_reset_secs``;
        retried forever until cancelled.
    closed_order_retention_secs
        How long a closed order stays tracked before it is forgotten (memory stays flat).
    startup_hold_timeout_secs
        The user stream is held (connected, events queued) until the trader starts, i.e. until
        NautilusTrader's startup reconciliation has been applied; released anyway after this long.
    rotate_after_secs
        Proactively rotate the user-stream connection (new listenKey + socket + REST reconciliation) after
        this connection age. BingX documents no age limit; peers assume ~24 h. None disables rotation.
    treat_expired_as_canceled
        Map venue EXPIRED to CANCELED instead of EXPIRED.
    use_reduce_only
        Send ``reduceOnly`` for reduce-only orders in one-way mode. Never sent in hedge mode, where BingX
        rejects it (109400); there the position side carries the intent.
    dual_side_position
        Hedge mode. None (default): query ``GET /openApi/swap/v1/positionSide/dual`` on connect.
        True/False: trust the config and skip the query.
    source_key
        Optional ``X-SOURCE-KEY`` broker/source tag header (not required by BingX).
    overlap_rotation
        Rotate with overlap (default): the new listenKey's socket must prove healthy (first frame or
        pong) before the old socket closes; events seen on both are de-duplicated. False: the new
        socket simply replaces the old one.
    healthy_timeout_secs
        How long a new socket may take to prove healthy in an overlap rotation (else the attempt fails
        and is retried with backoff, the old socket untouched).
    ws_ping_interval_secs / ws_pong_timeout_secs / ws_stall_timeout_secs
        Client-side liveness of the user socket: protocol ping period (None disables), its deadline,
        and "no frame and no pong for this long" (BingX pings every ~5 s, so a silent socket is dead).
    poll_failover / poll_interval_secs
        While the user stream is down, poll REST (balance, positions, open orders, closed orders,
        fills since the last trade id) every ``poll_interval_secs``.
    audit_interval_secs
        Poll REST this often even while the stream is up (BingX loses events on healthy sockets and
        pushes nothing for some triggered SL/TP orders); None disables.
    poll_only
        REST-poll mode: no user stream at all; the account is polled every ``poll_interval_secs``
        (the WS and poll paths produce identical account state: tests/bingx/test_mode_parity.py).
    reconciliation_max_symbols
        Fill/order history is queried per symbol; with at most this many instruments loaded, every
        loaded symbol is queried during reconciliation (a restarted node knows no other trace).
    recovery_backoff_jitter
        Recovery retry delays scaled by a random factor in ``[1 - jitter, 1]``; None: 0.5 with a fleet
        budget, else 0.
    fleet_budget_*
        Several nodes on one IP or account: every REST request takes its place from one budget in the
        Redis of ``fleet_budget_redis`` (per account and endpoint, per second, as BingX counts), shared by
        every node with the same Redis and ``fleet_budget_key_prefix``. None (default): off.
    """

    api_key: str | None = None
    api_secret: str | None = None
    environment: BingxEnvironment = BingxEnvironment.SIM
    base_url_http: str | None = None
    base_url_ws: str | None = None
    keepalive_interval_secs: float = 1800.0
    recovery_backoff_initial_secs: float = 1.0
    recovery_backoff_cap_secs: float = 30.0
    recovery_backoff_reset_secs: float = 30.0
    closed_order_retention_secs: float = 3600.0
    startup_hold_timeout_secs: float = 120.0
    rotate_after_secs: float | None = DEFAULT_ROTATE_AFTER_SECS
    treat_expired_as_canceled: bool = False
    use_reduce_only: bool = True
    use_position_ids: bool = True
    dual_side_position: bool | None = None
    http_timeout_secs: float = 10.0
    recv_window_ms: int = 5_000
    source_key: str | None = None
    overlap_rotation: bool = True
    healthy_timeout_secs: float = 10.0
    ws_ping_interval_secs: float | None = 20.0
    ws_pong_timeout_secs: float = 10.0
    ws_stall_timeout_secs: float | None = 30.0
    poll_failover: bool = True
    poll_interval_secs: float = 5.0
    audit_interval_secs: float | None = 60.0
    poll_only: bool = False
    reconciliation_max_symbols: int = 20
    # Prometheus endpoint (adapters.core.client.metrics), off by default: /metrics on
    # metrics_host:metrics_port, one server per process whichever clients enable it.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    recovery_backoff_jitter: float | None = None
    # --- several nodes on one IP (adapters.core.net.fleet_budget; see docs/operations.md) ---------------
    fleet_budget_redis: DatabaseConfig | None = None
    fleet_budget_key_prefix: str = DEFAULT_KEY_PREFIX
    fleet_budget_share: float = DEFAULT_SHARE
    fleet_budget_max_wait_secs: float = 10.0

    def __post_init__(self) -> None:
        settings_from_config(self)  # validates the fleet budget fields
        if self.recovery_backoff_jitter is not None and not 0 <= self.recovery_backoff_jitter <= 1:
            raise ValueError("recovery_backoff_jitter must be in [0, 1]")
        if self.poll_interval_secs <= 0:
            raise ValueError("poll_interval_secs must be > 0")
        if self.healthy_timeout_secs <= 0:
            raise ValueError("healthy_timeout_secs must be > 0")
        if not 0 < self.keepalive_interval_secs < 3600:
            raise ValueError("keepalive_interval_secs must be in (0, 3600): listenKeys expire after 60 min")
        if not 0 < self.recovery_backoff_initial_secs <= self.recovery_backoff_cap_secs:
            raise ValueError("need 0 < recovery_backoff_initial_secs <= recovery_backoff_cap_secs")
        if self.recovery_backoff_reset_secs < 0 or self.closed_order_retention_secs < 0:
            raise ValueError("recovery_backoff_reset_secs and closed_order_retention_secs must be >= 0")
        if self.rotate_after_secs is not None and self.rotate_after_secs <= self.keepalive_interval_secs:
            raise ValueError("rotate_after_secs must be > keepalive_interval_secs (or None)")
        _check_common(self.http_timeout_secs, self.recv_window_ms)

    def urls(self) -> BingxUrls:
        return resolve_urls(self.environment, self.base_url_http, self.base_url_ws)
