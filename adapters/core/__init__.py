"""Venue-agnostic core of the perpetual-futures adapters (no venue names in here), in named layers.

Each layer imports only the layers before it in this list (``userstream`` and ``market`` are
siblings: neither imports the other); ``tests/docs/test_docs.py`` checks it.

* :mod:`~adapters.core.base` - foundations: backoff, trigger, owned tasks, time units, secrets,
  de-duplication, rate windows, the logging bridge.
* :mod:`~adapters.core.parse` - venue bytes to NautilusTrader values, validated once.
* :mod:`~adapters.core.net` - WebSocket connections, dispatchers, socket pools, the REST client.
* :mod:`~adapters.core.orders` - order tracking and venue facts as events exactly once.
* :mod:`~adapters.core.userstream` - listen keys, the recovery driver, the gap sync.
* :mod:`~adapters.core.market` - book synchronisation and the market-data client skeleton.
* :mod:`~adapters.core.client` - the execution-client skeleton, the shared client configs and
  factories, the clients' metrics.

Modules lived directly in ``adapters.core`` before the layers. Code written against those paths
(``from adapters.core.userstream.recovery import ...``) keeps working: the old name is an alias of the very
same module object, so patching through either name patches both. Logger names did not change.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

_LAYER_OF: dict[str, str] = {
    "backoff": "base",
    "trigger": "base",
    "tasks": "base",
    "timestamps": "base",
    "secrets": "base",
    "dedup": "base",
    "rate_window": "base",
    "log_bridge": "base",
    "wire_values": "parse",
    "decimal_parse": "parse",
    "inflate": "parse",
    "venue_vocabulary": "parse",
    "instrument_ids": "parse",
    "precision": "parse",
    "stream": "net",
    "ws_connection": "net",
    "dispatch": "net",
    "stream_pool": "net",
    "http_errors": "net",
    "rest_client": "net",
    "read_retry": "net",
    "fleet_budget": "net",
    "order_tracking": "orders",
    "order_facts": "orders",
    "order_fill": "orders",
    "order_status": "orders",
    "resolution": "orders",
    "reports": "orders",
    "position_report": "orders",
    "balance_clock": "orders",
    "position_repair": "orders",
    "listen_key": "userstream",
    "recovery": "userstream",
    "gap_sync": "userstream",
    "user_stream": "userstream",
    "startup": "userstream",
    "market_context": "market",
    "market_parsing": "market",
    "book_sync": "market",
    "book_glue": "market",
    "perpetual_provider": "market",
    "data_client": "market",
    "exec_client": "client",
    "metrics": "client",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self._target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self._target)

    def exec_module(self, module: ModuleType) -> None:
        """The target module has already run: nothing to execute."""


class _PreLayerPaths(importlib.abc.MetaPathFinder):
    """Resolves ``adapters.core.<module>`` to ``adapters.core.<layer>.<module>``."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        prefix, _, name = fullname.rpartition(".")
        if prefix != __name__ or name not in _LAYER_OF:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(f"{__name__}.{_LAYER_OF[name]}.{name}"))


if not any(isinstance(finder, _PreLayerPaths) for finder in sys.meta_path):
    sys.meta_path.append(_PreLayerPaths())
