"""The configuration fields and checks both venues' data and execution clients share.

Each venue's config subclasses :class:`PerpDataClientConfig` or :class:`PerpExecClientConfig` and adds its
environment, URLs and its own fields; a field whose default differs by venue is declared again there
(it keeps its place). Secrets are masked in ``repr``/``str`` (:class:`MaskedReprMixin`);
:func:`resolve_credentials` reads what the config leaves ``None`` from the environment and
:func:`resolve_base_urls` fills in the environment's default URLs.

The connection fields stand in both classes: NautilusTrader's data and exec config bases are siblings,
and msgspec cannot combine two bases that both bring fields (their layouts conflict), so a shared
connection base cannot be mixed into either.
"""

from __future__ import annotations

import os
from enum import Enum
from typing import Protocol

from nautilus_trader.config import DatabaseConfig, LiveDataClientConfig, LiveExecClientConfig

from adapters.core.base.secrets import MaskedReprMixin
from adapters.core.net.fleet_budget import DEFAULT_KEY_PREFIX, DEFAULT_SHARE, settings_from_config

MAX_RECV_WINDOW_MS = 60_000  # both venues refuse a larger recvWindow


class VenueUrls(Protocol):
    @property
    def http(self) -> str: ...
    @property
    def ws(self) -> str: ...


def resolve_credentials(
    api_key: str | None, api_secret: str | None, env_key: str, env_secret: str
) -> tuple[str, str]:
    """``(api_key, api_secret)`` from config or the environment variables ``env_key`` / ``env_secret``;
    raises without echoing anything secret."""
    key = api_key or os.environ.get(env_key)
    secret = api_secret or os.environ.get(env_secret)
    if not key:
        raise ValueError(f"no api_key configured (config field or {env_key})")
    if not secret:
        raise ValueError(f"no api_secret configured (config field or {env_secret})")
    return key, secret


def resolve_base_urls(
    environment: Enum, defaults: VenueUrls | None, base_url_http: str | None, base_url_ws: str | None
) -> tuple[str, str]:
    """The REST and stream base URLs (no trailing slash): explicit ones win over the environment's
    ``defaults``; an environment without defaults (SIM) needs both explicit."""
    http = base_url_http or (defaults.http if defaults else None)
    ws = base_url_ws or (defaults.ws if defaults else None)
    if http is None or ws is None:
        raise ValueError(
            f"environment {environment.value} has no default URLs: set base_url_http and base_url_ws "
            "(for SIM take them from the simulator's start-up JSON line)"
        )
    return http.rstrip("/"), ws.rstrip("/")


def check_connection(http_timeout_secs: float, recv_window_ms: int) -> None:
    """Raise ValueError for a REST timeout or ``recvWindow`` the venues cannot work with."""
    if http_timeout_secs <= 0:
        raise ValueError("http_timeout_secs must be > 0")
    if not 0 < recv_window_ms <= MAX_RECV_WINDOW_MS:
        raise ValueError(f"recv_window_ms must be in (0, {MAX_RECV_WINDOW_MS}]")


class PerpDataClientConfig(MaskedReprMixin, LiveDataClientConfig, frozen=True):  # type: ignore[misc]
    """The market-data client fields both venues have (same connection fields as the exec client)."""

    api_key: str | None = None
    api_secret: str | None = None
    base_url_http: str | None = None
    base_url_ws: str | None = None
    http_timeout_secs: float = 10.0
    recv_window_ms: int = 5_000
    update_instruments_interval_mins: int | None = 60
    # The venues drop a connection sending more than 10 messages per second.
    max_ws_messages_per_sec: int = 8
    subscribe_timeout_secs: float = 10.0
    ws_stall_timeout_secs: float | None = 30.0
    ws_backoff_initial_secs: float = 0.5
    ws_backoff_cap_secs: float = 30.0
    # Prometheus endpoint (adapters.core.client.metrics), off by default: /metrics on
    # metrics_host:metrics_port, one server per process whichever clients enable it.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # --- several nodes on one IP (adapters.core.net.fleet_budget; see docs/operations.md) ---------------
    # A Redis (e.g. the node cache's DatabaseConfig) shared by every node on the IP: each request's
    # weight comes from one budget there. None: off, this node's local limiter alone.
    fleet_budget_redis: DatabaseConfig | None = None
    fleet_budget_key_prefix: str = DEFAULT_KEY_PREFIX
    fleet_budget_share: float = DEFAULT_SHARE
    fleet_budget_max_wait_secs: float = 10.0

    def __post_init__(self) -> None:
        settings_from_config(self)  # validates the fleet budget fields


class PerpExecClientConfig(MaskedReprMixin, LiveExecClientConfig, frozen=True):  # type: ignore[misc]
    """
    The execution client fields both venues have.

    Parameters
    ----------
    recovery_backoff_initial_secs / recovery_backoff_cap_secs / recovery_backoff_reset_secs
        User-stream recovery retry backoff: initial delay, doubling up to the cap; shared by
        consecutive recoveries until a recovered stream has stayed up ``recovery_backoff_reset_secs``;
        retried forever until cancelled.
    closed_order_retention_secs
        How long a closed order stays tracked before it is forgotten (memory stays flat).
    startup_hold_timeout_secs
        The user stream is held (connected, events queued) until the trader starts, i.e. until
        NautilusTrader's startup reconciliation has been applied; released anyway after this long.
    ws_ping_interval_secs / ws_pong_timeout_secs / ws_stall_timeout_secs
        Liveness of the user socket: a protocol ping every ``ws_ping_interval_secs``; no pong within
        ``ws_pong_timeout_secs``, or no frame and no pong for ``ws_stall_timeout_secs``, and the socket
        is treated as dead -> recovery.
    reconciliation_max_symbols
        Order and fill history is queried per symbol; with at most this many instruments loaded,
        every loaded symbol is queried during reconciliation (else only symbols with known activity).
    recovery_backoff_jitter
        Recovery retry delays scaled by a random factor in ``[1 - jitter, 1]``; None: 0.5 with a fleet
        budget (nodes that failed together do not retry together), else 0.
    """

    api_key: str | None = None
    api_secret: str | None = None
    base_url_http: str | None = None
    base_url_ws: str | None = None
    keepalive_interval_secs: float = 1800.0
    recovery_backoff_initial_secs: float = 1.0
    recovery_backoff_cap_secs: float = 30.0
    recovery_backoff_reset_secs: float = 30.0
    closed_order_retention_secs: float = 3600.0
    startup_hold_timeout_secs: float = 120.0
    treat_expired_as_canceled: bool = False
    use_reduce_only: bool = True
    use_position_ids: bool = True
    dual_side_position: bool | None = None
    http_timeout_secs: float = 10.0
    recv_window_ms: int = 5_000
    ws_ping_interval_secs: float | None = 20.0
    ws_pong_timeout_secs: float = 10.0
    ws_stall_timeout_secs: float | None = 30.0
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
        if not 0 < self.recovery_backoff_initial_secs <= self.recovery_backoff_cap_secs:
            raise ValueError("need 0 < recovery_backoff_initial_secs <= recovery_backoff_cap_secs")
        if self.recovery_backoff_reset_secs < 0 or self.closed_order_retention_secs < 0:
            raise ValueError("recovery_backoff_reset_secs and closed_order_retention_secs must be >= 0")
        check_connection(self.http_timeout_secs, self.recv_window_ms)
