"""What the execution client knows about the orders this node submitted, and which fills it has seen.

The user stream, command responses and recovery snapshots can each report the same thing (an
acceptance, a fill, a cancel) — sometimes twice (the venue's duplicates, two sockets overlapping a
rotation), sometimes out of order (a cancel overtaking the fill before it). This module is the one
place that decides whether something is *new*, so each fact reaches the engine exactly once:

* fills are keyed by ``(symbol, trade_id, side)`` in a bounded FIFO — the venue's own identity of a
  trade, per side: a self-trade (two of our orders on one trade id) is two fills;
* per order: accepted / terminal flags, the filled quantity already emitted and the highest
  cumulative filled quantity the venue has reported (the order's fills are complete when the two
  agree);
* per symbol, a *trade cursor*: the trade id up to which the gap backfill has verified, walking the
  venue's trade list in order, that every trade of the account reached the engine. Only that walk
  moves it, over trades it emitted or found already emitted: never a fill fetched for one order by
  id (that skipped the earlier trades of other orders — the partial fill lost in a gap), and never
  the stream (a frame lost on a healthy socket, or reordered before a drop, would be skipped too).

Closed orders are kept for ``retention`` seconds (late duplicates still find their order), then
forgotten: open-order scans touch only open orders, so a node that has placed 100,000 orders does
not scan them on every recovery.

Plain Python state, owned and mutated only on the event loop thread: no locks needed.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from nautilus_trader.model.enums import OrderSide, OrderType
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, StrategyId, VenueOrderId

from adapters.core.base.dedup import FifoDedup

FillKey = tuple[str, int, bool]  # (symbol, trade id, is the buy side)

# A global, not ``OrderSide.BUY`` per call: an enum class attribute costs ~130 ns on Python 3.11.
_BUY = OrderSide.BUY


def fill_key(symbol: str, trade_id: int, side: OrderSide) -> FillKey:
    return (symbol, trade_id, side == _BUY)


class Terminal(Enum):
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"
    FILLED = "FILLED"


@dataclass(slots=True)
class PendingTerminal:
    """A cancel/expire that arrived before all of the order's fills (the venue's cumulative
    filled quantity says more than we emitted)."""

    kind: Terminal
    venue_filled: Decimal
    venue_order_id: VenueOrderId
    ts_event: int


@dataclass(slots=True)
class TrackedOrder:
    client_order_id: ClientOrderId
    strategy_id: StrategyId
    instrument_id: InstrumentId
    symbol: str
    side: OrderSide
    order_type: OrderType
    is_algo: bool
    quantity: Decimal = Decimal(0)
    price: Decimal | None = None
    venue_order_id: VenueOrderId | None = None
    algo_id: int | None = None
    triggered: bool = False  # algo order placed in the matching engine: cancel as a regular order
    accepted: bool = False
    terminal: Terminal | None = None
    filled: Decimal = Decimal(0)
    # The highest cumulative filled quantity the venue has reported for this order (stream ``z``,
    # a snapshot's ``executedQty``). ``filled < venue_filled`` means fills are missing: fetched.
    venue_filled: Decimal = Decimal(0)
    pending_terminal: PendingTerminal | None = None
    # Set while a submit's outcome is unknown (timeout, 5xx, -1006/-1007): resolved by querying.
    ambiguous: bool = False
    # The venue order id the *engine* holds for this order (``venue_order_id`` above is the newest
    # the venue used). They differ once a triggered algo order trades under its new regular id:
    # NautilusTrader refuses a fill or cancel whose venue id differs from the order's, so the
    # engine is told with an OrderUpdated(venue_order_id_modified) first (see OrderFacts).
    engine_venue_order_id: VenueOrderId | None = None
    # Event time of the newest amendment applied: a replayed older AMENDMENT (across a drain or an
    # overlap rotation) must not revert quantity/price.
    amended_ts: int = 0
    # Every venue order id this order has lived under (an algo order's id and its triggered order's;
    # BingX's cancel-replace links): all are unlinked when the order is forgotten.
    venue_ids: list[str] = field(default_factory=list)
    # The order must be re-read from the venue (quantity, fills) even if no fill is known to be
    # missing: a fill would have overfilled it. Trade ids already escalated that way are kept so a
    # fill the venue confirms as impossible is escalated once, not in a loop.
    resync: bool = False
    overfill_trade_ids: set[int] = field(default_factory=set)
    # When the venue created the order (ms), once a venue answer said so: a venue whose trade query
    # defaults to the last days needs it to fetch an older order's fills.
    venue_created_ms: int | None = None
    # Not submitted by this node: an external order the engine adopted from our report, tracked by
    # its venue order id (the engine's client id for it may be one the venue never saw), so venue
    # queries ask for it by that id.
    external: bool = False
    # ``client_order_id.value``, read once: the identifier builds a new string on every read, and the
    # tracker's dictionaries are keyed by this one.
    cid: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.cid = self.client_order_id.value
        # An order adopted from the cache (accepted before a restart) is known to the engine
        # under the venue id it was built with.
        if self.accepted and self.engine_venue_order_id is None:
            self.engine_venue_order_id = self.venue_order_id
        if self.venue_filled < self.filled:
            self.venue_filled = self.filled

    @property
    def is_open(self) -> bool:
        return self.terminal is None

    @property
    def missing_fills(self) -> bool:
        """The venue has reported more filled quantity than the engine was told."""
        return self.filled < self.venue_filled

    @property
    def needs_repair(self) -> bool:
        """Something about this order must still be fetched from the venue."""
        return self.pending_terminal is not None or self.filled < self.venue_filled or self.resync


@dataclass(slots=True)
class OrderTracker:
    """Orders by client id and venue id, open orders, fill de-duplication and trade cursors."""

    dedup_capacity: int = 100_000
    retention: float = 3600.0  # seconds a closed order is remembered
    clock: Callable[[], float] = time.monotonic
    # Keyed by the client order id *string*: the hot path looks orders up straight from the wire
    # without building a ClientOrderId per frame.
    orders: dict[str, TrackedOrder] = field(default_factory=dict)
    by_venue_id: dict[str, TrackedOrder] = field(default_factory=dict)
    seen_trades: FifoDedup[FillKey] = field(init=False)
    # Per symbol: every trade of the account up to this id has reached the engine (see module doc).
    trade_cursor: dict[str, int] = field(default_factory=dict)
    cursor_time_ms: dict[str, int] = field(default_factory=dict)  # venue time of the cursor's trade
    _open: dict[str, TrackedOrder] = field(default_factory=dict)
    _closed: deque[tuple[float, str]] = field(default_factory=deque)
    # Called with each order as it is forgotten (owners drop their per-order state, e.g. locks).
    on_forget: list[Callable[[TrackedOrder], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.seen_trades = FifoDedup(self.dedup_capacity)

    def track(self, order: TrackedOrder) -> TrackedOrder:
        cid = order.cid
        self.orders[cid] = order
        if order.venue_order_id is not None:
            self.link_venue_id(order, order.venue_order_id.value)
        if order.terminal is None:
            self._open[cid] = order
        else:
            self._closed.append((self.clock(), cid))
        return order

    def get(self, client_order_id: str) -> TrackedOrder | None:
        return self.orders.get(client_order_id)

    def by_venue(self, venue_order_id: str) -> TrackedOrder | None:
        return self.by_venue_id.get(venue_order_id)

    def set_venue_order_id(self, order: TrackedOrder, venue_order_id: VenueOrderId) -> None:
        order.venue_order_id = venue_order_id
        self.link_venue_id(order, venue_order_id.value)

    def link_venue_id(self, order: TrackedOrder, venue_order_id: str) -> None:
        """Find ``order`` by ``venue_order_id`` too (without making it the order's current id)."""
        if self.by_venue_id.get(venue_order_id) is not order:
            self.by_venue_id[venue_order_id] = order
            order.venue_ids.append(venue_order_id)

    def close(self, order: TrackedOrder, kind: Terminal) -> None:
        """The order reached a final state (the one place ``terminal`` is set after tracking)."""
        if order.terminal is not None:
            return
        order.terminal = kind
        cid = order.cid
        now = self.clock()
        if self._open.pop(cid, None) is not None:
            self._closed.append((now, cid))
        closed = self._closed
        if closed and closed[0][0] <= now - self.retention:
            self.forget_expired()

    # --- fills -----------------------------------------------------------------------------------
    def is_seen(self, key: FillKey) -> bool:
        return key in self.seen_trades

    def mark_seen(self, key: FillKey) -> None:
        """The fill reached the engine: commit it (after its event or report was built and sent)."""
        self.seen_trades.add(key)

    def cursor(self, symbol: str) -> int | None:
        return self.trade_cursor.get(symbol)

    def advance_cursor(self, symbol: str, trade_id: int, time_ms: int | None = None) -> None:
        """Every trade of ``symbol`` up to ``trade_id`` reached the engine (see module docstring)."""
        if trade_id > self.trade_cursor.get(symbol, -1):
            self.trade_cursor[symbol] = trade_id
            if time_ms:
                self.cursor_time_ms[symbol] = time_ms

    # --- scans -----------------------------------------------------------------------------------
    def open_orders(self) -> list[TrackedOrder]:
        return list(self._open.values())

    @property
    def open_count(self) -> int:
        return len(self._open)

    def forget_expired(self) -> int:
        """Forget closed orders older than ``retention``; returns how many were forgotten. A late
        event for a forgotten order finds it again through the client's cache adoption."""
        horizon = self.clock() - self.retention
        closed = self._closed
        n = 0
        while closed and closed[0][0] <= horizon:
            _, cid = closed.popleft()
            order = self.orders.get(cid)
            if order is None or order.terminal is None:
                continue  # re-tracked since (a restart adoption): not ours to forget
            del self.orders[cid]
            for vid in order.venue_ids:
                if self.by_venue_id.get(vid) is order:
                    del self.by_venue_id[vid]
            for hook in self.on_forget:
                hook(order)
            n += 1
        return n
