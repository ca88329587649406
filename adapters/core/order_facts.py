"""Turns venue facts about *our* orders into NautilusTrader order events — each fact exactly once.

Every source of truth funnels through here: the user stream (hot path), REST command responses
(an acceptance or cancel confirmed before the stream says so), and recovery (fills and final states
fetched by REST after a gap). Three facts exist — accepted, filled, terminal — and each method is
idempotent, so any source may report anything any number of times, in any order:

* ``accepted``: emitted once, and implied by a fill or a terminal status that arrives first.
* ``filled``: de-duplicated on the venue's ``(symbol, trade_id)``.
* ``terminal`` (canceled / expired / rejected): emitted once. If the venue says the order had
  filled more than we have emitted, the terminal event is *held* and the missing fills are fetched:
  a cancel overtaking its last fill (reordered events, a rotation) must not close the order before
  that fill, which would otherwise reopen it or be lost.

Why events and not reports for tracked orders: the execution engine queues order events but
reconciles reports synchronously, so a report could overtake fills still in the queue and make the
engine infer a fill that then arrives a second time. Events keep one ordered path.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderType
from nautilus_trader.model.identifiers import (
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
    TradeId,
    VenueOrderId,
)
from nautilus_trader.model.objects import Currency, Money, Price, Quantity

from adapters.core.order_tracking import OrderTracker, PendingTerminal, Terminal, TrackedOrder


class OrderEventSink(Protocol):
    """The subset of ``ExecutionClient``'s event helpers used here (the exec client is the sink)."""

    def generate_order_accepted(
        self,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        venue_order_id: VenueOrderId,
        ts_event: int,
    ) -> None: ...

    def generate_order_rejected(
        self,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        reason: str,
        ts_event: int,
        due_post_only: bool = False,
    ) -> None: ...

    def generate_order_canceled(
        self,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        venue_order_id: VenueOrderId,
        ts_event: int,
    ) -> None: ...

    def generate_order_expired(
        self,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        venue_order_id: VenueOrderId,
        ts_event: int,
    ) -> None: ...

    def generate_order_triggered(
        self,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        venue_order_id: VenueOrderId,
        ts_event: int,
    ) -> None: ...

    def generate_order_updated(
        self,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        venue_order_id: VenueOrderId,
        quantity: Quantity,
        price: Price,
        trigger_price: Price | None,
        ts_event: int,
        venue_order_id_modified: bool = False,
    ) -> None: ...

    def generate_order_filled(
        self,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        venue_order_id: VenueOrderId,
        venue_position_id: PositionId | None,
        trade_id: TradeId,
        order_side: OrderSide,
        order_type: OrderType,
        last_qty: Quantity,
        last_px: Price,
        quote_currency: Currency,
        commission: Money,
        liquidity_side: LiquiditySide,
        ts_event: int,
    ) -> None: ...


