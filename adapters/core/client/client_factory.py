"""What both venues' TradingNode factories do the same way.

The data and exec clients of one venue account (same REST URL, credentials and provider config)
share one HTTP client (one rate-limit budget) and one instrument provider (instruments loaded once):
:func:`cached_http_clients` keeps one client per account, :func:`provider_config` makes a provider
load something, :class:`VenueAccounts` holds a venue's shared pairs, and
:class:`PerpDataClientFactory` / :class:`PerpExecClientFactory` are NautilusTrader's factories: a
client on the shared pair, its metrics endpoint enabled when configured (a venue's factory names its
accounts and client class).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.live.factories import LiveDataClientFactory, LiveExecClientFactory
from nautilus_trader.model.identifiers import ClientId

from adapters.core.client import metrics
from adapters.core.net.fleet_budget import FleetBudget, FleetBudgetSettings, settings_from_config

H = TypeVar("H")  # a venue's HTTP client
P = TypeVar("P")  # a venue's instrument provider

HttpGetter = Callable[..., H]  # (URL, key, secret, timeout, recvWindow, fleet settings=None) -> client
_HttpKey = tuple[str, str | None, str | None, float, int, FleetBudgetSettings | None]


class _Urls(Protocol):
    @property
    def http(self) -> str: ...


class ClientConfig(Protocol):
    """The client-config fields a factory reads (both venues' data and exec configs have them)."""

    @property
    def api_key(self) -> str | None: ...
    @property
    def api_secret(self) -> str | None: ...
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
    """One ``http_type`` client per (URL, credentials, timeouts, fleet settings): the cache key does
    not depend on how the arguments were passed. Each client closes it on disconnect; its aiohttp
    session (and the fleet budget's Redis connection) is re-created lazily if another client still
    uses it."""

    @lru_cache(maxsize=16)
    def cached(key: _HttpKey) -> H:
        base_url_http, api_key, api_secret, timeout_secs, recv_window_ms, fleet = key
        return http_type(
            base_url_http,
            api_key,
            api_secret,
            timeout_secs=timeout_secs,
            recv_window_ms=recv_window_ms,
            fleet_budget=fleet_budget(base_url_http, fleet),
            # Shared by the account's clients, so none of theirs: without a logger its rate-limit
            # waits and retries would be silent (a recovery held for a window roll, unexplained).
            logger=logging.getLogger(http_type.__module__),
        )

    def get(
        base_url_http: str,
        api_key: str | None,
        api_secret: str | None,
        timeout_secs: float,
        recv_window_ms: int,
        fleet_budget: FleetBudgetSettings | None = None,
    ) -> H:
        """One HTTP client per (URL, credentials), shared by the data and exec clients of an account."""
        return cached((base_url_http, api_key, api_secret, timeout_secs, recv_window_ms, fleet_budget))

    return get


def provider_config(config: InstrumentProviderConfig) -> InstrumentProviderConfig:
    """A provider that would load nothing leaves strategies without instruments: it loads
    everything unless the user narrowed it with ``load_ids``."""
    if not config.load_all and not config.load_ids:
        return InstrumentProviderConfig(
            load_all=True, filters=config.filters, log_warnings=config.log_warnings
        )
    return config


class VenueAccounts(Generic[H, P]):
    """How a venue's clients of one account get their shared HTTP client (:attr:`http`, see
    :func:`cached_http_clients`) and instrument provider (:meth:`provider`), and the account's
    credentials (``resolve_credentials(api_key, api_secret)``: config, else the environment).
    :class:`PerpDataClientFactory` and :class:`PerpExecClientFactory` build clients on them."""

    def __init__(
        self,
        http_type: Callable[..., H],
        provider_type: Callable[[H, InstrumentProviderConfig], P],
        fleet_budget: Callable[[str, FleetBudgetSettings | None], FleetBudget | None],
        resolve_credentials: Callable[[str | None, str | None], tuple[str, str]],
    ) -> None:
        self.http: HttpGetter[H] = cached_http_clients(http_type, fleet_budget)
        self._provider_type = provider_type
        self._cached_provider = lru_cache(maxsize=16)(self._new_provider)
        self.resolve_credentials = resolve_credentials

    def _new_provider(self, http: H, config: InstrumentProviderConfig) -> P:
        return self._provider_type(http, provider_config(config))

    def provider(self, http: H, config: InstrumentProviderConfig) -> P:
        """One provider per (HTTP client, provider config); an unhashable config gets its own."""
        try:
            hash(config)
        except TypeError:
            return self._new_provider(http, config)
        return self._cached_provider(http, config)


class _PerpClientFactory:
    """``create`` as NautilusTrader's node builder calls it (on the class, with keywords), once for
    both venues and both kinds of client: a venue factory names its :attr:`accounts` and
    :attr:`client_type`."""

    accounts: ClassVar[VenueAccounts[Any, Any]]
    client_type: ClassVar[type[Any]]

    @classmethod
    def create(
        cls,
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: ClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> Any:
        """A client on the account's shared HTTP client and instrument provider; its metrics endpoint
        is served when ``config.metrics_port`` is set."""
        key, secret = cls.credentials(config)
        accounts = cls.accounts
        shared = accounts.http(
            config.urls().http,
            key,
            secret,
            config.http_timeout_secs,
            config.recv_window_ms,
            settings_from_config(config),  # type: ignore[arg-type]  # both venues' configs have the fields
        )
        client = cls.client_type(
            loop=loop,
            client_id=ClientId(name),
            config=config,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=accounts.provider(shared, config.instrument_provider),
            http=shared,
        )
        cls.enable_metrics(client, config, shared)
        return client

    @classmethod
    def credentials(cls, config: ClientConfig) -> tuple[str | None, str | None]:
        """The account's credentials: required (ValueError when neither config nor environment has them)."""
        return cls.accounts.resolve_credentials(config.api_key, config.api_secret)

    @staticmethod
    def enable_metrics(client: Any, config: Any, http: Any) -> object:
        raise NotImplementedError


# NautilusTrader declares ``create`` a staticmethod typed for its own configs; ours is a classmethod
# (it reads the venue's class attributes) called the same way.
class PerpDataClientFactory(_PerpClientFactory, LiveDataClientFactory):  # type: ignore[misc]
    """A venue's market-data client factory (see :class:`_PerpClientFactory`)."""

    enable_metrics = staticmethod(metrics.enable_data_client)

    @classmethod
    def credentials(cls, config: ClientConfig) -> tuple[str | None, str | None]:
        """Market data is public: credentials are used when configured, not required."""
        try:
            return super().credentials(config)
        except ValueError:
            return None, None


class PerpExecClientFactory(_PerpClientFactory, LiveExecClientFactory):  # type: ignore[misc]
    """A venue's execution client factory (see :class:`_PerpClientFactory`)."""

    enable_metrics = staticmethod(metrics.enable_exec_client)
