"""The venue-neutral skeleton of a recovery's ``post_snapshot`` phase (see
``adapters.core.userstream.recovery``), also run by BingX's REST poll and audit.

The guarantee it builds is about *quantities*, not cursors: after every gap sync, for every order
the node tracks, the filled quantity the engine was told equals the venue's executed quantity. The
venue's snapshot of open orders (taken just before) says how much each open order has executed; a
closed order's own query says it for that order. Steps, each venue supplying only its queries:

0. the per-symbol trade cursors are read *first*: resolving one order below emits its fills, and
   nothing done to one order may move the point from which the other orders' trades are fetched;
1. tracked orders the snapshot no longer lists closed during the gap: each is resolved (its fills
   first, then its final state); one the venue does not know is logged, never guessed at;
2. tracked orders the snapshot lists: the venue's executed quantity against what the engine was
   told — a shortfall fetches that order's trades by order id and emits the missing ones (exactly
   once: fills are keyed by trade id); an excess is re-read and, if it stands, logged as an ERROR
   with both figures;
3. every fill since each symbol's cursor (symbols of tracked orders, of every open venue order and
   of every cursor): finds the fills of orders the node does not track; the cursor advances only
   over trades this walk emitted or found already emitted;
4. optionally the account (balances, margins): its updates during the gap were lost with the stream.

Steps 1-3 are *required*: a transient failure fails the attempt (retried with backoff). A permanent
one (a delisted symbol: the venue will never answer; an answer with a value rejected at the boundary,
``WireValueError``: it would be rejected again) is logged as an ERROR naming what could not be
verified and the attempt proceeds — one dead symbol must not keep the whole stream blind.

3b. optionally the venue's open orders listed again, now that the new stream is connected, so the
   sync does not depend on the snapshot being recent (a retry may reuse an older one): an external
   order placed between the snapshot and the connect, or missed by a snapshot whose listing failed,
   shows up nowhere else until it trades (its NEW event reached no socket), and a tracked order
   that closed in that window without trading (a cancel) is resolved;

And the reports of what the node does not track (:func:`report_external`,
:func:`report_external_order`). Their invariant: an external order reaches the engine *once*, with
every one of its fills bundled, so the fills sum to the filled quantity its report states and the
engine infers nothing. Once the engine holds it, the order is adopted and tracked like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from nautilus_trader.execution.reports import FillReport, OrderStatusReport

from adapters.core.net.http_errors import FillsNotPublished
from adapters.core.orders.order_tracking import FillKey, OrderTracker, TrackedOrder
from adapters.core.parse.wire_values import WireValueError
from adapters.core.userstream.recovery import QueryResult, SnapshotOutcome

ErrorTypes = type[Exception] | tuple[type[Exception], ...]
I = TypeVar("I")  # noqa: E741 - a venue's InstrumentInfo
T = TypeVar("T")  # a venue's REST trade


def unknown_to_venue(
    order: TrackedOrder, log: logging.Logger, accepted_when_asked: bool | None = None
) -> None:
    """A tracked order the venue does not know, found by recovery. ``accepted_when_asked``: whether
    the order was accepted when the query that did not find it went out (its acceptance may have
    arrived while the query was on its way: the "not found" is then older than the acceptance)."""
    accepted = order.accepted if accepted_when_asked is None else accepted_when_asked
    if not accepted:
        # Not on the venue *yet*: its submit is still in flight (the REST answer will say), or
        # ambiguous and being resolved by its own task, which only gives up once the venue can no
        # longer accept it. Rejecting it here, on one lookup, would make a venue acceptance a
        # moment later a live order the node thinks dead.
        log.info("recovery: %s is not on the venue yet; its submit decides", order.client_order_id)
    else:
        log.error(
            "recovery: accepted order %s is unknown to the venue; leaving it to reconciliation",
            order.client_order_id,
        )


def _never_permanent(exc: Exception) -> bool:
    return False


def _with_wire_errors(errors: ErrorTypes) -> tuple[type[Exception], ...]:
    extra = (WireValueError, FillsNotPublished)
    return (*errors, *extra) if isinstance(errors, tuple) else (errors, *extra)


async def post_snapshot(
    *,
    tracker: OrderTracker,
    open_at_snapshot: dict[str, Decimal],
    resolve_order: Callable[[TrackedOrder], Awaitable[bool]],
    fetch_order_fills: Callable[[TrackedOrder], Awaitable[object]],
    backfill_symbol: Callable[[str, int | None], Awaitable[int]],
    fills_query: str,
    errors: ErrorTypes,
    log: logging.Logger,
    venue_symbols: set[str] | frozenset[str] = frozenset(),
    is_permanent: Callable[[Exception], bool] = _never_permanent,
    refresh_account: Callable[[], Awaitable[None]] | None = None,
    relist_open_orders: Callable[[], Awaitable[tuple[int, set[str]]]] | None = None,
) -> SnapshotOutcome:
    """Steps 0-4 above.

    ``open_at_snapshot``: client order id -> the venue's cumulative executed quantity, for every
    *tracked* order the snapshot listed open. ``fetch_order_fills(order)`` emits the order's fills
    by its venue id. ``backfill_symbol(symbol, cursor)`` walks the symbol's fills after ``cursor``
    (None: since the session started). ``venue_symbols``: symbols with open orders on the venue
    (external ones included). ``fills_query`` names the per-symbol queries (``<fills_query>:<symbol>``).
    ``relist_open_orders()`` lists the venue's open orders again and reports the external ones (step
    3b); it returns how many it reported and the client order ids of the tracked orders it found.
    """
    errors = _with_wire_errors(errors)
    venue_permanent = is_permanent

    def permanent(exc: Exception) -> bool:
        return isinstance(exc, WireValueError) or venue_permanent(exc)

    cursors = dict(tracker.trade_cursor)  # step 0: before anything below emits a fill
    results: list[QueryResult] = []

    # 1. closed during the gap
    gone = [o for o in tracker.open_orders() if o.client_order_id.value not in open_at_snapshot]
    ok = failed = 0
    for order in gone:
        try:
            accepted_when_asked = order.accepted
            if not await resolve_order(order):
                unknown_to_venue(order, log, accepted_when_asked)
            ok += 1
        except errors as exc:
            if permanent(exc):
                log.error("recovery: order %s cannot be resolved (%r); skipped", order.client_order_id, exc)
                ok += 1
                continue
            failed += 1
            log.warning("recovery: could not resolve %s: %r", order.client_order_id, exc)
    if gone:
        results.append(QueryResult("closedOrders", failed == 0, ok, required=True))

    # 2. open: quantities
    short = failed = 0
    for cid, venue_filled in open_at_snapshot.items():
        tracked = tracker.get(cid)
        if tracked is None or tracked.terminal is not None:
            continue
        order = tracked
        if venue_filled > order.venue_filled:
            order.venue_filled = venue_filled
        if order.filled < venue_filled:
            short += 1
            try:
                await fetch_order_fills(order)
            except errors as exc:
                if permanent(exc):
                    log.error("recovery: fills of %s cannot be fetched (%r)", order.client_order_id, exc)
                    continue
                failed += 1
                log.warning("recovery: fetching the fills of %s failed: %r", order.client_order_id, exc)
                continue
            if order.filled < venue_filled:
                # The venue has not published the trades yet (or lost them): the attempt fails and
                # is retried, rather than completing with a known shortfall.
                failed += 1
                log.warning(
                    "recovery: %s has %s filled on the venue but only %s in trades fetched so far",
                    order.client_order_id,
                    venue_filled,
                    order.filled,
                )
        elif order.filled > venue_filled:
            # The snapshot may only be older than a fill the stream delivered since: re-read first.
            try:
                await resolve_order(order)
            except errors as exc:
                log.warning("recovery: re-reading %s failed: %r", order.client_order_id, exc)
            if order.filled > order.venue_filled:
                log.error(
                    "recovery: order %s: the engine was told %s filled but the venue reports %s",
                    order.client_order_id,
                    order.filled,
                    order.venue_filled,
                )
    if short:
        results.append(QueryResult("orderFills", failed == 0, short - failed, required=True))

    # 3. every fill since the cursors
    symbols = {o.symbol for o in tracker.open_orders()} | set(cursors) | set(venue_symbols)
    symbols |= {o.symbol for o in gone}
    for symbol in sorted(symbols):
        name = f"{fills_query}:{symbol}"
        try:
            emitted = await backfill_symbol(symbol, cursors.get(symbol))
        except errors as exc:
            if permanent(exc):
                log.error("recovery: fills of %s cannot be verified (the venue refuses it): %r", symbol, exc)
                results.append(QueryResult(name, False, error=repr(exc), skipped=True))
            else:
                results.append(QueryResult(name, False, error=repr(exc), required=True))
        else:
            results.append(QueryResult(name, True, emitted))

    # 3b. open orders again, after the connect
    if relist_open_orders is not None:
        try:
            reported, open_now = await relist_open_orders()
            resolved = {o.client_order_id.value for o in gone}
            for order in tracker.open_orders():
                cid = order.client_order_id.value
                if not order.accepted or cid in open_now or cid in resolved:
                    continue
                if not await resolve_order(order):
                    unknown_to_venue(order, log)
        except errors as exc:
            results.append(QueryResult("openOrders:relisted", False, error=repr(exc), required=True))
        else:
            results.append(QueryResult("openOrders:relisted", True, reported))

    # 4. the account
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


@dataclass(frozen=True, slots=True)
class ExternalOrder(Generic[T]):
    """An order this node does not track, as the venue's REST shows it, and how its trades (``T``,
    the venue's trade rows) are fetched and read: what :func:`report_external_order` reports."""

    ident: object  # how the order is named in log lines
    executed: Decimal  # the venue's cumulative filled quantity in the view ``order_report`` is built from
    order_report: Callable[[], OrderStatusReport]
    trades: Callable[[], Awaitable[Sequence[T]]]  # all of the order's trades, by order id
    key_of: Callable[[T], FillKey]
    quantity_of: Callable[[T], Decimal]
    fill_report: Callable[[T, int], FillReport]  # (trade, ts_init)


