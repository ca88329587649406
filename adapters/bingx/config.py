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

from dataclasses import dataclass
from enum import Enum
from typing import Final

from adapters.core.client import client_config
from adapters.core.client.client_config import PerpDataClientConfig, PerpExecClientConfig, check_connection


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
# BingX documents no connection-age limit; peers assume ~24 h. Rotate comfortably before that.
DEFAULT_ROTATE_AFTER_SECS: Final = 23.5 * 3600


def default_urls(environment: BingxEnvironment) -> BingxUrls | None:
    """Default URLs for ``environment`` (None for SIM, which has none)."""
    return _DEFAULT_URLS.get(environment)


def resolve_urls(
    environment: BingxEnvironment, base_url_http: str | None = None, base_url_ws: str | None = None
) -> BingxUrls:
    """Explicit URLs win over environment defaults. SIM requires both explicit URLs."""
    http, ws = client_config.resolve_base_urls(
        environment, _DEFAULT_URLS.get(environment), base_url_http, base_url_ws
    )
    return BingxUrls(http=http, ws=ws)


def resolve_credentials(api_key: str | None, api_secret: str | None) -> tuple[str, str]:
    """``(api_key, api_secret)`` from config or environment; raises without echoing anything secret."""
    return client_config.resolve_credentials(api_key, api_secret, ENV_API_KEY, ENV_API_SECRET)


class BingxDataClientConfig(PerpDataClientConfig, frozen=True):
    """
    Market-data client configuration (same connection fields as the exec client; the fields both
    venues share: :class:`PerpDataClientConfig`).

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

    environment: BingxEnvironment = BingxEnvironment.SIM
    max_topics_per_connection: int = 200
    depth_interval_ms: int | None = None
    book_resync_backoff_secs: float = 0.5
    funding_poll_interval_secs: float = 60.0
    trade_dedup_capacity: int = 10_000
    klines_page_limit: int = 1000
    max_request_items: int = 50_000

    def __post_init__(self) -> None:
        check_connection(self.http_timeout_secs, self.recv_window_ms)
        super().__post_init__()
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


class BingxExecClientConfig(PerpExecClientConfig, frozen=True):
    """
    Execution client configuration (the fields both venues share: :class:`PerpExecClientConfig`).

    Parameters
    ----------
    keepalive_interval_secs
        listenKey keepalive (``PUT /openApi/user/auth/userDataStream``) period. Keys live 60 min from the
        last keepalive; BingX recommends every 30 min (the default).
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
    ws_stall_timeout_secs
        BingX pings every ~5 s, so a socket silent for this long is dead.
    poll_failover / poll_interval_secs
        While the user stream is down, poll REST (balance, positions, open orders, closed orders,
        fills since the last trade id) every ``poll_interval_secs``.
    audit_interval_secs
        Poll REST this often even while the stream is up (BingX loses events on healthy sockets and
        pushes nothing for some triggered SL/TP orders); None disables.
    poll_only
        REST-poll mode: no user stream at all; the account is polled every ``poll_interval_secs``
        (the WS and poll paths produce identical account state: tests/bingx/test_mode_parity.py).
    fleet_budget_*
        Several nodes on one IP or account: every REST request takes its place from one budget in the
        Redis of ``fleet_budget_redis`` (per account and endpoint, per second, as BingX counts), shared by
        every node with the same Redis and ``fleet_budget_key_prefix``. None (default): off.
    """

    environment: BingxEnvironment = BingxEnvironment.SIM
    rotate_after_secs: float | None = DEFAULT_ROTATE_AFTER_SECS
    source_key: str | None = None
    overlap_rotation: bool = True
    healthy_timeout_secs: float = 10.0
    poll_failover: bool = True
    poll_interval_secs: float = 5.0
    audit_interval_secs: float | None = 60.0
    poll_only: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.poll_interval_secs <= 0:
            raise ValueError("poll_interval_secs must be > 0")
        if self.healthy_timeout_secs <= 0:
            raise ValueError("healthy_timeout_secs must be > 0")
        if not 0 < self.keepalive_interval_secs < 3600:
            raise ValueError("keepalive_interval_secs must be in (0, 3600): listenKeys expire after 60 min")
        if self.rotate_after_secs is not None and self.rotate_after_secs <= self.keepalive_interval_secs:
            raise ValueError("rotate_after_secs must be > keepalive_interval_secs (or None)")

    def urls(self) -> BingxUrls:
        return resolve_urls(self.environment, self.base_url_http, self.base_url_ws)
