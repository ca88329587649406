"""The execution-client pieces both venues compose, under the name they were first published.

They live by job in :mod:`adapters.core.parse.instrument_info`, :mod:`adapters.core.orders.cache_orders`,
:mod:`adapters.core.orders.reconciliation`, :mod:`adapters.core.userstream.stream_setup` and
:mod:`adapters.core.client.perp_execution`; this module keeps every name importable from here for code
written against it (each looked up in its home when first asked for).
"""

from __future__ import annotations

from adapters.core.base.lazy_exports import lazy_exports

_WHERE = {
    "RejectEvent": "client.perp_execution",
    "reject_not_found": "client.perp_execution",
    "TERMINAL_OF": "orders.cache_orders",
    "adopt_cache_orders": "orders.cache_orders",
    "cached_order_by_venue_id": "orders.cache_orders",
    "track_cached": "orders.cache_orders",
    "tracked_for_submit": "orders.cache_orders",
    "tracked_from_cache": "orders.cache_orders",
    "append_or_skip": "orders.reconciliation",
    "consistent_mass_status": "orders.reconciliation",
    "history_symbols": "orders.reconciliation",
    "is_managed": "orders.reconciliation",
    "ms_or_none": "orders.reconciliation",
    "nonzero_position_reports": "orders.reconciliation",
    "open_and_history_orders": "orders.reconciliation",
    "position_status_reports": "orders.reconciliation",
    "report_timeout": "orders.reconciliation",
    "walk_symbols": "orders.reconciliation",
    "InstrumentInfo": "parse.instrument_info",
    "InstrumentInfoCache": "parse.instrument_info",
    "default_quote": "parse.instrument_info",
    "load_instruments": "parse.instrument_info",
    "FLEET_RECOVERY_JITTER": "userstream.stream_setup",
    "StreamConfig": "userstream.stream_setup",
    "StreamOps": "userstream.stream_setup",
    "WsSocketConfig": "userstream.stream_setup",
    "user_stream_service": "userstream.stream_setup",
    "ws_config": "userstream.stream_setup",
}
__all__ = sorted(_WHERE)  # every name is served by __getattr__

__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals(), base="adapters.core")
