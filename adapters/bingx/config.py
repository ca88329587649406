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

from nautilus_trader.config import LiveDataClientConfig, LiveExecClientConfig

from adapters.core.secrets import MaskedReprMixin


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
    """Market-data client configuration (same connection fields as the exec client)."""

    api_key: str | None = None
    api_secret: str | None = None
    environment: BingxEnvironment = BingxEnvironment.SIM
    base_url_http: str | None = None
    base_url_ws: str | None = None
    http_timeout_secs: float = 10.0
    recv_window_ms: int = 5_000
    update_instruments_interval_mins: int | None = 60

    def __post_init__(self) -> None:
        _check_common(self.http_timeout_secs, self.recv_window_ms)

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
    recovery_backoff_initial_secs / recovery_backoff_cap_secs
        User-stream recovery retry backoff: initial delay, doubling up to the cap.
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
    """

    api_key: str | None = None
    api_secret: str | None = None
    environment: BingxEnvironment = BingxEnvironment.SIM
    base_url_http: str | None = None
    base_url_ws: str | None = None
    keepalive_interval_secs: float = 1800.0
    recovery_backoff_initial_secs: float = 1.0
    recovery_backoff_cap_secs: float = 30.0
    rotate_after_secs: float | None = DEFAULT_ROTATE_AFTER_SECS
    treat_expired_as_canceled: bool = False
    use_reduce_only: bool = True
    use_position_ids: bool = True
    dual_side_position: bool | None = None
    http_timeout_secs: float = 10.0
    recv_window_ms: int = 5_000
    source_key: str | None = None

    def __post_init__(self) -> None:
        if not 0 < self.keepalive_interval_secs < 3600:
            raise ValueError("keepalive_interval_secs must be in (0, 3600): listenKeys expire after 60 min")
        if not 0 < self.recovery_backoff_initial_secs <= self.recovery_backoff_cap_secs:
            raise ValueError("need 0 < recovery_backoff_initial_secs <= recovery_backoff_cap_secs")
        if self.rotate_after_secs is not None and self.rotate_after_secs <= self.keepalive_interval_secs:
            raise ValueError("rotate_after_secs must be > keepalive_interval_secs (or None)")
        _check_common(self.http_timeout_secs, self.recv_window_ms)

    def urls(self) -> BingxUrls:
        return resolve_urls(self.environment, self.base_url_http, self.base_url_ws)
