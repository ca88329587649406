"""What both venues' TradingNode factories do the same way.

The data and exec clients of one venue account (same REST URL, credentials and provider config)
share one HTTP client (one rate-limit budget) and one instrument provider (instruments loaded once):
:func:`cached_http_clients` keeps one client per account, :func:`provider_config` makes a provider
load something, and :class:`AccountClients` builds a client on the shared pair and enables its
metrics endpoint when configured.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, Protocol, TypeVar

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.identifiers import ClientId

from adapters.core.net.fleet_budget import FleetBudget, FleetBudgetSettings, settings_from_config

H = TypeVar("H")  # a venue's HTTP client
C = TypeVar("C")  # a data or exec client

HttpGetter = Callable[[str, str | None, str | None, float, int, FleetBudgetSettings | None], H]


class _Urls(Protocol):
    @property
    def http(self) -> str: ...


class ClientConfig(Protocol):
    """The client-config fields a factory reads (both venues' data and exec configs have them)."""

    @property
    def http_timeout_secs(self) -> float: ...
    @property
    def recv_window_ms(self) -> int: ...
    @property
    def instrument_provider(self) -> InstrumentProviderConfig: ...
    def urls(self) -> _Urls: ...


def cached_http_clients(
    http_type: Callable[..., H],
    fleet_budget: Callable[[str, FleetBudgetSettings | None], FleetBudget | None],
) -> HttpGetter[H]:
    """One ``http_type`` client per (URL, credentials, timeouts, fleet settings), every argument
    positional so that the cache key does not depend on how it was passed. Each client closes it
    on disconnect; its aiohttp session (and the fleet budget's Redis connection) is re-created
    lazily if another client still uses it."""

    @lru_cache(maxsize=16)
    def cached(
        base_url_http: str,
        api_key: str | None,
        api_secret: str | None,
        timeout_secs: float,
        recv_window_ms: int,
        fleet: FleetBudgetSettings | None,
    ) -> H:
        return http_type(
            base_url_http,
            api_key,
            api_secret,
            timeout_secs=timeout_secs,
            recv_window_ms=recv_window_ms,
            fleet_budget=fleet_budget(base_url_http, fleet),
        )

    return cached


def provider_config(config: InstrumentProviderConfig) -> InstrumentProviderConfig:
    """A provider that would load nothing leaves strategies without instruments: it loads
    everything unless the user narrowed it with ``load_ids``."""
    if not config.load_all and not config.load_ids:
        return InstrumentProviderConfig(
            load_all=True, filters=config.filters, log_warnings=config.log_warnings
        )
    return config


@dataclass(frozen=True, slots=True)
class AccountClients(Generic[H]):
    """How a venue's clients of one account get their shared HTTP client and instrument provider."""

    http: HttpGetter[H]
    provider: Callable[..., object]  # (http, provider config) -> the shared provider

    def create(
        self,
        client_type: Callable[..., C],
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: ClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        *,
        credentials: tuple[str | None, str | None],
        enable_metrics: Callable[[C, Any, H], object],
    ) -> C:
        """A client on the account's shared HTTP client and instrument provider; its metrics
        endpoint is served when ``config.metrics_port`` is set."""
        key, secret = credentials
        shared = self.http(
            config.urls().http,
            key,
            secret,
            config.http_timeout_secs,
            config.recv_window_ms,
            settings_from_config(config),  # type: ignore[arg-type]  # both venues' configs have the fields
        )
        client = client_type(
            loop=loop,
            client_id=ClientId(name),
            config=config,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=self.provider(shared, config.instrument_provider),
            http=shared,
        )
        enable_metrics(client, config, shared)
        return client
