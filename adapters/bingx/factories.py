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
from adapters.core.client.client_factory import (
    AccountClients,
    HttpGetter,
    cached_http_clients,
    provider_config,
)
from adapters.core.net.fleet_budget import FleetBudget, FleetBudgetSettings

BINGX = "BINGX"


def create_fleet_budget(base_url_http: str, settings: FleetBudgetSettings | None) -> FleetBudget | None:
    """The budget shared by every node on this IP for the venue host of ``base_url_http`` (None: off)."""
    if settings is None:
        return None
    scope = f"bingx:{URL(base_url_http).host_port_subcomponent or base_url_http}"
    # One-second windows: no edge pre-charge (it would halve small limits), BingX's own roll margin.
    return FleetBudget(settings, scope, edge_ms=0, roll_margin_ms=20)


_cached_http_client: HttpGetter[BingxHttpClient] = cached_http_clients(BingxHttpClient, create_fleet_budget)


def get_cached_http_client(
    base_url_http: str,
    api_key: str | None,
    api_secret: str | None,
    timeout_secs: float,
    recv_window_ms: int,
    fleet_budget: FleetBudgetSettings | None = None,
) -> BingxHttpClient:
    """One HTTP client per (URL, credentials), shared by the data and exec clients of an account."""
    return _cached_http_client(base_url_http, api_key, api_secret, timeout_secs, recv_window_ms, fleet_budget)


@lru_cache(maxsize=16)
def get_cached_instrument_provider(
    http: BingxHttpClient, config: InstrumentProviderConfig
) -> BingxInstrumentProvider:
    return BingxInstrumentProvider(http, provider_config(config))


# --------------------------------------------------------------------------------------------------
# Client factories
# --------------------------------------------------------------------------------------------------


_ACCOUNT = AccountClients(get_cached_http_client, get_cached_instrument_provider)


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
        return _ACCOUNT.create(
            BingxDataClient,
            loop,
            name,
            config,
            msgbus,
            cache,
            clock,
            credentials=(
                config.api_key or os.environ.get(ENV_API_KEY),
                config.api_secret or os.environ.get(ENV_API_SECRET),
            ),
            enable_metrics=metrics.enable_data_client,
        )


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
        return _ACCOUNT.create(
            BingxExecutionClient,
            loop,
            name,
            config,
            msgbus,
            cache,
            clock,
            credentials=resolve_credentials(config.api_key, config.api_secret),
            enable_metrics=metrics.enable_exec_client,
        )
