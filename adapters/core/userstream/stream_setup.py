"""The user stream and its socket as an execution client's config describes them (both venues).

* :func:`user_stream_service` — recovery backoff bounds, one operation bounded like a report, the
  keepalive period, fleet-budget waits and jitter;
* :func:`ws_config` — the user socket's keepalive and stall bounds.
"""

from __future__ import annotations

import logging
from typing import Any, Final, Protocol

from adapters.core.net.ws_connection import WsConfig
from adapters.core.orders.reconciliation import report_timeout
from adapters.core.userstream.listen_key import ListenKeyOps
from adapters.core.userstream.recovery import RecoveryOptions, RecoveryVenue
from adapters.core.userstream.user_stream import UserStreamService

FLEET_RECOVERY_JITTER: Final = 0.5  # recovery retry jitter of nodes sharing a fleet budget


class StreamConfig(Protocol):
    """The exec-client config fields the user stream is built from (both venues' configs have them)."""

    @property
    def recovery_backoff_initial_secs(self) -> float: ...
    @property
    def recovery_backoff_cap_secs(self) -> float: ...
    @property
    def recovery_backoff_reset_secs(self) -> float: ...
    @property
    def http_timeout_secs(self) -> float: ...
    @property
    def keepalive_interval_secs(self) -> float: ...


class StreamOps(RecoveryVenue, ListenKeyOps, Protocol):
    """A venue's user-stream operations: recovery phases and listen-key calls in one object."""


def user_stream_service(
    ops: StreamOps,
    config: StreamConfig,
    *,
    name: str,
    logger: logging.Logger,
    rotate_every: float | None = None,
    **options: Any,
) -> UserStreamService:
    """The user stream from ``config``: recovery backoff bounds, one operation bounded like a report,
    the keepalive period; ``options`` are further :class:`RecoveryOptions` (e.g. overlap rotation).

    With a fleet budget (several nodes on one IP), one operation may also wait its turn for request
    weight (``fleet_budget_max_wait_secs``), and retries are jittered (``recovery_backoff_jitter``,
    default 0.5 then) so that nodes that failed together do not retry together."""
    fleet = getattr(config, "fleet_budget_redis", None) is not None
    fleet_wait = float(getattr(config, "fleet_budget_max_wait_secs", 0.0)) if fleet else 0.0
    jitter = getattr(config, "recovery_backoff_jitter", None)
    if jitter is None:
        jitter = FLEET_RECOVERY_JITTER if fleet else 0.0
    return UserStreamService(
        ops,
        ops,
        options=RecoveryOptions(
            retry_initial=config.recovery_backoff_initial_secs,
            retry_cap=config.recovery_backoff_cap_secs,
            backoff_reset_after=config.recovery_backoff_reset_secs,
            op_timeout=report_timeout(config.http_timeout_secs) + fleet_wait,
            retry_jitter=float(jitter),
            **options,
        ),
        keepalive_interval=config.keepalive_interval_secs,
        rotate_every=rotate_every,
        name=name,
        logger=logger,
    )


class WsSocketConfig(Protocol):
    """The exec-client config fields a user socket is built from."""

    @property
    def ws_ping_interval_secs(self) -> float | None: ...
    @property
    def ws_pong_timeout_secs(self) -> float: ...
    @property
    def ws_stall_timeout_secs(self) -> float | None: ...


def ws_config(config: WsSocketConfig, **extra: Any) -> WsConfig:
    """The user socket's keepalive and stall bounds from ``config``; ``extra``: further fields."""
    return WsConfig(
        ping_interval=config.ws_ping_interval_secs,
        pong_timeout=config.ws_pong_timeout_secs,
        stall_timeout=config.ws_stall_timeout_secs,
        **extra,
    )
