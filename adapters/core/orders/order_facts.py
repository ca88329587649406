"""Turns venue facts about *our* orders into NautilusTrader order events — each fact exactly once.

Every source of truth funnels through here: the user stream (hot path), REST command responses
(an acceptance or cancel confirmed before the stream says so), and recovery (fills and final states
fetched by REST after a gap). Three facts exist — accepted, filled, terminal — and each method is
idempotent, so any source may report anything any number of times, in any order:

* ``accepted``: emitted once, and implied by a fill or a terminal status that arrives first; not
  emitted at all when the engine already applied one (it generates its own from a query answer or
  a reconciliation report while our resolver may still be working).
* ``filled``: de-duplicated on the venue's ``(symbol, trade_id, side)``; never beyond the order's
  quantity (an overfill is reconciled against the venue, not emitted); *committed after it was
  built*: a fill whose event could not be built is not marked seen, so its replay (or the REST
  backfill) still delivers it.
* ``terminal`` (canceled / expired / rejected): emitted once. If the venue says the order had
  filled more than we have emitted, the terminal event is *held* and the missing fills are fetched:
  a cancel overtaking its last fill (reordered events, a rotation) must not close the order before
  that fill, which would otherwise reopen it or be lost.

Quantities, not cursors: every source that states the venue's cumulative filled quantity (a
stream event's ``z``, a snapshot's ``executedQty``) goes through :meth:`OrderFacts.venue_filled`.
When it is ahead of what the engine was told, the order's own fills are fetched by id
(``request_fills``) until the two agree — whatever the per-symbol cursor says.

Why events and not reports for tracked orders: the execution engine queues order events but
reconciles reports synchronously, so a report could overtake fills still in the queue and make the
engine infer a fill that then arrives a second time. Events keep one ordered path.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Final, Protocol

from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderStatus, OrderType
from nautilus_trader.model.identifiers import (
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
    TradeId,
    VenueOrderId,
)
from nautilus_trader.model.objects import Currency, Money, Price, Quantity

from adapters.core.orders.order_tracking import (
    OrderTracker,
    PendingTerminal,
    Terminal,
    TrackedOrder,
    fill_key,
)

_log = logging.getLogger("adapters.core.order_facts")

# Engine statuses at which an order has not been accepted yet.
_NOT_YET_ACCEPTED = frozenset({OrderStatus.INITIALIZED, OrderStatus.SUBMITTED})
# Engine statuses at which the engine closed an order on its own (FILLED is not one: a fill closes it).
_ENGINE_CLOSED = frozenset(
    {OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED, OrderStatus.DENIED}
)
# Enum members as module constants: on Python 3.11 reading ``Terminal.CANCELED`` (an enum class
# attribute) costs ~130 ns, a global ~15 ns, and the fill path reads several per frame.
_CANCELED: Final = Terminal.CANCELED
_EXPIRED: Final = Terminal.EXPIRED
_REJECTED: Final = Terminal.REJECTED
_FILLED: Final = Terminal.FILLED


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


class ModifyEventSink(OrderEventSink, Protocol):
    """What a venue's modify machinery emits besides order facts (the execution client)."""

    def generate_order_modify_rejected(
        self,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        venue_order_id: VenueOrderId | None,
        reason: str,
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
        engine_status: Callable[[ClientOrderId], OrderStatus | None] | None = None,
        on_live_after_rejected: Callable[[TrackedOrder, VenueOrderId], None] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.tracker = tracker
        self._sink = sink
        self._expired_as_canceled = treat_expired_as_canceled
        # Asks the client to fetch an order's fills by REST until ``filled == venue_filled`` and
        # any held terminal is released (one repair task per order; see core.orders.resolution).
        self._request_fills = request_fills
        # The engine's view of an order (the cache): events it already applied are not sent again.
        self._engine_status = engine_status
        # The venue shows as live an order this node closed as rejected: the client cancels it.
        self._on_live_after_rejected = on_live_after_rejected
        self._log = logger or _log
        self.duplicates_dropped = 0
        self.terminals_held = 0
        self.overfills = 0
        self.engine_accepted = 0  # acceptances the engine had already applied (not re-sent)
        self._fills_by_source: collections.Counter[str] = collections.Counter()
        self._stream_fills = 0

    @property
    def fills_by_source(self) -> collections.Counter[str]:
        """Fills emitted per source (``stream``, ``rest``): fills that reached the engine through
        REST are fills the stream lost."""
        if self._stream_fills:
            self._fills_by_source["stream"] += self._stream_fills
            self._stream_fills = 0
        return self._fills_by_source

    # --- accepted ----------------------------------------------------------------------------
    def accepted(self, order: TrackedOrder, venue_order_id: VenueOrderId, ts_event: int) -> None:
        if order.venue_order_id is None:
            self.tracker.set_venue_order_id(order, venue_order_id)
        order.ambiguous = False
        if order.terminal is _REJECTED:
            self._live_after_rejected(order, venue_order_id)
            return
        if order.accepted or order.terminal is not None:
            return
        order.accepted = True
        if order.engine_venue_order_id is None:
            order.engine_venue_order_id = venue_order_id
        status = self._engine_status(order.client_order_id) if self._engine_status is not None else None
        if status is not None and status not in _NOT_YET_ACCEPTED:
            # The engine accepted it already (from a query answer or a reconciliation report):
            # a second OrderAccepted would reach the strategy twice.
            self.engine_accepted += 1
            return
        self._sink.generate_order_accepted(
            order.strategy_id, order.instrument_id, order.client_order_id, venue_order_id, ts_event
        )

    def _live_after_rejected(self, order: TrackedOrder, venue_order_id: VenueOrderId) -> None:
        """The venue has (or had) an order this node declared rejected: never left untracked."""
        self._log.error(
            "order %s was declared rejected but the venue shows it live as %s; canceling it on the venue",
            order.client_order_id,
            venue_order_id,
        )
        if self._on_live_after_rejected is not None:
            self._on_live_after_rejected(order, venue_order_id)

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
        venue_cum: Decimal | None = None,
        source: str = "stream",
    ) -> bool:
        """Emit one fill. Returns False when it was not emitted (already seen, or an overfill that
        is being reconciled). ``venue_cum``: the venue's cumulative filled quantity with this fill
        (the stream's ``z``), when the source states it. ``source`` (``stream`` or ``rest``) is
        counted in :attr:`fills_by_source`: fills that reached the engine through REST are fills the
        stream lost."""
        key = fill_key(order.symbol, trade_id, order.side)
        seen = self.tracker.seen_trades
        if seen.contains(key):
            self.duplicates_dropped += 1
            if venue_cum is not None:
                self.venue_filled(order, venue_cum)
            return False
        if order.filled + last_qty_dec > order.quantity:
            self._overfill(order, trade_id, last_qty_dec, venue_cum)
            return False
        if order.terminal is _REJECTED:
            self._live_after_rejected(order, venue_order_id)
        elif not order.accepted:
            self.accepted(order, venue_order_id, ts_event)
        if order.venue_order_id != venue_order_id:
            # A triggered algo order trades under its new (regular) order id.
            self.tracker.set_venue_order_id(order, venue_order_id)
        known = order.engine_venue_order_id
        if known is not None and known != venue_order_id:
            self._sync_engine_venue_id(order, venue_order_id, ts_event)
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
        # Committed only now: had building the event raised, the trade would still be new.
        seen.add(key)
        if source == "stream":
            self._stream_fills += 1  # folded into fills_by_source when read (a Counter += costs ~100 ns)
        else:
            self._fills_by_source[source] += 1
        # venue_filled holds only what the venue said: an excess of filled over it is then visible
        # to the gap sync (and logged), instead of being absorbed here.
        order.filled += last_qty_dec
        pending = order.pending_terminal
        if pending is not None and order.filled >= pending.venue_filled:
            order.pending_terminal = None
            self._emit_terminal(order, pending.kind, pending.venue_order_id, pending.ts_event)
        if venue_cum is not None:
            # venue_filled(), inline (once per fill)
            if venue_cum > order.venue_filled:
                order.venue_filled = venue_cum
            if order.filled < order.venue_filled:
                self._request_fills(order)
        return True

    def venue_filled(self, order: TrackedOrder, cumulative: Decimal) -> None:
        """The venue says the order has filled ``cumulative`` in all. Ahead of what the engine was
        told: the missing fills are fetched by the order's id (they may have been lost in a gap, or
        may still be on their way out of order — the fetch is idempotent either way)."""
        self.note_venue_filled(order, cumulative)
        if order.missing_fills:
            self._request_fills(order)

    @staticmethod
    def note_venue_filled(order: TrackedOrder, cumulative: Decimal) -> None:
        """Record the venue's cumulative filled quantity without asking for a fetch (the caller is
        fetching the order's fills itself)."""
        if cumulative > order.venue_filled:
            order.venue_filled = cumulative

    def _overfill(self, order: TrackedOrder, trade_id: int, qty: Decimal, venue_cum: Decimal | None) -> None:
        """A fill that would take the order beyond its quantity is not believed: either an amendment
        the node has not seen raised the quantity, or it is a duplicate the de-duplication could not
        recognise. The venue decides: the order is re-read (quantity, fills by trade id)."""
        self.overfills += 1
        if trade_id in order.overfill_trade_ids:
            return  # escalated before, and the venue's answer did not make room for it
        order.overfill_trade_ids.add(trade_id)
        order.resync = True
        self._log.error(
            "fill %s of order %s not emitted: %s filled + %s would exceed its quantity %s; "
            "reconciling with the venue",
            trade_id,
            order.client_order_id,
            order.filled,
            qty,
            order.quantity,
        )
        if venue_cum is not None and venue_cum > order.venue_filled:
            order.venue_filled = venue_cum
        self._request_fills(order)

    def resync(self, order: TrackedOrder) -> None:
        """Something the venue said about the order could not be applied (a rejected frame): read
        the order's state and fills from the venue instead."""
        order.resync = True
        self._request_fills(order)

    def fully_filled(self, order: TrackedOrder) -> None:
        """The venue says FILLED and every fill has been emitted: nothing more can happen."""
        if order.terminal is None and not order.missing_fills:
            self.tracker.close(order, _FILLED)

    # --- terminal ----------------------------------------------------------------------------
    def canceled(
        self, order: TrackedOrder, venue_order_id: VenueOrderId, venue_filled: Decimal, ts_event: int
    ) -> None:
        self._terminal(order, _CANCELED, venue_order_id, venue_filled, ts_event)

    def expired(
        self, order: TrackedOrder, venue_order_id: VenueOrderId, venue_filled: Decimal, ts_event: int
    ) -> None:
        kind = _CANCELED if self._expired_as_canceled else _EXPIRED
        self._terminal(order, kind, venue_order_id, venue_filled, ts_event)

    def rejected(self, order: TrackedOrder, reason: str, ts_event: int, due_post_only: bool = False) -> None:
        if order.terminal is not None:
            return
        self.tracker.close(order, _REJECTED)
        order.ambiguous = False
        if self._engine_closed(order):
            return
        self._sink.generate_order_rejected(
            order.strategy_id, order.instrument_id, order.client_order_id, reason, ts_event, due_post_only
        )

    def amended(
        self,
        order: TrackedOrder,
        venue_order_id: VenueOrderId,
        quantity: Decimal,
        price: Decimal | None,
        make_qty: Callable[[Decimal], Quantity],
        make_px: Callable[[Decimal], Price],
        ts_event: int,
    ) -> None:
        """The venue changed quantity/price (our modify, confirmed by REST or the stream — whichever
        comes second finds nothing new). An amendment older than the newest one applied (replayed
        across a drain or an overlap rotation) is ignored: it must not revert the order."""
        if order.terminal is not None or ts_event < order.amended_ts:
            return
        if price is None:
            price = order.price
        if order.quantity == quantity and order.price == price:
            order.amended_ts = max(order.amended_ts, ts_event)
            return
        self._sync_engine_venue_id(order, venue_order_id, ts_event)
        order.quantity = quantity
        order.price = price
        order.amended_ts = ts_event
        self._sink.generate_order_updated(
            order.strategy_id,
            order.instrument_id,
            order.client_order_id,
            venue_order_id,
            make_qty(quantity),
            make_px(price) if price is not None else None,  # type: ignore[arg-type]
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
        if venue_filled > order.venue_filled:
            order.venue_filled = venue_filled
        if order.filled < order.venue_filled:  # order.missing_fills
            # Fills are missing (reordered or lost in a gap): hold the terminal event until they
            # are emitted, and fetch them rather than wait for a stream that may never send them.
            if order.pending_terminal is None:
                self.terminals_held += 1
                order.pending_terminal = PendingTerminal(kind, order.venue_filled, venue_order_id, ts_event)
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
        known = order.engine_venue_order_id
        if known is not None and known != venue_order_id:
            self._sync_engine_venue_id(order, venue_order_id, ts)
        self.tracker.close(order, kind)
        status = self._engine_status
        if status is not None and status(order.client_order_id) in _ENGINE_CLOSED:
            return  # self._engine_closed(order)
        sid, iid, cid = order.strategy_id, order.instrument_id, order.client_order_id
        if kind is _CANCELED:
            self._sink.generate_order_canceled(sid, iid, cid, venue_order_id, ts)
        elif kind is _EXPIRED:
            self._sink.generate_order_expired(sid, iid, cid, venue_order_id, ts)

    def _engine_closed(self, order: TrackedOrder) -> bool:
        """The engine closed the order on its own (its in-flight check): a second terminal event
        would reach the strategy twice."""
        if self._engine_status is None:
            return False
        return self._engine_status(order.client_order_id) in _ENGINE_CLOSED
