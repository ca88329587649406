"""Venue-agnostic core of the perpetual-futures adapters (no venue names in here).

Modules, one job each:

* :mod:`~adapters.core.stream` - the frame/signal vocabulary and the ``StreamHandle`` contract.
* :mod:`~adapters.core.ws_connection` - aiohttp WebSocket: liveness, stall detection, reconnect.
* :mod:`~adapters.core.dispatch` - the dispatcher task draining a stream into a frame handler.
* :mod:`~adapters.core.trigger` - coalescing trigger channel feeding the recovery driver.
* :mod:`~adapters.core.recovery` - the listen-key rotation / re-sync driver.
* :mod:`~adapters.core.listen_key` - keepalive loop and DELETE on shutdown.
* :mod:`~adapters.core.user_stream` - all of the above composed with one owner and stop order.
* :mod:`~adapters.core.backoff`, :mod:`~adapters.core.dedup`, :mod:`~adapters.core.precision`.
"""
