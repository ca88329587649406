"""The venue-neutral skeleton of a recovery's ``post_snapshot`` phase (see ``adapters.core.recovery``).

After the snapshot (open orders) both venues' syncs do the same three steps; only the queries are the
venue's:

1. tracked orders the snapshot no longer lists closed during the gap: each is resolved (its final
   state and fills); one the venue does not know is logged, never guessed at. Required: a failure
   fails the attempt.
2. every fill since the last trade id seen per symbol (symbols of open tracked orders and of every
   trade seen), one required query per symbol.
3. optionally the account (balances, margins): its updates during the gap were lost with the stream.

And the reports of what the node does not track (:func:`report_external`, :func:`report_external_fill`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nautilus_trader.execution.reports import FillReport, OrderStatusReport
from nautilus_trader.model.identifiers import PositionId

from adapters.core.order_tracking import OrderTracker, TrackedOrder
from adapters.core.recovery import QueryResult, SnapshotOutcome

ErrorTypes = type[Exception] | tuple[type[Exception], ...]
I = TypeVar("I")  # noqa: E741 - a venue's InstrumentInfo


def unknown_to_venue(order: TrackedOrder, log: logging.Logger) -> None:
    """A tracked order the venue does not know, found by recovery."""
    if not order.accepted:
        # Not on the venue *yet*: its submit is still in flight (the REST answer will say), or
        # ambiguous and being resolved by its own task, which only gives up after the order stayed
        # unknown for a while (it may still execute). Rejecting it here, on one lookup, would make a
        # venue acceptance a moment later a live order the node thinks dead (``accepted`` is a no-op
        # after a terminal).
        log.info("recovery: %s is not on the venue yet; its submit decides", order.client_order_id)
    else:
        log.error(
            "recovery: accepted order %s is unknown to the venue; leaving it to reconciliation",
            order.client_order_id,
        )


async def post_snapshot(
    *,
    tracker: OrderTracker,
    open_at_snapshot: set[str],
    resolve_order: Callable[[TrackedOrder], Awaitable[bool]],
    backfill_symbol: Callable[[str], Awaitable[int]],
    fills_query: str,
    errors: ErrorTypes,
    log: logging.Logger,
    refresh_account: Callable[[], Awaitable[None]] | None = None,
) -> SnapshotOutcome:
    """Steps 1-3 above. ``fills_query`` names the per-symbol fill queries (``<fills_query>:<symbol>``)."""
    results: list[QueryResult] = []
    gone = [o for o in tracker.open_orders() if o.client_order_id.value not in open_at_snapshot]
    ok = failed = 0
    for order in gone:
        try:
            if not await resolve_order(order):
                unknown_to_venue(order, log)
            ok += 1
        except errors as exc:
            failed += 1
            log.warning("recovery: could not resolve %s: %r", order.client_order_id, exc)
    if gone:
        results.append(QueryResult("closedOrders", failed == 0, ok, required=True))
    symbols = {o.symbol for o in tracker.open_orders()} | set(tracker.last_trade_id)
    for symbol in sorted(symbols):
        try:
            emitted = await backfill_symbol(symbol)
        except errors as exc:
            results.append(QueryResult(f"{fills_query}:{symbol}", False, error=repr(exc), required=True))
        else:
            results.append(QueryResult(f"{fills_query}:{symbol}", True, emitted))
    if refresh_account is not None:
        try:
            await refresh_account()
        except errors as exc:
            results.append(QueryResult("account", False, error=repr(exc)))
        else:
            results.append(QueryResult("account", True, 1))
    return SnapshotOutcome(tuple(results))


def report_external(
    send: Callable[[OrderStatusReport, list[FillReport]], None],
    build: Callable[[], OrderStatusReport],
    *,
    log: logging.Logger,
    what: str,
    ident: object,
) -> int:
    """Send the report of an order this node does not track (found by a snapshot); 1 if sent.

    An order no report can represent (zero quantity: a closePosition stop) is logged and skipped:
    it must not fail the whole snapshot, or recovery would retry it forever.
    """
    try:
        report = build()
    except ValueError as exc:
        log.warning("recovery: external %s %s not reported: %s", what, ident, exc)
        return 0
    send(report, [])
    return 1


def report_external_fill(
    *,
    tracker: OrderTracker,
    symbol: str,
    trade_id: int,
    info: Callable[[], I],
    position_id: Callable[[I], PositionId | None],
    clock_ns: Callable[[], int],
    send: Callable[[OrderStatusReport, list[FillReport]], None],
    order_report: Callable[[I, int, PositionId | None], OrderStatusReport],
    fill_report: Callable[[I, int, PositionId | None], FillReport],
) -> int:
    """A backfilled trade of an order this node does not track: its order report with the fill
    bundled (once per trade id); 1 if sent. ``order_report``/``fill_report`` take the instrument
    info, ``ts_init`` and the position id."""
    if not tracker.first_fill(symbol, trade_id):
        return 0
    instrument = info()
    ts_init = clock_ns()
    pos_id = position_id(instrument)
    send(order_report(instrument, ts_init, pos_id), [fill_report(instrument, ts_init, pos_id)])
    return 1