async def report_external_order(
    order: ExternalOrder[T],
    *,
    tracker: OrderTracker,
    clock_ns: Callable[[], int],
    send: Callable[[OrderStatusReport, list[FillReport]], None],
    log: logging.Logger,
    synced_as_tracked: Callable[[], Awaitable[bool]] | None = None,
) -> int:
    """Report ``order``, which this node does not track, with every fill it has: 1 if sent.

    ``executed`` is the venue's cumulative filled quantity in the order view ``order_report`` is
    built from. When it is not zero the order's trades (``trades()``, all of them, by order id) are
    fetched and bundled with the report, so they sum to the filled quantity it states: the engine
    adopts the exact fills and infers none. Trades that sum to less than ``executed`` (not
    published yet) or more (the order traded after it was read) raise :class:`FillsNotPublished`:
    nothing is sent and the caller's attempt is retried on fresh views. Every trade of the order is
    bundled, also one already handed to the engine (it skips trade ids an order holds), and marked
    seen only after the reports were built and sent. ``fill_report(trade, ts_init)``.

    ``synced_as_tracked()`` is asked once the trades are read: the order may have become the
    engine's meanwhile (a report of it, queued when this began, taken by the engine, and a stream
    event of it then adopted). Then it is synced as a tracked order and nothing is reported: a
    second report would race the fill events that path has already queued, and NautilusTrader
    1.221 would apply the report's copy of a fill before the queued event, then refuse that event
    with an error (chaos: BingX seed 227).
    """
    ident, executed, key_of = order.ident, order.executed, order.key_of
    try:
        report = order.order_report()
    except ValueError as exc:
        # Zero quantity (a closePosition stop) and the like: no report can represent it, and it
        # must not fail the whole sync, or recovery would retry it forever.
        log.warning("recovery: external order %s not reported: %s", ident, exc)
        return 0
    if executed <= 0:
        send(report, [])
        return 1
    rows: dict[FillKey, T] = {}
    for trade in await order.trades():
        rows.setdefault(key_of(trade), trade)
    total = sum((order.quantity_of(t) for t in rows.values()), Decimal(0))
    if total != executed:
        raise FillsNotPublished(
            f"external order {ident}: executed {executed} on the venue, its trades sum to {total}"
        )
    if synced_as_tracked is not None and await synced_as_tracked():
        log.info("recovery: order %s became the engine's while it was read; synced as tracked", ident)
        return 0
    unseen = [k for k in rows if not tracker.is_seen(k)]
    if len(unseen) < len(rows):
        # Some of its fills already went to the engine (an event of the stream, still queued, say)
        # without the engine holding the order yet. The report carries them all the same: the engine
        # skips a trade id the order holds and rejects a duplicate fill event, while a report without
        # them would make it infer the quantity, and the real fill would then count twice (chaos:
        # BingX seed 192 - an inferred fill, then the next real trade refused as an overfill).
        log.warning(
            "recovery: external order %s: %d of its %d trades reached the engine before the order; "
            "reported with all of them",
            ident,
            len(rows) - len(unseen),
            len(rows),
        )
    ts_init = clock_ns()
    fills = [order.fill_report(t, ts_init) for t in rows.values()]
    send(report, fills)
    for key in unseen:
        tracker.mark_seen(key)
    return 1
