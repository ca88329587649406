"""TradingNode factories for BingX perpetual swaps, registered under the key ``"BINGX"``.

Usage::

    node.add_data_client_factory("BINGX", BingxLiveDataClientFactory)
    node.add_exec_client_factory("BINGX", BingxLiveExecClientFactory)
    config = TradingNodeConfig(
        data_clients={"BINGX": BingxDataClientConfig(...)},
        exec_clients={"BINGX": BingxExecClientConfig(...)},
    )

The data and exec clients of one account (same REST URL, credentials and provider config) share one
HTTP client — BingX counts its rate limits per account and per IP — and one instrument provider
(contracts loaded once).

Several nodes on one IP (or one account): with ``fleet_budget_redis`` set, the HTTP client takes every
request from a budget in Redis shared by all nodes configured with the same Redis and key prefix
(:mod:`adapters.core.net.fleet_budget`). Set the same fleet fields on the data and exec configs.
"""

from __future__ import annotations

import asyncio
import os
from functools import lru_cache

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.live.factories import LiveDataClientFactory, LiveExecClientFactory
from nautilus_trader.model.identifiers import ClientId
from yarl import URL

from adapters.bingx.config import (
    ENV_API_KEY,
    ENV_API_SECRET,
    BingxDataClientConfig,
    BingxExecClientConfig,
    resolve_credentials,
)
from adapters.bingx.data import BingxDataClient
from adapters.bingx.execution import BingxExecutionClient
from adapters.bingx.http import BingxHttpClient
from adapters.bingx.providers import BingxInstrumentProvider
from adapters.core.client import metrics
from adapters.core.net.fleet_budget import FleetBudget, FleetBudgetSettings, settings_from_config

BINGX = "BINGX"


@lru_cache(maxsize=16)
def _cached_http_client(
    base_url_http: str,
    api_key: str | None,
    api_secret: str | None,
    timeout_secs: float,
    recv_window_ms: int,
    fleet_budget: FleetBudgetSettings | None,
) -> BingxHttpClient:
    return BingxHttpClient(
        base_url_http,
        api_key,
        api_secret,
        timeout_secs=timeout_secs,
        recv_window_ms=recv_window_ms,
        fleet_budget=create_fleet_budget(base_url_http, fleet_budget),
    )


def get_cached_http_client(
    base_url_http: str,
    api_key: str | None,
    api_secret: str | None,
    timeout_secs: float,
    recv_window_ms: int,
    fleet_budget: FleetBudgetSettings | None = None,
) -> BingxHttpClient:
    """One HTTP client per (URL, credentials), shared by the data and exec clients of an account."""
    # Every argument positional: the cache key is the same whether fleet_budget was passed or not.
    return _cached_http_client(base_url_http, api_key, api_secret, timeout_secs, recv_window_ms, fleet_budget)


def create_fleet_budget(base_url_http: str, settings: FleetBudgetSettings | None) -> FleetBudget | None:
    """The budget shared by every node on this IP for the venue host of ``base_url_http`` (None: off)."""
    if settings is None:
        return None
    scope = f"bingx:{URL(base_url_http).host_port_subcomponent or base_url_http}"
    # One-second windows: no edge pre-charge (it would halve small limits), BingX's own roll margin.
    return FleetBudget(settings, scope, edge_ms=0, roll_margin_ms=20)


@lru_cache(maxsize=16)
def get_cached_instrument_provider(
    http: BingxHttpClient, config: InstrumentProviderConfig
) -> BingxInstrumentProvider:
    # A provider that would load nothing leaves strategies without instruments: load everything
    # unless the user narrowed it with load_ids.
    if not config.load_all and not config.load_ids:
        config = InstrumentProviderConfig(
            load_all=True, filters=config.filters, log_warnings=config.log_warnings
        )
    return BingxInstrumentProvider(http, config)


# --------------------------------------------------------------------------------------------------
# Data client factory
# --------------------------------------------------------------------------------------------------


class BingxLiveDataClientFactory(LiveDataClientFactory):
    """Market data needs no credentials: they are used (config, else environment) when present."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: BingxDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> BingxDataClient:
        urls = config.urls()
        key = config.api_key or os.environ.get(ENV_API_KEY)
        secret = config.api_secret or os.environ.get(ENV_API_SECRET)
        http = get_cached_http_client(
            urls.http,
            key,
            secret,
            config.http_timeout_secs,
            config.recv_window_ms,
            settings_from_config(config),
        )
        provider = get_cached_instrument_provider(http, config.instrument_provider)
        client = BingxDataClient(
            loop=loop,
            client_id=ClientId(name),
            config=config,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=provider,
            http=http,
        )
        metrics.enable_data_client(client, config, http)  # no-op unless config.metrics_port is set
        return client


# --------------------------------------------------------------------------------------------------
# Execution client factory
# --------------------------------------------------------------------------------------------------


class BingxLiveExecClientFactory(LiveExecClientFactory):
    """Creates :class:`~adapters.bingx.execution.BingxExecutionClient` (key ``"BINGX"``; instrument ids
    like ``BTC-USDT-PERP.BINGX``). Shares the account's HTTP client and instrument provider."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: BingxExecClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> BingxExecutionClient:
        urls = config.urls()
        key, secret = resolve_credentials(config.api_key, config.api_secret)
        http = get_cached_http_client(
            urls.http,
            key,
            secret,
            config.http_timeout_secs,
            config.recv_window_ms,
            settings_from_config(config),
        )
        provider = get_cached_instrument_provider(http, config.instrument_provider)
        client = BingxExecutionClient(
            loop=loop,
            client_id=ClientId(name),
            config=config,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=provider,
            http=http,
        )
        metrics.enable_exec_client(client, config, http)  # no-op unless config.metrics_port is set
        return client