class OrderFacts:
    """Idempotent fact -> event translation for tracked orders (see module docstring)."""

    def __init__(
        self,
        tracker: OrderTracker,
        sink: OrderEventSink,
        *,
        treat_expired_as_canceled: bool,
        request_fills: Callable[[TrackedOrder], None],
    ) -> None:
        self.tracker = tracker
        self._sink = sink
        self._expired_as_canceled = treat_expired_as_canceled
        # Asks the client to fetch an order's fills by REST (a held terminal is waiting for them).
        self._request_fills = request_fills
        self.duplicates_dropped = 0
        self.terminals_held = 0

    # --- accepted ----------------------------------------------------------------------------
    def accepted(self, order: TrackedOrder, venue_order_id: VenueOrderId, ts_event: int) -> None:
        if order.venue_order_id is None:
            self.tracker.set_venue_order_id(order, venue_order_id)
        if order.accepted or order.terminal is not None:
            return
        order.accepted = True
        order.ambiguous = False
        order.engine_venue_order_id = venue_order_id
        self._sink.generate_order_accepted(
            order.strategy_id, order.instrument_id, order.client_order_id, venue_order_id, ts_event
        )

    # --- venue order id ----------------------------------------------------------------------
    def venue_id_changed(self, order: TrackedOrder, venue_order_id: VenueOrderId, ts_event: int) -> None:
        """The order now lives under another venue id (a triggered algo order's regular order in
        the matching engine): track it, and move the engine's order to it right away."""
        if order.venue_order_id != venue_order_id:
            self.tracker.set_venue_order_id(order, venue_order_id)
        if order.terminal is None:
            self._sync_engine_venue_id(order, venue_order_id, ts_event)

    def _sync_engine_venue_id(self, order: TrackedOrder, venue_order_id: VenueOrderId, ts_event: int) -> None:
        """NautilusTrader's ``Order.apply`` raises on a fill/cancel/expiry whose venue order id
        differs from the order's (the event is then lost, while the position may still move).
        Only ``OrderUpdated`` may change it: emit one first. Quantity is required and unchanged;
        price and trigger price ``None`` leave them as they are."""
        known = order.engine_venue_order_id
        if known is None or known == venue_order_id:
            return
        order.engine_venue_order_id = venue_order_id
        self._sink.generate_order_updated(
            order.strategy_id,
            order.instrument_id,
            order.client_order_id,
            venue_order_id,
            Quantity.from_str(f"{order.quantity:f}"),
            None,  # type: ignore[arg-type]  # None keeps the price (OrderUpdated allows it)
            None,
            ts_event,
            venue_order_id_modified=True,
        )

    # --- filled ------------------------------------------------------------------------------
    def filled(
        self,
        order: TrackedOrder,
        trade_id: int,
        venue_order_id: VenueOrderId,
        venue_position_id: PositionId | None,
        last_qty: Quantity,
        last_qty_dec: Decimal,
        last_px: Price,
        quote_currency: Currency,
        commission: Money,
        liquidity_side: LiquiditySide,
        ts_event: int,
    ) -> bool:
        """Emit one fill. Returns False when the trade was already seen."""
        if not self.tracker.first_fill(order.symbol, trade_id):
            self.duplicates_dropped += 1
            return False
        if not order.accepted:
            self.accepted(order, venue_order_id, ts_event)
        if order.venue_order_id != venue_order_id:
            # A triggered algo order trades under its new (regular) order id.
            self.tracker.set_venue_order_id(order, venue_order_id)
        self._sync_engine_venue_id(order, venue_order_id, ts_event)
        order.filled += last_qty_dec
        self._sink.generate_order_filled(
            order.strategy_id,
            order.instrument_id,
            order.client_order_id,
            venue_order_id,
            venue_position_id,
            TradeId(str(trade_id)),
            order.side,
            order.order_type,
            last_qty,
            last_px,
            quote_currency,
            commission,
            liquidity_side,
            ts_event,
        )
        pending = order.pending_terminal
        if pending is not None and order.filled >= pending.venue_filled:
            order.pending_terminal = None
            self._emit_terminal(order, pending.kind, pending.venue_order_id, pending.ts_event)
        return True

    def fully_filled(self, order: TrackedOrder) -> None:
        """The venue says FILLED and every fill has been emitted: nothing more can happen."""
        if order.terminal is None:
            order.terminal = Terminal.FILLED

    # --- terminal ----------------------------------------------------------------------------
    def canceled(
        self, order: TrackedOrder, venue_order_id: VenueOrderId, venue_filled: Decimal, ts_event: int
    ) -> None:
        self._terminal(order, Terminal.CANCELED, venue_order_id, venue_filled, ts_event)

    def expired(
        self, order: TrackedOrder, venue_order_id: VenueOrderId, venue_filled: Decimal, ts_event: int
    ) -> None:
        kind = Terminal.CANCELED if self._expired_as_canceled else Terminal.EXPIRED
        self._terminal(order, kind, venue_order_id, venue_filled, ts_event)

    def rejected(self, order: TrackedOrder, reason: str, ts_event: int, due_post_only: bool = False) -> None:
        if order.terminal is not None:
            return
        order.terminal = Terminal.REJECTED
        order.ambiguous = False
        self._sink.generate_order_rejected(
            order.strategy_id, order.instrument_id, order.client_order_id, reason, ts_event, due_post_only
        )

    def amended(
        self,
        order: TrackedOrder,
        venue_order_id: VenueOrderId,
        quantity: Decimal,
        price: Decimal,
        make_qty: Callable[[Decimal], Quantity],
        make_px: Callable[[Decimal], Price],
        ts_event: int,
    ) -> None:
        """The venue changed quantity/price (our modify, confirmed by REST or the stream — whichever
        comes second finds nothing new)."""
        if order.terminal is not None or (order.quantity == quantity and order.price == price):
            return
        self._sync_engine_venue_id(order, venue_order_id, ts_event)
        order.quantity = quantity
        order.price = price
        self._sink.generate_order_updated(
            order.strategy_id,
            order.instrument_id,
            order.client_order_id,
            venue_order_id,
            make_qty(quantity),
            make_px(price),
            None,
            ts_event,
        )

    def triggered(self, order: TrackedOrder, ts_event: int) -> None:
        """An algo order was placed in the matching engine. Only limit-type conditional orders have
        a TRIGGERED state in NautilusTrader; market-type ones go straight to filled."""
        if order.triggered or order.terminal is not None:
            return
        order.triggered = True
        if order.order_type in (OrderType.STOP_LIMIT, OrderType.LIMIT_IF_TOUCHED) and order.accepted:
            # The id the engine holds (the triggered order's NEW may already have arrived).
            venue_order_id = order.engine_venue_order_id or order.venue_order_id
            assert venue_order_id is not None
            self._sink.generate_order_triggered(
                order.strategy_id, order.instrument_id, order.client_order_id, venue_order_id, ts_event
            )

    def _terminal(
        self,
        order: TrackedOrder,
        kind: Terminal,
        venue_order_id: VenueOrderId,
        venue_filled: Decimal,
        ts_event: int,
    ) -> None:
        if order.terminal is not None:
            return
        if venue_filled > order.filled:
            # Fills are missing (reordered or lost in a gap): hold the terminal event until they
            # are emitted, and fetch them rather than wait for a stream that may never send them.
            if order.pending_terminal is None:
                self.terminals_held += 1
                order.pending_terminal = PendingTerminal(kind, venue_filled, venue_order_id, ts_event)
                self._request_fills(order)
            return
        self._emit_terminal(order, kind, venue_order_id, ts_event)

    def _emit_terminal(
        self, order: TrackedOrder, kind: Terminal, venue_order_id: VenueOrderId, ts: int
    ) -> None:
        if order.terminal is not None:
            return
        if not order.accepted:
            self.accepted(order, venue_order_id, ts)
        self._sync_engine_venue_id(order, venue_order_id, ts)
        order.terminal = kind
        sid, iid, cid = order.strategy_id, order.instrument_id, order.client_order_id
        if kind is Terminal.CANCELED:
            self._sink.generate_order_canceled(sid, iid, cid, venue_order_id, ts)
        elif kind is Terminal.EXPIRED:
            self._sink.generate_order_expired(sid, iid, cid, venue_order_id, ts)
