"""TradingNode factories for Binance USD-M Futures, registered under the key ``"BINANCE"``.

Usage::

    node.add_data_client_factory("BINANCE", BinanceFuturesLiveDataClientFactory)
    node.add_exec_client_factory("BINANCE", BinanceFuturesLiveExecClientFactory)
    config = TradingNodeConfig(
        data_clients={"BINANCE": BinanceFuturesDataClientConfig(...)},
        exec_clients={"BINANCE": BinanceFuturesExecClientConfig(...)},
    )

The data and exec clients of one venue account (same REST URL, same credentials, same instrument
provider config) share one HTTP client (one rate-limit budget, as Binance counts weight per IP) and
one instrument provider (exchangeInfo loaded once), like NautilusTrader's own Binance adapter does
with ``lru_cache``d getters.

Several nodes on one IP: with ``fleet_budget_redis`` set, the HTTP client takes every request's weight
from a budget in Redis shared by all nodes configured with the same Redis and key prefix
(:mod:`adapters.core.net.fleet_budget`). Set the same fleet fields on the data and exec configs of an
account: the settings are part of the shared client's cache key.

(In Python, register exec factories with ``add_exec_client_factory``: NautilusTrader 1.221's builder
cannot use an exec factory given as an ``ImportableConfig`` path; config files read with
:mod:`adapters.node_config` can, as it resolves the path to the factory class.)
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.live.factories import LiveDataClientFactory, LiveExecClientFactory
from yarl import URL

from adapters.binance_futures.config import (
    BinanceFuturesDataClientConfig,
    BinanceFuturesExecClientConfig,
    resolve_credentials,
)
from adapters.binance_futures.data import BinanceFuturesDataClient
from adapters.binance_futures.execution import BinanceFuturesExecutionClient
from adapters.binance_futures.http import BinanceFuturesHttpClient
from adapters.binance_futures.providers import BinanceFuturesInstrumentProvider
from adapters.core.client import metrics
from adapters.core.client.client_factory import (
    AccountClients,
    HttpGetter,
    cached_http_clients,
    provider_config,
)
from adapters.core.net.fleet_budget import FleetBudget, FleetBudgetSettings

BINANCE = "BINANCE"


def create_fleet_budget(base_url_http: str, settings: FleetBudgetSettings | None) -> FleetBudget | None:
    """The budget shared by every node on this IP for the venue host of ``base_url_http`` (None: off)."""
    if settings is None:
        return None
    return FleetBudget(settings, f"binance:{URL(base_url_http).host_port_subcomponent or base_url_http}")


def create_http_client(
    base_url_http: str,
    api_key: str | None,
    api_secret: str | None,
    timeout_secs: float,
    recv_window_ms: int,
    fleet_budget: FleetBudgetSettings | None = None,
) -> BinanceFuturesHttpClient:
    key, secret = resolve_credentials(api_key, api_secret)
    return BinanceFuturesHttpClient(
        base_url_http,
        key,
        secret,
        timeout_secs=timeout_secs,
        recv_window_ms=recv_window_ms,
        fleet_budget=create_fleet_budget(base_url_http, fleet_budget),
    )


def create_instrument_provider(
    http: BinanceFuturesHttpClient, config: InstrumentProviderConfig
) -> BinanceFuturesInstrumentProvider:
    return BinanceFuturesInstrumentProvider(http, provider_config(config))


_cached_http_client: HttpGetter[BinanceFuturesHttpClient] = cached_http_clients(
    BinanceFuturesHttpClient, create_fleet_budget
)


def get_cached_http_client(
    base_url_http: str,
    api_key: str | None,
    api_secret: str | None,
    timeout_secs: float,
    recv_window_ms: int,
    fleet_budget: FleetBudgetSettings | None = None,
) -> BinanceFuturesHttpClient:
    """One HTTP client per (URL, credentials): shared by the data and exec clients of an account
    (see :func:`adapters.core.client.client_factory.cached_http_clients`)."""
    return _cached_http_client(base_url_http, api_key, api_secret, timeout_secs, recv_window_ms, fleet_budget)


@lru_cache(maxsize=16)
def _cached_provider(
    http: BinanceFuturesHttpClient, config: InstrumentProviderConfig
) -> BinanceFuturesInstrumentProvider:
    return create_instrument_provider(http, config)


def get_cached_instrument_provider(
    http: BinanceFuturesHttpClient, config: InstrumentProviderConfig
) -> BinanceFuturesInstrumentProvider:
    """One provider per (HTTP client, provider config); an unhashable config gets its own."""
    try:
        hash(config)
    except TypeError:
        return create_instrument_provider(http, config)
    return _cached_provider(http, config)


def _optional_credentials(api_key: str | None, api_secret: str | None) -> tuple[str | None, str | None]:
    """Market data is public: credentials are used when configured, not required."""
    try:
        return resolve_credentials(api_key, api_secret)
    except ValueError:
        return None, None


_ACCOUNT = AccountClients(get_cached_http_client, get_cached_instrument_provider)


class BinanceFuturesLiveDataClientFactory(LiveDataClientFactory):
    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: BinanceFuturesDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> BinanceFuturesDataClient:
        return _ACCOUNT.create(
            BinanceFuturesDataClient,
            loop,
            name,
            config,
            msgbus,
            cache,
            clock,
            credentials=_optional_credentials(config.api_key, config.api_secret),
            enable_metrics=metrics.enable_data_client,
        )


class BinanceFuturesLiveExecClientFactory(LiveExecClientFactory):
    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: BinanceFuturesExecClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> BinanceFuturesExecutionClient:
        return _ACCOUNT.create(
            BinanceFuturesExecutionClient,
            loop,
            name,
            config,
            msgbus,
            cache,
            clock,
            credentials=resolve_credentials(config.api_key, config.api_secret),
            enable_metrics=metrics.enable_exec_client,
        )
