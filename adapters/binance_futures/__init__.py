"""Binance USD-M Futures for NautilusTrader: data and execution clients, their configs and factories.

Import them as you import NautilusTrader's own adapters::

    from adapters.binance_futures import (
        BINANCE,
        BinanceEnvironment,
        BinanceFuturesDataClientConfig,
        BinanceFuturesExecClientConfig,
        BinanceFuturesLiveDataClientFactory,
        BinanceFuturesLiveExecClientFactory,
    )

In a config file, ``adapters.binance_futures:BinanceFuturesDataClientConfig`` etc. are the
``ImportableConfig`` paths (see :mod:`adapters.node_config`).

The names are loaded on first use, so importing a submodule (e.g. the wire schemas) does not load
NautilusTrader's node machinery.

The modules, the same file for the same job in both venue packages (side-by-side table in
``docs/architecture.md``): ``config``, ``credentials``, ``errors``, ``rate_limit``; wire types
``schemas_rest`` / ``schemas_user`` / ``schemas_market``; pure mapping ``parsing`` (inbound and outbound)
and ``parsing_market``; ``http``, ``user_stream``, ``user_events``, ``venue_sync``, ``book``, ``providers``,
``execution``, ``data``, ``factories``. Venue-only: ``ws_trading``/``order_routing``/``amend`` (orders over
the WebSocket trading API, REST fallback, in-place amend), ``listen_keys``, ``market_connections``,
``types``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.core.base.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from adapters.binance_futures.config import (
        BinanceEnvironment,
        BinanceFuturesDataClientConfig,
        BinanceFuturesExecClientConfig,
    )
    from adapters.binance_futures.factories import (
        BINANCE,
        BinanceFuturesLiveDataClientFactory,
        BinanceFuturesLiveExecClientFactory,
    )

__all__ = [
    "BINANCE",
    "BinanceEnvironment",
    "BinanceFuturesDataClientConfig",
    "BinanceFuturesExecClientConfig",
    "BinanceFuturesLiveDataClientFactory",
    "BinanceFuturesLiveExecClientFactory",
]

_WHERE = {
    "BINANCE": "factories",
    "BinanceEnvironment": "config",
    "BinanceFuturesDataClientConfig": "config",
    "BinanceFuturesExecClientConfig": "config",
    "BinanceFuturesLiveDataClientFactory": "factories",
    "BinanceFuturesLiveExecClientFactory": "factories",
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
