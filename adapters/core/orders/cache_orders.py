"""Orders the engine's cache holds, tracked by the execution client (submitted before a restart, or
external orders the engine adopted from a report), so that their events stay events, not reports.

* :func:`tracked_from_cache`, :func:`tracked_for_submit` — an order's tracking state;
* :func:`adopt_cache_orders`, :func:`track_cached` — cache orders tracked from now on, their fills
  already in the engine marked delivered;
* :func:`cached_order_by_venue_id` — the engine's order with a venue order id.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import Venue, VenueOrderId
from nautilus_trader.model.orders import Order as NautilusOrder

from adapters.core.orders.order_tracking import FillKey, Terminal, TrackedOrder, fill_key

# The engine's status of a cached order -> the tracker's terminal state (None: still live).
TERMINAL_OF = {
    OrderStatus.CANCELED: Terminal.CANCELED,
    OrderStatus.EXPIRED: Terminal.EXPIRED,
    OrderStatus.REJECTED: Terminal.REJECTED,
    OrderStatus.FILLED: Terminal.FILLED,
    OrderStatus.DENIED: Terminal.REJECTED,
}


def _tracked(
    order: NautilusOrder, symbol: str, is_algo: bool, price: Decimal | None, **state: Any
) -> TrackedOrder:
    return TrackedOrder(
        client_order_id=order.client_order_id,
        strategy_id=order.strategy_id,
        instrument_id=order.instrument_id,
        symbol=symbol,
        side=order.side,
        order_type=order.order_type,
        is_algo=is_algo,
        quantity=order.quantity.as_decimal(),
        price=price,
        **state,
    )


def tracked_from_cache(order: NautilusOrder, *, symbol: str, is_algo: bool) -> TrackedOrder:
    """The tracking state of an order the engine cache holds (the venue's symbol and whether it is a
    conditional/algo order are the venue's to say)."""
    return _tracked(
        order,
        symbol,
        is_algo,
        order.price.as_decimal() if getattr(order, "price", None) is not None else None,
        venue_order_id=order.venue_order_id,
        accepted=order.status not in (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED),
        terminal=TERMINAL_OF.get(order.status),
        filled=order.filled_qty.as_decimal(),
        triggered=order.status == OrderStatus.TRIGGERED,
    )


def tracked_for_submit(order: NautilusOrder, *, symbol: str, is_algo: bool) -> TrackedOrder:
    """The tracking state of an order about to be submitted."""
    return _tracked(order, symbol, is_algo, order.price.as_decimal() if order.has_price else None)


def adopt_cache_orders(
    cache: Any,
    venue: Venue,
    *,
    known: Callable[[str], TrackedOrder | None],
    register: Callable[[TrackedOrder], TrackedOrder],
    to_tracked: Callable[[NautilusOrder], TrackedOrder],
    seen: Callable[[FillKey], None],
) -> list[TrackedOrder]:
    """Every open or in-flight order of ``venue`` the engine's cache holds (restored from Redis
    after a restart, reconciled at startup), tracked from now on: their fills already in the
    engine are marked delivered from the cache itself. Returns them all (known ones included)."""
    out: list[TrackedOrder] = []
    orders = {o.client_order_id.value: o for o in cache.orders_open(venue=venue)}
    orders.update({o.client_order_id.value: o for o in cache.orders_inflight(venue=venue)})
    for cid, order in orders.items():
        tracked = known(cid)
        if tracked is None:
            tracked = track_cached(order, register=register, to_tracked=to_tracked, seen=seen)
        out.append(tracked)
    return out


def track_cached(
    order: NautilusOrder,
    *,
    register: Callable[[TrackedOrder], TrackedOrder],
    to_tracked: Callable[[NautilusOrder], TrackedOrder],
    seen: Callable[[FillKey], None],
) -> TrackedOrder:
    """One order the engine's cache holds, tracked from now on; the fills the engine already has
    are marked delivered, so a venue report of them is not emitted a second time."""
    tracked = register(to_tracked(order))
    for event in order.events:
        if isinstance(event, OrderFilled) and event.trade_id.value.isdigit():
            seen(fill_key(tracked.symbol, int(event.trade_id.value), order.side))
    return tracked


def cached_order_by_venue_id(cache: Any, venue: Venue, venue_order_id: str | None) -> NautilusOrder | None:
    """The engine's order with this venue order id (an external order the engine adopted from a
    report carries the venue's id, whatever client id it got), or None."""
    if not venue_order_id:
        return None
    try:
        cid = cache.client_order_id(VenueOrderId(venue_order_id))
    except ValueError:
        return None
    order = cache.order(cid) if cid is not None else None
    return order if order is not None and order.instrument_id.venue == venue else None
