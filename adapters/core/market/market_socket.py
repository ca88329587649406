"""The options of a data client's market socket pool that both venues derive alike from their config."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from adapters.core.net.ws_connection import WsConfig

# A market socket that stayed up this long has its reconnect backoff reset.
_BACKOFF_RESET_AFTER_SECS = 5.0


class MarketSocketConfig(Protocol):
    """The data-client config fields the pool options read (both venues' configs have them)."""

    @property
    def ws_stall_timeout_secs(self) -> float | None: ...
    @property
    def ws_backoff_initial_secs(self) -> float: ...
    @property
    def ws_backoff_cap_secs(self) -> float: ...
    @property
    def max_ws_messages_per_sec(self) -> int: ...
    @property
    def subscribe_timeout_secs(self) -> float: ...


def pool_options(
    config: MarketSocketConfig, client_name: str, logger: logging.Logger, **liveness: Any
) -> dict[str, Any]:
    """``MarketStreamPool`` keyword arguments: sockets that reconnect with the configured backoff and
    stall bound, the subscribe pacing and timeout; ``liveness``: the venue's ping fields of
    ``WsConfig``."""
    return {
        "ws_config": WsConfig(
            stall_timeout=config.ws_stall_timeout_secs,
            reconnect=True,
            backoff_initial=config.ws_backoff_initial_secs,
            backoff_cap=config.ws_backoff_cap_secs,
            backoff_reset_after=_BACKOFF_RESET_AFTER_SECS,
            **liveness,
        ),
        "max_messages_per_sec": config.max_ws_messages_per_sec,
        "request_timeout": config.subscribe_timeout_secs,
        "name": f"{client_name}-market",
        "logger": logger,
    }
