"""Bring the engine in line with the venue's REST view: snapshots, gap backfill, ambiguous outcomes.

Used by recovery (after every listen-key rotation or socket loss), by the resolution of ambiguous
command outcomes (timeouts, 5xx, -1006/-1007: the order may or may not exist), and when a terminal
status arrived before its fills. Everything goes through :class:`OrderFacts`, so whatever the stream
also reports (before, during or after) reaches the engine once.

Recovery runs in two phases (see ``adapters.core.userstream.recovery``):

* ``snapshot`` — open orders and open algo orders: tracked ones are confirmed, external ones are
  reported. The venue's cumulative filled quantity of each open tracked order is remembered.
* ``post_snapshot`` — what the reference design leaves to the next periodic reconciliation (see
  :mod:`adapters.core.userstream.gap_sync`): tracked orders that are no longer open are queried for
  their final state; every open tracked order's executed quantity is compared with what the engine was told
  and a shortfall is fetched by order id; every fill since each symbol's trade cursor is walked
  (``userTrades`` pages within the venue's windows). Nothing lost in the gap, nothing twice.

``userTrades`` serves only recent history (the last 90 days since 2026-08) and at most 7 days per
time-bounded call: a walk with no cursor pages 7-day windows from the session start, then by trade
id; a walk that would have to start before the venue's horizon says, as an ERROR, which symbol and
period can no longer be verified.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Unpack

from nautilus_trader.model.enums import LiquiditySide, OrderSide
from nautilus_trader.model.identifiers import VenueOrderId

from adapters.binance_futures.errors import CODE_INVALID_SYMBOL, BinanceError, BinanceRejection
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
from adapters.binance_futures.schemas_rest import AlgoOrder, Order, UserTrade
from adapters.binance_futures.user_events import UserStreamHandler
from adapters.core.base.timestamps import MILLIS_PER_DAY, NANOS_PER_MS, format_ms
from adapters.core.orders.order_tracking import TrackedOrder, fill_key
from adapters.core.parse.wire_values import WireValueError, check_positive_id, check_time_ms, strict_decimal
from adapters.core.userstream import gap_sync
from adapters.core.userstream.recovery import QueryResult
from adapters.core.userstream.sync_base import SyncArgs, VenueSyncBase

_TRADES_PAGE = 1000
# userTrades: a startTime/endTime span is at most 7 days; history is served for the last 90 days
# (Binance USD-M change log, 2026-08-26). Both are settings of VenueSync for the simulator's sake.
_TRADE_WINDOW_MS = 7 * MILLIS_PER_DAY
_WINDOW_SLACK_MS = 60_000  # our clock against the venue's: stay well inside its default window
TRADE_HISTORY_DAYS = 90
_ALL_OPEN_ORDERS_WEIGHT = 40  # GET openOrders without a symbol; 1 with one


def is_permanent(exc: Exception) -> bool:
    """An error the venue will give for this request forever (a delisted or unknown symbol)."""
    return isinstance(exc, BinanceRejection) and exc.code == CODE_INVALID_SYMBOL


class VenueSync(VenueSyncBase[BinanceFuturesHttpClient, UserStreamHandler, Order]):
    """``refresh_account``: balance changes made during a gap came with the fills the backfill
    recovers, but their ACCOUNT_UPDATEs are gone: the account is re-read after every backfill."""

    venue_error = BinanceError
    fills_query = "userTrades"
    _is_permanent = staticmethod(is_permanent)

    def __init__(
        self,
        *,
        history_days: int = TRADE_HISTORY_DAYS,
        **common: Unpack[SyncArgs[BinanceFuturesHttpClient, UserStreamHandler]],
    ) -> None:
        super().__init__(**common)
        self._history_days = history_days
        self._relist_symbols: set[str] = set()  # the symbols the running post-snapshot walks
        self.rejected_trades = 0  # REST trades with a value rejected at the boundary (logged)

    # --- applying REST objects ---------------------------------------------------------------
    def apply_trade(self, order: TrackedOrder, t: UserTrade) -> bool:
        info = self._instruments(t.symbol)
        commission_ccy = (
            info.quote_currency
            if not t.commissionAsset or t.commissionAsset == info.quote_currency.code
            else parse_currency(t.commissionAsset)
        )
        check_positive_id(t.id, "id")
        check_time_ms(t.time, "time")
        qty = strict_decimal(t.qty, "qty")
        if qty <= 0:
            raise WireValueError("qty", t.qty, "a fill quantity must be positive")
        return self._facts.filled(
            order,
            t.id,
            VenueOrderId(str(t.orderId)),
            self._position_id(info.instrument_id, t.positionSide),
            parse_quantity(t.qty, info.size_precision, field="qty"),
            qty,
            parse_price(t.price, info.price_precision, field="price", positive=True),
            info.quote_currency,
            parse_money(t.commission, commission_ccy),
            LiquiditySide.MAKER if t.maker else LiquiditySide.TAKER,
            t.time * NANOS_PER_MS,
            source="rest",
        )

    def apply_order(self, order: TrackedOrder, o: Order) -> None:
        """The venue's current state of one tracked order (fills are applied separately)."""
        voi = VenueOrderId(str(o.orderId))
        ts = (o.updateTime or o.time or 0) * NANOS_PER_MS or self._clock_ns()
        executed = strict_decimal(o.executedQty, "executedQty", allow_empty=True)
        self._facts.note_venue_filled(order, executed)
        if o.time and order.venue_created_ms is None:
            order.venue_created_ms = o.time
        self._apply_amendment(order, o, voi, ts)
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

    def _apply_amendment(self, order: TrackedOrder, o: Order, voi: VenueOrderId, ts: int) -> None:
        """A quantity/price the venue changed while the node did not hear of it (an AMENDMENT lost
        in a gap): the engine's order follows the venue's."""
        if o.type != "LIMIT" or order.is_algo or not o.origQty:
            return
        qty = strict_decimal(o.origQty, "origQty")
        price = strict_decimal(o.price, "price", allow_empty=True)
        if qty == order.quantity and (price == 0 or price == order.price):
            return
        info = self._instruments(o.symbol)
        self._facts.amended(
            order,
            voi,
            qty,
            price if price > 0 else None,
            lambda q: parse_quantity(f"{q:f}", info.size_precision),
            lambda p: parse_price(f"{p:f}", info.price_precision),
            ts,
        )

    def apply_algo(self, order: TrackedOrder, a: AlgoOrder) -> int | None:
        """The venue's state of a tracked algo order. Returns the triggered order's id, if any,
        whose own state then decides fills and the final status."""
        order.algo_id = a.algoId
        ts = (a.updateTime or a.createTime or 0) * NANOS_PER_MS or self._clock_ns()
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
            executed = strict_decimal(a.executedQty, "executedQty", allow_empty=True)
            self._facts.canceled(order, order.venue_order_id or algo_voi, executed, ts)
        elif status == "EXPIRED":
            executed = strict_decimal(a.executedQty, "executedQty", allow_empty=True)
            self._facts.expired(order, order.venue_order_id or algo_voi, executed, ts)
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
            elif order.external and _venue_int(order) is not None:
                o = await self._http.query_order(order.symbol, order_id=_venue_int(order))
            else:
                o = await self._http.query_order(
                    order.symbol, orig_client_order_id=order.client_order_id.value
                )
        except BinanceRejection as exc:
            if exc.is_unknown_order:
                return False
            raise
        await self.sync_order(order, o)
        return True

    async def sync_order(self, order: TrackedOrder, o: Order) -> None:
        """Apply a fresh venue view of ``order``: its fills first (a final status applied before
        them would close the order early), then its state."""
        executed = strict_decimal(o.executedQty, "executedQty", allow_empty=True)
        self._tracker.set_venue_order_id(order, VenueOrderId(str(o.orderId)))
        self._facts.note_venue_filled(order, executed)
        if executed > order.filled or order.resync:
            await self.fetch_order_fills(order, o.orderId)
        self.apply_order(order, o)

    async def fetch_order_fills(self, order: TrackedOrder, order_id: int | None = None) -> int:
        """Every trade of one venue order (by its id), emitted once each.

        ``userTrades`` by order id answers from the last 7 days unless a time range is given (and
        a range spans at most 7 days, without ``fromId``): an order the venue created earlier is
        walked in 7-day windows from its creation."""
        venue_id = order_id if order_id is not None else _venue_int(order)
        if venue_id is None:
            return 0
        trades = await self._order_trades(order.symbol, venue_id, order.venue_created_ms)
        return sum(1 for t in trades if self._apply_or_reject(order, t))

    _fetch_missing_fills = fetch_order_fills

    async def _order_trades(self, symbol: str, venue_id: int, created_ms: int | None) -> list[UserTrade]:
        """Every trade of one venue order, by trade id."""
        now = self._http.now_ms()
        if created_ms is not None and created_ms < now - _TRADE_WINDOW_MS + _WINDOW_SLACK_MS:
            return await self._order_trades_by_windows(symbol, venue_id, created_ms, now)
        out: list[UserTrade] = []
        from_id: int | None = None
        while True:
            trades = await self._http.user_trades(
                symbol, order_id=venue_id, from_id=from_id, limit=_TRADES_PAGE
            )
            trades = sorted(trades, key=lambda t: t.id)
            out.extend(trades)
            if len(trades) < _TRADES_PAGE:
                return out
            from_id = trades[-1].id + 1

    def _apply_or_reject(self, order: TrackedOrder, t: UserTrade) -> bool:
        """:meth:`apply_trade`, a trade with a value rejected at the boundary logged (not believed,
        not raised: the order's other trades still count)."""
        try:
            return self.apply_trade(order, t)
        except WireValueError as exc:
            self.rejected_trades += 1
            self._log.error("trade %s of %s rejected: %s", t.id, order.client_order_id, exc)
            return False

    async def _order_trades_by_windows(
        self, symbol: str, venue_id: int, start: int, now: int
    ) -> list[UserTrade]:
        out: dict[int, UserTrade] = {}
        while start <= now:
            end = min(start + _TRADE_WINDOW_MS - 1, now)
            trades = await self._http.user_trades(
                symbol, order_id=venue_id, start_time=start, end_time=end, limit=_TRADES_PAGE
            )
            trades = sorted(trades, key=lambda t: t.id)
            out.update((t.id, t) for t in trades)
            if len(trades) == _TRADES_PAGE and trades[-1].time > start:
                start = trades[-1].time  # a full page: the rest of the window (repeats are seen)
                continue
            start = end + 1
        return [out[k] for k in sorted(out)]

    async def _query_order_by_id(self, symbol: str, order_id: int) -> Order:
        return await self._http.query_order(symbol, order_id=order_id)

    def _known_order(self, o: Order) -> TrackedOrder | None:
        return (
            self._tracker.orders.get(o.clientOrderId)
            or self._tracker.by_venue(str(o.orderId))
            or self._handler.adopt(o.clientOrderId, str(o.orderId))
        )

    def _external_order(self, o: Order) -> gap_sync.ExternalOrder[UserTrade]:
        info = self._instruments(o.symbol)
        pos_id = self._position_id(info.instrument_id, o.positionSide)
        return gap_sync.ExternalOrder(
            ident=o.clientOrderId or o.orderId,
            executed=strict_decimal(o.executedQty, "executedQty", allow_empty=True),
            order_report=lambda: order_to_status_report(
                o,
                *info.report_head(self._account_id, self._clock_ns()),
                self._expired_as_canceled,
                pos_id,
            ),
            trades=lambda: self._order_trades(o.symbol, o.orderId, o.time or None),
            key_of=lambda t: fill_key(t.symbol, t.id, _side(t.side)),
            quantity_of=lambda t: strict_decimal(t.qty, "qty"),
            fill_report=lambda t, ts_init: user_trade_to_fill_report(
                t,
                *info.report_head(self._account_id, ts_init),
                None,
                pos_id,
            ),
        )

    # --- recovery phases (see VenueSyncBase.snapshot / post_snapshot) -------------------------
    async def _snapshot_more_orders(self) -> list[QueryResult]:
        try:
            algos = await self._http.open_algo_orders()
        except BinanceError as exc:
            return [QueryResult("openAlgoOrders", False, error=repr(exc))]
        emitted = 0
        for a in algos:
            emitted += self._snapshot_algo(a)
        return [QueryResult("openAlgoOrders", True, emitted)]

    async def _snapshot_order(self, o: Order) -> int:
        order = self._tracker.orders.get(o.clientOrderId)
        if order is None:
            order = self._handler.adopt(o.clientOrderId, str(o.orderId))
        if order is not None:
            executed = strict_decimal(o.executedQty, "executedQty", allow_empty=True)
            # A triggered algo order's regular order is listed under its own client id; both
            # map to the tracked order, and its executed quantity is the order's.
            cid = order.client_order_id.value
            self._open_at_snapshot[cid] = max(executed, self._open_at_snapshot.get(cid, Decimal(0)))
            self.apply_order(order, o)
            return 1
        return await self._report_external(o)

    def _snapshot_algo(self, a: AlgoOrder) -> int:
        order = self._tracker.orders.get(a.clientAlgoId)
        if order is None:
            order = self._handler.adopt(a.clientAlgoId, str(a.algoId))
        if order is not None:
            cid = order.client_order_id.value
            self._open_at_snapshot.setdefault(
                cid, strict_decimal(a.executedQty, "executedQty", allow_empty=True)
            )
            self.apply_algo(order, a)
            return 1
        info = self._instruments(a.symbol)
        return gap_sync.report_external(
            self._handler.send_order_with_fills,
            lambda: algo_order_to_status_report(
                a,
                *info.report_head(self._account_id, self._clock_ns()),
                self._expired_as_canceled,
            ),
            log=self._log,
            what="algo order",
            ident=a.clientAlgoId,
        )

    async def _backfill_symbols(self) -> set[str]:
        """Those of the snapshot, of venue positions and of the walk; the open orders are listed again
        for the same symbols."""
        self._relist_symbols = (
            self._venue_symbols | await self._position_symbols() | set(self._walk_symbols())
        )
        return self._relist_symbols

    async def _position_symbols(self) -> set[str]:
        """Symbols with a venue position: an external order placed and filled inside one gap, on a
        symbol the node never traded, leaves one (and no other trace the node can see)."""
        try:
            positions = await self._http.position_risk()
        except BinanceError as exc:
            self._log.warning("recovery: positionRisk failed (%r); walking the known symbols only", exc)
            return set()
        out = set()
        for p in positions:
            try:
                if strict_decimal(p.positionAmt, "positionAmt") != 0:
                    out.add(p.symbol)
            except WireValueError:
                out.add(p.symbol)  # unreadable: walk it rather than miss it
        return out

    async def _relist_open_orders(self) -> tuple[int, set[str]]:
        """The venue's open orders, listed again after the new stream connected (step 3b of
        :mod:`adapters.core.userstream.gap_sync`): external ones not reported yet are reported now. Returns
        that count and the client ids of the tracked orders listed.

        Listed per symbol (weight 1 each) for the symbols the backfill walks and those of tracked
        orders, or all at once (weight 40) when that is cheaper: a recovery that runs again and
        again (sockets dying on connect) must not spend the IP's weight budget on this re-listing."""
        symbols = self._relist_symbols | {o.symbol for o in self._tracker.open_orders()}
        if len(symbols) >= _ALL_OPEN_ORDERS_WEIGHT:
            listed = await self._http.open_orders()
        else:
            listed = [o for symbol in sorted(symbols) for o in await self._http.open_orders(symbol)]
        reported = 0
        tracked_open: set[str] = set()
        for o in listed:
            order = self._tracker.orders.get(o.clientOrderId) or self._tracker.by_venue(str(o.orderId))
            if order is None:
                order = self._handler.adopt(o.clientOrderId, str(o.orderId))
                if order is None:
                    reported += await self._report_external(o)
                    continue
            tracked_open.add(order.client_order_id.value)
        if any(o.is_algo and not o.triggered for o in self._tracker.open_orders()):
            for a in await self._http.open_algo_orders():
                order = self._tracker.orders.get(a.clientAlgoId)
                if order is not None:
                    tracked_open.add(order.client_order_id.value)
        return reported, tracked_open

    async def backfill_symbol(self, symbol: str, cursor: int | None) -> int:
        """Walk every trade of ``symbol`` after ``cursor`` (None: since the session started) and
        emit those not emitted yet; the symbol's cursor advances over each trade processed."""
        now = self._http.now_ms()
        horizon = now - self._history_days * MILLIS_PER_DAY
        since = self._tracker.cursor_time_ms.get(symbol) if cursor is not None else self._since_ms()
        if since is not None and since < horizon:
            self._log.error(
                "fills of %s from %s to %s can no longer be verified: the venue serves only the last %d "
                "days of trades",
                symbol,
                format_ms(since),
                format_ms(horizon),
                self._history_days,
            )
        emitted = 0
        start = max(self._since_ms(), horizon)
        while True:
            by_id = cursor is not None
            if cursor is not None:
                trades = await self._http.user_trades(symbol, from_id=cursor + 1, limit=_TRADES_PAGE)
            else:
                end = min(start + _TRADE_WINDOW_MS - 1, now)
                trades = await self._http.user_trades(
                    symbol, start_time=start, end_time=end, limit=_TRADES_PAGE
                )
            trades = sorted(trades, key=lambda t: t.id)
            for t in trades:
                try:
                    emitted += await self._apply_backfilled_trade(t)
                except WireValueError as exc:
                    # Logged and passed over: the rest of the symbol's trades still count.
                    self.rejected_trades += 1
                    self._log.error("trade %s of %s rejected: %s", t.id, symbol, exc)
                self._tracker.advance_cursor(symbol, t.id, t.time)
                cursor = t.id
            if len(trades) == _TRADES_PAGE or (not by_id and cursor is not None):
                continue  # more after the last id (by id from here on, whatever their time)
            if by_id or end >= now:
                return emitted
            start = end + 1  # an empty 7-day window: the next one

    async def _apply_backfilled_trade(self, t: UserTrade) -> int:
        order = self._tracker.by_venue(str(t.orderId))
        if order is not None:
            return 1 if self.apply_trade(order, t) else 0
        key = fill_key(t.symbol, t.id, _side(t.side))
        if self._tracker.is_seen(key):
            return 0
        # A trade of an order we do not track: the order, with all its trades bundled.
        o = await self._http.query_order(t.symbol, order_id=t.orderId)
        tracked = self._tracker.orders.get(o.clientOrderId)
        if tracked is None:
            tracked = self._handler.adopt(o.clientOrderId, str(o.orderId))
        if tracked is not None:
            self._tracker.set_venue_order_id(tracked, VenueOrderId(str(o.orderId)))
            return 1 if self.apply_trade(tracked, t) else 0
        return await self._report_external(o)


def _side(side: str) -> OrderSide:
    return OrderSide.BUY if side == "BUY" else OrderSide.SELL


def _venue_int(order: TrackedOrder) -> int | None:
    if order.venue_order_id is None:
        return None
    try:
        return int(order.venue_order_id.value)
    except ValueError:
        return None
