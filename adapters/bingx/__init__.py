"""BingX perpetual swaps for NautilusTrader: data and execution clients, their configs and factories.

Import them as you import NautilusTrader's own adapters::

    from adapters.bingx import (
        BINGX,
        BingxDataClientConfig,
        BingxEnvironment,
        BingxExecClientConfig,
        BingxLiveDataClientFactory,
        BingxLiveExecClientFactory,
    )

In a config file, ``adapters.bingx:BingxDataClientConfig`` etc. are the ``ImportableConfig`` paths
(see :mod:`adapters.node_config`).

The names are loaded on first use, so importing a submodule (e.g. the wire schemas) does not load
NautilusTrader's node machinery.

The modules, the same file for the same job in both venue packages (side-by-side table in
``docs/architecture.md``): ``config``, ``credentials``, ``errors``, ``rate_limit``; wire types
``schemas_rest`` / ``schemas_user`` / ``schemas_market`` (``schemas_base``: the lenient values they build
on; ``stream_frames``: gzip transport and control frames); pure mapping ``parsing`` (inbound and outbound)
and ``parsing_market``; ``http``, ``user_stream``, ``user_events``, ``venue_sync``, ``book``, ``providers``,
``execution``, ``data``, ``factories``. Venue-only: ``cancel_replace`` (modify as cancel-then-place),
``poll`` (REST-poll failover).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.core.base.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from adapters.bingx.config import BingxDataClientConfig, BingxEnvironment, BingxExecClientConfig
    from adapters.bingx.factories import BINGX, BingxLiveDataClientFactory, BingxLiveExecClientFactory

__all__ = [
    "BINGX",
    "BingxDataClientConfig",
    "BingxEnvironment",
    "BingxExecClientConfig",
    "BingxLiveDataClientFactory",
    "BingxLiveExecClientFactory",
]

_WHERE = {
    "BINGX": "factories",
    "BingxDataClientConfig": "config",
    "BingxEnvironment": "config",
    "BingxExecClientConfig": "config",
    "BingxLiveDataClientFactory": "factories",
    "BingxLiveExecClientFactory": "factories",
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
