"""Bring the engine in line with the venue's REST view: snapshots, gap backfill, ambiguous outcomes.

Used by recovery (after every listen-key rotation or socket loss), by the resolution of ambiguous
command outcomes (timeouts, 5xx, -1006/-1007: the order may or may not exist), and when a terminal
status arrived before its fills. Everything goes through :class:`OrderFacts`, so whatever the stream
also reports (before, during or after) reaches the engine once.

Recovery runs in two phases (see ``adapters.core.recovery``):

* ``snapshot`` — open orders and open algo orders: tracked ones are confirmed, external ones are
  reported. The venue's cumulative filled quantity of each open order is remembered.
* ``post_snapshot`` — what the reference design leaves to the next periodic reconciliation: tracked
  orders that are no longer open are queried for their final state; their fills, and every fill since
  the last trade id seen per symbol, are fetched and emitted. Nothing lost in the gap, nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal

from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.identifiers import AccountId, InstrumentId, PositionId, VenueOrderId

from adapters.binance_futures.errors import BinanceError, BinanceRejection
from adapters.binance_futures.http import BinanceFuturesHttpClient
from adapters.binance_futures.parsing import (
    algo_order_to_status_report,
    order_to_status_report,
    parse_currency,
    parse_money,
    parse_price,
    parse_quantity,
    user_trade_to_fill_report,
)
from adapters.binance_futures.schemas_http import AlgoOrder, Order, UserTrade
from adapters.binance_futures.user_events import InstrumentInfo, UserStreamHandler
from adapters.core import gap_sync
from adapters.core.order_facts import OrderFacts
from adapters.core.order_tracking import TrackedOrder
from adapters.core.recovery import QueryResult, SnapshotOutcome

_NANOS_PER_MS = 1_000_000
_TRADES_PAGE = 1000


class VenueSync:
    def __init__(
        self,
        *,
        http: BinanceFuturesHttpClient,
        facts: OrderFacts,
        handler: UserStreamHandler,
        account_id: AccountId,
        instruments: Callable[[str], InstrumentInfo],
        position_id: Callable[[InstrumentId, str | None], PositionId | None],
        clock_ns: Callable[[], int],
        treat_expired_as_canceled: bool,
        since_ms: Callable[[], int],
        refresh_account: Callable[[], Awaitable[None]] | None = None,
        logger: logging.Logger,
    ) -> None:
        self._http = http
        self._facts = facts
        self._tracker = facts.tracker
        self._handler = handler
        self._account_id = account_id
        self._instruments = instruments
        self._position_id = position_id
        self._clock_ns = clock_ns
        self._expired_as_canceled = treat_expired_as_canceled
        # Where a symbol's backfill starts when no trade of it was seen yet (the session's start).
        self._since_ms = since_ms
        # Balance changes made during a gap came with the fills the backfill recovers, but their
        # ACCOUNT_UPDATEs are gone: the account is re-read after every backfill.
        self._refresh_account = refresh_account
        self._log = logger
        self._open_at_snapshot: set[str] = set()

    # --- applying REST objects ---------------------------------------------------------------
    def apply_trade(self, order: TrackedOrder, t: UserTrade) -> bool:
        info = self._instruments(t.symbol)
        commission_ccy = (
            info.quote_currency
            if not t.commissionAsset or t.commissionAsset == info.quote_currency.code
            else parse_currency(t.commissionAsset)
        )
        return self._facts.filled(
            order,
            t.id,
            VenueOrderId(str(t.orderId)),
            self._position_id(info.instrument_id, t.positionSide),
            parse_quantity(t.qty, info.size_precision),
            Decimal(t.qty),
            parse_price(t.price, info.price_precision),
            info.quote_currency,
            parse_money(t.commission, commission_ccy),
            LiquiditySide.MAKER if t.maker else LiquiditySide.TAKER,
            t.time * _NANOS_PER_MS,
        )

    def apply_order(self, order: TrackedOrder, o: Order) -> None:
        """The venue's current state of one tracked order (fills are applied separately)."""
        voi = VenueOrderId(str(o.orderId))
        ts = (o.updateTime or o.time or 0) * _NANOS_PER_MS or self._clock_ns()
        executed = Decimal(o.executedQty or "0")
        status = o.status
        if status in ("NEW", "PARTIALLY_FILLED", "PENDING_NEW", "PENDING_CANCEL"):
            if order.is_algo and order.accepted:
                self._facts.venue_id_changed(order, voi, ts)
            else:
                self._facts.accepted(order, voi, ts)
        elif status == "CANCELED":
            self._facts.canceled(order, voi, executed, ts)
        elif status in ("EXPIRED", "EXPIRED_IN_MATCH"):
            self._facts.expired(order, voi, executed, ts)
        elif status == "REJECTED":
            self._facts.rejected(order, "REJECTED by venue", ts)
        elif status in ("FILLED", "NEW_ADL", "NEW_INSURANCE"):
            self._facts.accepted(order, voi, ts)
            if order.filled >= executed:
                self._facts.fully_filled(order)
        else:
            self._log.warning("order %s has unknown venue status %r", o.clientOrderId, status)

    def apply_algo(self, order: TrackedOrder, a: AlgoOrder) -> int | None:
        """The venue's state of a tracked algo order. Returns the triggered order's id, if any,
        whose own state then decides fills and the final status."""
        order.algo_id = a.algoId
        ts = (a.updateTime or a.createTime or 0) * _NANOS_PER_MS or self._clock_ns()
        algo_voi = VenueOrderId(str(a.algoId))
        status = a.algoStatus or "NEW"
        actual = int(a.actualOrderId) if a.actualOrderId else None
        if status in ("NEW", "TRIGGERING"):
            self._facts.accepted(order, algo_voi, ts)
        elif status in ("TRIGGERED", "FINISHED"):
            self._facts.accepted(order, algo_voi, ts)
            self._facts.triggered(order, ts)
            return actual
        elif status == "CANCELED":
            self._facts.canceled(order, order.venue_order_id or algo_voi, Decimal(a.executedQty or "0"), ts)
        elif status == "EXPIRED":
            self._facts.expired(order, order.venue_order_id or algo_voi, Decimal(a.executedQty or "0"), ts)
        elif status == "REJECTED":
            self._facts.rejected(order, "algo order REJECTED by venue", ts)
        return None

    # --- single-order resolution -------------------------------------------------------------
    async def resolve_order(self, order: TrackedOrder) -> bool:
        """Query one tracked order's venue state and fills and apply them. Returns False when the
        venue does not know the order (-2013), True otherwise; raises on transport/ambiguous errors."""
        try:
            if order.is_algo and not order.triggered:
                algo = await self._http.query_algo_order(client_algo_id=order.client_order_id.value)
                actual = self.apply_algo(order, algo)
                if actual is None:
                    return True
                o = await self._http.query_order(order.symbol, order_id=actual)
            else:
                o = await self._http.query_order(
                    order.symbol, orig_client_order_id=order.client_order_id.value
                )
        except BinanceRejection as exc:
            if exc.is_unknown_order:
                return False
            raise
        executed = Decimal(o.executedQty or "0")
        self._tracker.set_venue_order_id(order, VenueOrderId(str(o.orderId)))
        if executed > order.filled:
            # Fills first: a final status applied before them would close the order early.
            await self.fetch_order_fills(order, o.orderId)
        self.apply_order(order, o)
        return True

    async def fetch_order_fills(self, order: TrackedOrder, order_id: int | None = None) -> int:
        venue_id = order_id if order_id is not None else _venue_int(order)
        if venue_id is None:
            return 0
        trades = await self._http.user_trades(order.symbol, order_id=venue_id)
        return sum(1 for t in sorted(trades, key=lambda t: t.id) if self.apply_trade(order, t))

    # --- recovery phases ---------------------------------------------------------------------
    async def snapshot(self) -> SnapshotOutcome:
        results: list[QueryResult] = []
        self._open_at_snapshot = set()
        try:
            orders = await self._http.open_orders()
        except BinanceError as exc:
            results.append(QueryResult("openOrders", False, error=repr(exc)))
        else:
            emitted = 0
            for o in orders:
                self._open_at_snapshot.add(o.clientOrderId)
                emitted += self._snapshot_order(o)
            results.append(QueryResult("openOrders", True, emitted))
        try:
            algos = await self._http.open_algo_orders()
        except BinanceError as exc:
            results.append(QueryResult("openAlgoOrders", False, error=repr(exc)))
        else:
            emitted = 0
            for a in algos:
                self._open_at_snapshot.add(a.clientAlgoId)
                emitted += self._snapshot_algo(a)
            results.append(QueryResult("openAlgoOrders", True, emitted))
        return SnapshotOutcome(tuple(results))

    def _snapshot_order(self, o: Order) -> int:
        order = self._tracker.orders.get(o.clientOrderId)
        if order is not None:
            self.apply_order(order, o)
            return 1
        info = self._instruments(o.symbol)
        return gap_sync.report_external(
            self._handler.send_order_with_fills,
            lambda: order_to_status_report(
                o,
                self._account_id,
                info.instrument_id,
                info.price_precision,
                info.size_precision,
                self._clock_ns(),
                self._expired_as_canceled,
                self._position_id(info.instrument_id, o.positionSide),
            ),
            log=self._log,
            what="order",
            ident=o.clientOrderId,
        )

    def _snapshot_algo(self, a: AlgoOrder) -> int:
        order = self._tracker.orders.get(a.clientAlgoId)
        if order is not None:
            self.apply_algo(order, a)
            return 1
        info = self._instruments(a.symbol)
        return gap_sync.report_external(
            self._handler.send_order_with_fills,
            lambda: algo_order_to_status_report(
                a,
                self._account_id,
                info.instrument_id,
                info.price_precision,
                info.size_precision,
                self._clock_ns(),
                self._expired_as_canceled,
            ),
            log=self._log,
            what="algo order",
            ident=a.clientAlgoId,
        )

    async def post_snapshot(self) -> SnapshotOutcome:
        """Closed orders' final states, every fill since the last trade id per symbol
        (``userTrades``), then the account (see :func:`adapters.core.gap_sync.post_snapshot`)."""
        return await gap_sync.post_snapshot(
            tracker=self._tracker,
            open_at_snapshot=self._open_at_snapshot,
            resolve_order=self.resolve_order,
            backfill_symbol=self.backfill_symbol,
            fills_query="userTrades",
            errors=BinanceError,
            log=self._log,
            refresh_account=self._refresh_account,
        )

    async def backfill_symbol(self, symbol: str) -> int:
        emitted = 0
        while True:
            last = self._tracker.last_trade_id.get(symbol)
            if last is not None:
                trades = await self._http.user_trades(symbol, from_id=last + 1, limit=_TRADES_PAGE)
            else:
                trades = await self._http.user_trades(symbol, start_time=self._since_ms(), limit=_TRADES_PAGE)
            for t in sorted(trades, key=lambda t: t.id):
                emitted += await self._apply_backfilled_trade(t)
            # Without a cursor the first page also sets one; stop once a page comes back short.
            if len(trades) < _TRADES_PAGE or self._tracker.last_trade_id.get(symbol) == last:
                return emitted

    async def _apply_backfilled_trade(self, t: UserTrade) -> int:
        order = self._tracker.by_venue(str(t.orderId))
        if order is not None:
            return 1 if self.apply_trade(order, t) else 0
        if (t.symbol, t.id) in self._tracker.seen_trades:
            return 0
        # A trade of an order we do not track: report the order with the fill bundled.
        o = await self._http.query_order(t.symbol, order_id=t.orderId)
        tracked = self._tracker.orders.get(o.clientOrderId)
        if tracked is not None:
            self._tracker.set_venue_order_id(tracked, VenueOrderId(str(o.orderId)))
            return 1 if self.apply_trade(tracked, t) else 0
        return gap_sync.report_external_fill(
            tracker=self._tracker,
            symbol=t.symbol,
            trade_id=t.id,
            info=lambda: self._instruments(t.symbol),
            position_id=lambda info: self._position_id(info.instrument_id, t.positionSide),
            clock_ns=self._clock_ns,
            send=self._handler.send_order_with_fills,
            order_report=lambda info, ts_init, pos_id: order_to_status_report(
                o,
                self._account_id,
                info.instrument_id,
                info.price_precision,
                info.size_precision,
                ts_init,
                self._expired_as_canceled,
                pos_id,
            ),
            fill_report=lambda info, ts_init, pos_id: user_trade_to_fill_report(
                t,
                self._account_id,
                info.instrument_id,
                info.price_precision,
                info.size_precision,
                ts_init,
                None,
                pos_id,
            ),
        )


def _venue_int(order: TrackedOrder) -> int | None:
    if order.venue_order_id is None:
        return None
    try:
        return int(order.venue_order_id.value)
    except ValueError:
        return None
