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

from yarl import URL

from adapters.binance_futures.config import resolve_credentials
from adapters.binance_futures.data import BinanceFuturesDataClient
from adapters.binance_futures.execution import BinanceFuturesExecutionClient
from adapters.binance_futures.http import BinanceFuturesHttpClient
from adapters.binance_futures.providers import BinanceFuturesInstrumentProvider
from adapters.core.client.client_factory import (
    HttpGetter,
    PerpDataClientFactory,
    PerpExecClientFactory,
    VenueAccounts,
)
from adapters.core.net.fleet_budget import FleetBudget, FleetBudgetSettings

BINANCE = "BINANCE"


def create_fleet_budget(base_url_http: str, settings: FleetBudgetSettings | None) -> FleetBudget | None:
    """The budget shared by every node on this IP for the venue host of ``base_url_http`` (None: off)."""
    if settings is None:
        return None
    return FleetBudget(settings, f"binance:{URL(base_url_http).host_port_subcomponent or base_url_http}")


_ACCOUNTS = VenueAccounts(
    BinanceFuturesHttpClient, BinanceFuturesInstrumentProvider, create_fleet_budget, resolve_credentials
)
# One HTTP client per (URL, credentials) and one provider per (HTTP client, provider config), shared by
# the data and exec clients of an account (see adapters.core.client.client_factory).
get_cached_http_client: HttpGetter[BinanceFuturesHttpClient] = _ACCOUNTS.http
get_cached_instrument_provider = _ACCOUNTS.provider


class BinanceFuturesLiveDataClientFactory(PerpDataClientFactory):
    """Creates :class:`~adapters.binance_futures.data.BinanceFuturesDataClient`; credentials are used
    when configured (config, else environment), not required."""

    accounts = _ACCOUNTS
    client_type = BinanceFuturesDataClient


class BinanceFuturesLiveExecClientFactory(PerpExecClientFactory):
    """Creates :class:`~adapters.binance_futures.execution.BinanceFuturesExecutionClient` (key
    ``"BINANCE"``). Shares the account's HTTP client and instrument provider."""

    accounts = _ACCOUNTS
    client_type = BinanceFuturesExecutionClient
