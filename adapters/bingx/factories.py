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

import os

from yarl import URL

from adapters.bingx.config import ENV_API_KEY, ENV_API_SECRET, resolve_credentials
from adapters.bingx.data import BingxDataClient
from adapters.bingx.execution import BingxExecutionClient
from adapters.bingx.http import BingxHttpClient
from adapters.bingx.providers import BingxInstrumentProvider
from adapters.core.client.client_factory import (
    ClientConfig,
    HttpGetter,
    PerpDataClientFactory,
    PerpExecClientFactory,
    VenueAccounts,
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


_ACCOUNTS = VenueAccounts(BingxHttpClient, BingxInstrumentProvider, create_fleet_budget, resolve_credentials)
# One HTTP client per (URL, credentials) and one provider per (HTTP client, provider config), shared by
# the data and exec clients of an account (see adapters.core.client.client_factory).
get_cached_http_client: HttpGetter[BingxHttpClient] = _ACCOUNTS.http
get_cached_instrument_provider = _ACCOUNTS.provider


class BingxLiveDataClientFactory(PerpDataClientFactory):
    """Creates :class:`~adapters.bingx.data.BingxDataClient`. Market data needs no credentials: they
    are used (config, else environment) when present."""

    accounts = _ACCOUNTS
    client_type = BingxDataClient

    @classmethod
    def credentials(cls, config: ClientConfig) -> tuple[str | None, str | None]:
        # Each of the two on its own: a key without a secret is passed on as it is.
        return (
            config.api_key or os.environ.get(ENV_API_KEY),
            config.api_secret or os.environ.get(ENV_API_SECRET),
        )


class BingxLiveExecClientFactory(PerpExecClientFactory):
    """Creates :class:`~adapters.bingx.execution.BingxExecutionClient` (key ``"BINGX"``; instrument ids
    like ``BTC-USDT-PERP.BINGX``). Shares the account's HTTP client and instrument provider."""

    accounts = _ACCOUNTS
    client_type = BingxExecutionClient
