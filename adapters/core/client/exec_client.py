"""The execution-client pieces both venues compose, under the name they were first published.

They live by job in :mod:`adapters.core.parse.instrument_info`, :mod:`adapters.core.orders.cache_orders`,
:mod:`adapters.core.orders.reconciliation`, :mod:`adapters.core.userstream.stream_setup` and
:mod:`adapters.core.client.perp_execution`; this module keeps every name importable from here for code
written against it.
"""

from __future__ import annotations

from adapters.core.client.perp_execution import RejectEvent, reject_not_found
from adapters.core.orders.cache_orders import (
    TERMINAL_OF,
    adopt_cache_orders,
    cached_order_by_venue_id,
    track_cached,
    tracked_for_submit,
    tracked_from_cache,
)
from adapters.core.orders.reconciliation import (
    append_or_skip,
    consistent_mass_status,
    history_symbols,
    is_managed,
    ms_or_none,
    nonzero_position_reports,
    open_and_history_orders,
    position_status_reports,
    report_timeout,
    walk_symbols,
)
from adapters.core.parse.instrument_info import (
    InstrumentInfo,
    InstrumentInfoCache,
    default_quote,
    load_instruments,
)
from adapters.core.userstream.stream_setup import (
    FLEET_RECOVERY_JITTER,
    StreamConfig,
    StreamOps,
    WsSocketConfig,
    user_stream_service,
    ws_config,
)

__all__ = [
    "FLEET_RECOVERY_JITTER",
    "TERMINAL_OF",
    "InstrumentInfo",
    "InstrumentInfoCache",
    "RejectEvent",
    "StreamConfig",
    "StreamOps",
    "WsSocketConfig",
    "adopt_cache_orders",
    "append_or_skip",
    "cached_order_by_venue_id",
    "consistent_mass_status",
    "default_quote",
    "history_symbols",
    "is_managed",
    "load_instruments",
    "ms_or_none",
    "nonzero_position_reports",
    "open_and_history_orders",
    "position_status_reports",
    "reject_not_found",
    "report_timeout",
    "track_cached",
    "tracked_for_submit",
    "tracked_from_cache",
    "user_stream_service",
    "walk_symbols",
    "ws_config",
]
