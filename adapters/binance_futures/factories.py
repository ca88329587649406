"""TradingNode factories for Binance USD-M Futures, registered under the key ``"BINANCE"``.

Usage::

    node.add_exec_client_factory("BINANCE", BinanceFuturesLiveExecClientFactory)
    config = TradingNodeConfig(exec_clients={"BINANCE": BinanceFuturesExecClientConfig(...)})

(Register exec factories with ``add_exec_client_factory``: the ``ImportableConfig`` path is broken
for exec clients in NautilusTrader 1.221.)
"""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.live.factories import LiveExecClientFactory
from nautilus_trader.model.identifiers import ClientId

from adapters.binance_futures.config import BinanceFuturesExecClientConfig, resolve_credentials
from adapters.binance_futures.execution import BinanceFuturesExecutionClient
from adapters.binance_futures.http import BinanceFuturesHttpClient
from adapters.binance_futures.providers import BinanceFuturesInstrumentProvider

BINANCE = "BINANCE"


def create_http_client(
    base_url_http: str,
    api_key: str | None,
    api_secret: str | None,
    timeout_secs: float,
    recv_window_ms: int,
) -> BinanceFuturesHttpClient:
    key, secret = resolve_credentials(api_key, api_secret)
    return BinanceFuturesHttpClient(
        base_url_http, key, secret, timeout_secs=timeout_secs, recv_window_ms=recv_window_ms
    )


def create_instrument_provider(
    http: BinanceFuturesHttpClient, config: InstrumentProviderConfig
) -> BinanceFuturesInstrumentProvider:
    # A provider that would load nothing leaves strategies without instruments: load everything
    # unless the user narrowed it with load_ids.
    if not config.load_all and not config.load_ids:
        config = InstrumentProviderConfig(
            load_all=True, filters=config.filters, log_warnings=config.log_warnings
        )
    return BinanceFuturesInstrumentProvider(http, config)


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
        urls = config.urls()
        http = create_http_client(
            urls.http, config.api_key, config.api_secret, config.http_timeout_secs, config.recv_window_ms
        )
        provider = create_instrument_provider(http, config.instrument_provider)
        return BinanceFuturesExecutionClient(
            loop=loop,
            client_id=ClientId(name),
            config=config,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=provider,
            http=http,
        )
