"""What the execution client knows about the orders this node submitted, and which fills it has seen.

The user stream, command responses and recovery snapshots can each report the same thing (an
acceptance, a fill, a cancel) — sometimes twice (the venue's duplicates, two sockets overlapping a
rotation), sometimes out of order (a cancel overtaking the fill before it). This module is the one
place that decides whether something is *new*, so each fact reaches the engine exactly once:

* fills are keyed by ``(symbol, trade_id)`` in a bounded FIFO — the venue's own identity of a trade;
* per order: accepted / terminal flags and the filled quantity already emitted;
* a terminal status that reports more filled quantity than was emitted is *held* until the missing
  fills arrive (or are fetched), because applying a fill to a closed order would lose it.

Plain Python state, owned and mutated only on the event loop thread: no locks needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from nautilus_trader.model.enums import OrderSide, OrderType
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, StrategyId, VenueOrderId

from adapters.core.dedup import FifoDedup


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
    pending_terminal: PendingTerminal | None = None
    # Set while a submit's outcome is unknown (timeout, 5xx, -1006/-1007): resolved by querying.
    ambiguous: bool = False
    # The venue order id the *engine* holds for this order (``venue_order_id`` above is the newest
    # the venue used). They differ once a triggered algo order trades under its new regular id:
    # NautilusTrader refuses a fill or cancel whose venue id differs from the order's, so the
    # engine is told with an OrderUpdated(venue_order_id_modified) first (see OrderFacts).
    engine_venue_order_id: VenueOrderId | None = None

    def __post_init__(self) -> None:
        # An order adopted from the cache (accepted before a restart) is known to the engine
        # under the venue id it was built with.
        if self.accepted and self.engine_venue_order_id is None:
            self.engine_venue_order_id = self.venue_order_id

    @property
    def is_open(self) -> bool:
        return self.terminal is None


@dataclass(slots=True)
class OrderTracker:
    """Orders by client id and venue id, plus fill de-duplication and per-symbol trade cursors."""

    dedup_capacity: int = 100_000
    # Keyed by the client order id *string*: the hot path looks orders up straight from the wire
    # without building a ClientOrderId per frame.
    orders: dict[str, TrackedOrder] = field(default_factory=dict)
    by_venue_id: dict[str, TrackedOrder] = field(default_factory=dict)
    seen_trades: FifoDedup[tuple[str, int]] = field(init=False)
    # Highest trade id seen per symbol: recovery backfills fills after it (userTrades fromId).
    last_trade_id: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.seen_trades = FifoDedup(self.dedup_capacity)

    def track(self, order: TrackedOrder) -> TrackedOrder:
        self.orders[order.client_order_id.value] = order
        if order.venue_order_id is not None:
            self.by_venue_id[order.venue_order_id.value] = order
        return order

    def get(self, client_order_id: str) -> TrackedOrder | None:
        return self.orders.get(client_order_id)

    def by_venue(self, venue_order_id: str) -> TrackedOrder | None:
        return self.by_venue_id.get(venue_order_id)

    def set_venue_order_id(self, order: TrackedOrder, venue_order_id: VenueOrderId) -> None:
        order.venue_order_id = venue_order_id
        self.by_venue_id[venue_order_id.value] = order

    def first_fill(self, symbol: str, trade_id: int) -> bool:
        """True exactly once per venue trade; also advances the symbol's trade cursor."""
        if not self.seen_trades.add((symbol, trade_id)):
            return False
        if trade_id > self.last_trade_id.get(symbol, -1):
            self.last_trade_id[symbol] = trade_id
        return True

    def open_orders(self) -> list[TrackedOrder]:
        return [o for o in self.orders.values() if o.terminal is None]

    def forget_closed(self, keep: int = 10_000) -> None:
        """Bound memory on long runs: drop the oldest closed orders beyond ``keep``."""
        closed = [cid for cid, o in self.orders.items() if o.terminal is not None]
        for cid in closed[: max(0, len(closed) - keep)]:
            order = self.orders.pop(cid)
            if order.venue_order_id is not None:
                self.by_venue_id.pop(order.venue_order_id.value, None)
