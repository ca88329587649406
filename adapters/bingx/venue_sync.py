"""Bring the engine in line with BingX's REST view: snapshot, gap backfill, poll, single-order resolution.

Used by the core recovery driver after every (re)connect and rotation, by the REST-poll failover
while the stream is down (:mod:`adapters.bingx.poll`), by the resolution of ambiguous command
outcomes, and when a terminal status or an execution without last-fill fields needs the order's
fills. Everything goes through :class:`~adapters.core.orders.order_facts.OrderFacts`, so whatever the
stream also reports (before, during or after, on either socket of an overlap) reaches the engine once.

Phases (see ``adapters.core.userstream.recovery``):

* ``snapshot`` — balance (an account state), positions (kept for inspection, see below) and open
  orders: tracked ones are confirmed, external ones reported.
* ``post_snapshot`` — (see :mod:`adapters.core.userstream.gap_sync`) tracked orders that are no longer open
are
  queried for their final state (their fills first); every open tracked order's executed quantity is
  compared with what the engine was told and a shortfall is fetched by order id; then every fill
  since each symbol's trade cursor is walked in ``fillHistory`` (trade ids, last-fill quantities).
  Nothing lost in the gap, nothing twice. These are the gaps the reference design leaves (it
  backfills balances and positions only).

BingX loses events on healthy sockets, so its stream never moves a trade cursor: only these REST
walks do (recovery, the REST poll and its periodic audit). ``fillHistory`` keeps 7 days: a walk
that would have to start earlier says, as an ERROR, which symbol and period can no longer be
verified.

Positions are queried but **not** sent to the engine as ``PositionStatusReport`` at runtime: in
NautilusTrader 1.221 a position report that disagrees with the cache (e.g. because a fill is still
queued in the engine) makes the engine *generate* an inferred fill, and the real fill would then
count twice. Positions follow from the fills; the REST view is kept in :attr:`last_positions` and
reported by the engine-driven reconciliation (``generate_position_status_reports``).
"""

from __future__ import annotations

import asyncio
from typing import Unpack

from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import VenueOrderId

from adapters.bingx.errors import BingxError, BingxRejection, is_unknown_symbol
from adapters.bingx.http import BingxHttpClient
from adapters.bingx.parsing import (
    balances_to_account_balances,
    commission_money,
    fill_history_to_fill_report,
    order_to_status_report,
    parse_fill_time_ns,
    parse_liquidity_side,
)
from adapters.bingx.schemas_rest import (
    FillHistoryItem,
    Order,
    Position,
)
from adapters.bingx.user_events import BingxUserStreamHandler, OrderIndex
from adapters.core.base.backoff import Backoff
from adapters.core.base.timestamps import NANOS_PER_MS, format_ms
from adapters.core.net.http_errors import FillsNotPublished
from adapters.core.orders.balance_clock import BalanceClock
from adapters.core.orders.order_tracking import FillKey, TrackedOrder, fill_key
from adapters.core.orders.reports import AccountStateSink
from adapters.core.parse.decimal_parse import parse_currency, parse_price, parse_quantity, to_decimal
from adapters.core.parse.wire_values import WireValueError, check_positive_id, strict_decimal
from adapters.core.userstream import gap_sync
from adapters.core.userstream.recovery import QueryResult, SnapshotOutcome
from adapters.core.userstream.sync_base import SyncArgs, VenueSyncBase

_FILLS_PAGE = 1000
_FILL_WINDOW_MS = 7 * 24 * 3600 * 1000 - 60_000  # fillHistory keeps 7 days; stay inside
_OPEN = frozenset({"NEW", "PENDING", "PARTIALLY_FILLED", "RUNNING"})


def is_permanent(exc: Exception) -> bool:
    """An error the venue will give for this request forever (a delisted or unknown symbol)."""
    return isinstance(exc, BingxRejection) and is_unknown_symbol(exc.code, exc.msg)


class BingxVenueSync(VenueSyncBase[BingxHttpClient, BingxUserStreamHandler, Order]):
    venue_error = BingxError
    fills_query = "fillHistory"
    _is_permanent = staticmethod(is_permanent)

    def __init__(
        self,
        *,
        index: OrderIndex,
        sink: AccountStateSink,  # what the sync emits besides order events (the exec client)
        balance_clock: BalanceClock | None = None,
        **common: Unpack[SyncArgs[BingxHttpClient, BingxUserStreamHandler]],
    ) -> None:
        super().__init__(**common)
        self._index = index
        self._sink = sink
        self._balance_clock = balance_clock or BalanceClock()
        # (_open_at_snapshot holds the cumulative executed quantity of the whole cancel-replace chain.)
        self.last_positions: list[Position] = []
        self.rejected_fills = 0  # REST fills with a value rejected at the boundary (logged)
        self.polls = 0

    # --- applying REST objects ---------------------------------------------------------------
    def apply_fill(self, order: TrackedOrder, item: FillHistoryItem) -> bool:
        """One ``fillHistory`` row of a tracked order (quantity = the fill's own ``qty``)."""
        trade_id = item.tradeId
        qty_s = item.qty or item.volume
        px_s = item.price
        if trade_id is not None:
            check_positive_id(trade_id, "tradeId")
        if trade_id is None or not qty_s or not px_s:
            self._log.warning("fill of order %s without trade id/qty/price skipped", item.orderId)
            return False
        info = self._instruments(item.symbol or order.symbol)
        qty = abs(strict_decimal(qty_s, "qty"))
        if qty == 0:
            raise WireValueError("qty", qty_s, "a fill quantity must be positive")
        ccy = parse_currency(item.commissionAsset) if item.commissionAsset else info.quote_currency
        ts = parse_fill_time_ns(item.filledTime, item.filledTm)
        if ts is None:
            raise WireValueError("filledTime", item.filledTime or item.filledTm, "no fill time")
        return self._facts.filled(
            order,
            trade_id,
            self._index.effective_venue_id(order, VenueOrderId(str(item.orderId))),
            self._position_id(info.instrument_id, (item.positionSide or "").upper() or None),
            parse_quantity(f"{qty:f}", info.size_precision, field="qty"),
            qty,
            parse_price(px_s, info.price_precision, field="price", positive=True),
            info.quote_currency,
            commission_money(item.commission, ccy),
            parse_liquidity_side(item.role),
            ts,
            source="rest",
        )

    def apply_order(self, order: TrackedOrder, o: Order) -> None:
        """The venue's state of the order's live link (fills are applied separately, before)."""
        voi = VenueOrderId(str(o.orderId))
        if self._index.is_retired(order, voi.value):
            return
        ts = (o.updateTime or o.time or 0) * NANOS_PER_MS or self._clock_ns()
        venue_filled = self._index.filled_before(order) + to_decimal(o.executedQty)
        status = (o.status or "").upper()
        if status in _OPEN:
            if order.accepted and order.venue_order_id is not None and order.venue_order_id != voi:
                self._facts.venue_id_changed(order, voi, ts)
            else:
                self._facts.accepted(order, voi, ts)
        elif status in ("CANCELED", "CANCELLED"):
            if (o.timeInForce or "").upper() in ("IOC", "FOK"):
                # REST has no EXPIRED: an IOC/FOK remainder the venue dropped is what the stream
                # calls EXPIRED (both paths must end the order the same way: mode parity).
                self._facts.expired(order, voi, venue_filled, ts)
            else:
                self._facts.canceled(order, voi, venue_filled, ts)
        elif status == "EXPIRED":
            self._facts.expired(order, voi, venue_filled, ts)
        elif status == "FAILED":
            self._facts.rejected(order, "FAILED on venue", ts)
        elif status == "FILLED":
            self._facts.accepted(order, voi, ts)
            if order.filled >= venue_filled:
                self._facts.fully_filled(order)
        else:
            self._log.warning("order %s has unknown venue status %r", o.client_order_id, o.status)

    # --- single-order resolution -------------------------------------------------------------
    async def query_live_link(self, order: TrackedOrder) -> Order | None:
        """The order's live venue link by its current client id; None when the venue does not
        know it. Raises on transport/ambiguous errors."""
        voi = order.venue_order_id.value if order.venue_order_id is not None else ""
        try:
            if order.external and voi.isdigit():
                return await self._http.query_order(order.symbol, order_id=int(voi))
            return await self._http.query_order(order.symbol, client_order_id=self._index.venue_cid(order))
        except BingxRejection as exc:
            if exc.is_unknown_order:
                return None
            raise

    async def resolve_order(self, order: TrackedOrder) -> bool:
        """Query the order's live link and its fills, apply them. False when the venue does not know
        it; raises on transport/ambiguous errors."""
        chain = self._index.chain(order)
        # Read before the query goes out: a replacement answered while the "not found" is on its
        # way back has cleared the flag, yet the venue was asked before it placed the replacement.
        replacing_when_asked = chain is not None and chain.replacing
        o = await self.query_live_link(order)
        if o is None:
            if replacing_when_asked or (chain is not None and chain.replacing):
                self._log.info("%s: its replacement is in flight; its answer decides", order.client_order_id)
                return True
            return False
        await self.sync_order(order, o)
        return True

    async def sync_order(self, order: TrackedOrder, o: Order) -> None:
        voi = VenueOrderId(str(o.orderId))
        if order.venue_order_id is None:
            self._tracker.set_venue_order_id(order, voi)
        venue_filled = self._index.filled_before(order) + to_decimal(o.executedQty)
        if not self._index.is_retired(order, voi.value):
            self._facts.note_venue_filled(order, venue_filled)
        if venue_filled > order.filled or order.resync:
            # Fills first: a final status applied before them would close the order early.
            await self.fetch_order_fills(order, o.orderId)
        self.apply_order(order, o)

    async def fetch_all_fills(self, order: TrackedOrder) -> int:
        """Every fill of every venue order the order has lived as (its cancel-replace links)."""
        ids = [v for v in dict.fromkeys(order.venue_ids) if v.isdigit()]
        if not ids and order.venue_order_id is not None and order.venue_order_id.value.isdigit():
            ids = [order.venue_order_id.value]
        return sum([await self.fetch_order_fills(order, int(v)) for v in ids])

    _fetch_missing_fills = fetch_all_fills

    async def fetch_order_fills(self, order: TrackedOrder | None, order_id: int, symbol: str = "") -> int:
        """Every fill of one venue order (tracked or external), by trade id."""
        sym = order.symbol if order is not None else symbol
        emitted = 0
        for item in await self._order_fill_rows(sym, order_id):
            emitted += await self._apply_or_reject(item, order)
        return emitted

    async def _order_fill_rows(self, symbol: str, order_id: int) -> list[FillHistoryItem]:
        """Every ``fillHistory`` row of one venue order, by trade id."""
        out: list[FillHistoryItem] = []
        page = 1
        while True:
            data = await self._http.fill_history(
                symbol, order_id=order_id, end_ts=self._http.now_ms(), page_index=page, page_size=_FILLS_PAGE
            )
            rows = sorted(data.fill_history_orders or [], key=_trade_key)
            out.extend(rows)
            if len(rows) < _FILLS_PAGE:
                return sorted(out, key=_trade_key)
            page += 1

    async def fetch_execution_fills(self, order: TrackedOrder | None, symbol: str, order_id: int) -> None:
        """The fills of an execution that arrived without last-fill fields, from fillHistory (never
        from the cumulative quantity); an external order is reported whole. Retried a few times,
        then left to recovery / the poll."""
        backoff = Backoff(0.25, 2.0, 5.0)
        for _ in range(8):
            try:
                if order is None:
                    await self.report_external_by_id(symbol, order_id)
                    return
                await self.fetch_order_fills(order, order_id, symbol)
                if order.terminal is None:
                    await self.resolve_order(order)
                return
            except (BingxError, FillsNotPublished) as exc:
                self._log.warning("fetching fills of order %s failed (%r); retrying", order_id, exc)
            await asyncio.sleep(backoff.next_delay())
        self._log.error("fills of order %s could not be fetched; left to recovery/poll", order_id)

    async def _query_order_by_id(self, symbol: str, order_id: int) -> Order:
        return await self._http.query_order(symbol, order_id=order_id)

    def _known_order(self, o: Order) -> TrackedOrder | None:
        return self._index.lookup(o.client_order_id, o.orderId) or self._handler.adopt(
            (o.client_order_id or "").lower(), str(o.orderId)
        )

    def _external_order(self, o: Order) -> gap_sync.ExternalOrder[FillHistoryItem]:
        info = self._instruments(o.symbol)
        pos_id = self._position_id(info.instrument_id, o.positionSide)

        def key_of(item: FillHistoryItem) -> FillKey:
            trade_id = item.tradeId
            if trade_id is None:
                raise WireValueError("tradeId", item.tradeId, "a fill without a trade id")
            check_positive_id(trade_id, "tradeId")
            return fill_key(item.symbol or o.symbol, trade_id, _side(item.side))

        return gap_sync.ExternalOrder(
            ident=o.orderId,
            executed=strict_decimal(o.executedQty or "0", "executedQty"),
            order_report=lambda: order_to_status_report(
                o,
                *info.report_head(self._account_id, self._clock_ns()),
                self._expired_as_canceled,
                pos_id,
            ),
            trades=lambda: self._order_fill_rows(o.symbol, o.orderId),
            key_of=key_of,
            quantity_of=lambda item: abs(strict_decimal(item.qty or item.volume, "qty")),
            fill_report=lambda item, ts_init: fill_history_to_fill_report(
                item,
                *info.report_head(self._account_id, ts_init),
                None,
                self._position_id(info.instrument_id, (item.positionSide or "").upper() or None),
                info.quote_currency.code,
            ),
        )

    # --- recovery phases (see VenueSyncBase.snapshot / post_snapshot) / poll ------------------
    async def _snapshot_account(self) -> list[QueryResult]:
        """Balance (an account state) and positions (kept for inspection)."""
        results: list[QueryResult] = []
        try:
            asked_ms = self._http.now_ms()
            # Stamped with the venue time the read was asked at (the REST balance carries none): a
            # stream update older than it, still queued on a socket being drained, must not revert it.
            balances = self._balance_clock.fresh(
                balances_to_account_balances(await self._http.balance()), asked_ms
            )
        except BingxError as exc:
            results.append(QueryResult("balance", False, error=repr(exc)))
        else:
            if balances:
                self._sink.generate_account_state(
                    balances=balances, margins=[], reported=True, ts_event=self._clock_ns()
                )
            results.append(QueryResult("balance", True, 1 if balances else 0))
        try:
            self.last_positions = [p for p in await self._http.positions() if to_decimal(p.positionAmt) != 0]
            self._venue_symbols.update(p.symbol for p in self.last_positions if p.symbol)
        except BingxError as exc:
            results.append(QueryResult("positions", False, error=repr(exc)))
        else:
            results.append(QueryResult("positions", True, 0))
        return results

    async def _snapshot_order(self, o: Order) -> int:
        order = self._index.lookup(o.client_order_id, o.orderId)
        if order is None:
            order = self._handler.adopt((o.client_order_id or "").lower(), str(o.orderId))
        if order is not None:
            venue_filled = self._index.filled_before(order) + to_decimal(o.executedQty)
            self._open_at_snapshot[order.client_order_id.value] = venue_filled
            if venue_filled <= order.filled:
                self.apply_order(order, o)
            # else: its missing fills are fetched by post_snapshot's quantity check first
            return 1
        return await self._report_external(o)

    async def _relist_open_orders(self) -> tuple[int, set[str]]:
        """The venue's open orders, listed again after the new stream connected (step 3b of
        :mod:`adapters.core.userstream.gap_sync`): external ones not reported yet are reported now. Returns
        that count and the client ids of the tracked orders listed."""
        reported = 0
        tracked_open: set[str] = set()
        for o in await self._http.open_orders():
            order = self._index.lookup(o.client_order_id, o.orderId)
            if order is None:
                order = self._handler.adopt((o.client_order_id or "").lower(), str(o.orderId))
                if order is None:
                    self._venue_symbols.add(o.symbol)
                    reported += await self._report_external(o)
                    continue
            tracked_open.add(order.client_order_id.value)
        return reported, tracked_open

    async def poll_once(self) -> SnapshotOutcome:
        """One REST poll (the failover while the stream is down): both phases."""
        self.polls += 1
        first = await self.snapshot()
        second = await self.post_snapshot()
        return SnapshotOutcome(first.queries + second.queries)

    async def backfill_symbol(self, symbol: str, cursor: int | None) -> int:
        """Every fill of ``symbol`` after ``cursor`` (None: since the session start), emitted once;
        the symbol's cursor advances over each fill processed."""
        emitted = 0
        now = self._http.now_ms()
        since = self._tracker.cursor_time_ms.get(symbol) if cursor is not None else self._since_ms()
        if since is not None and since < now - _FILL_WINDOW_MS:
            self._log.error(
                "fills of %s from %s to %s can no longer be verified: fillHistory keeps 7 days",
                symbol,
                format_ms(since),
                format_ms(now - _FILL_WINDOW_MS),
            )
        while True:
            now = self._http.now_ms()
            if cursor is not None:
                data = await self._http.fill_history(
                    symbol, end_ts=now, last_fill_id=cursor, page_size=_FILLS_PAGE
                )
            else:
                start = max(self._since_ms() - 1, now - _FILL_WINDOW_MS)
                data = await self._http.fill_history(
                    symbol, start_ts=start, end_ts=now, page_size=_FILLS_PAGE
                )
            rows = sorted(data.fill_history_orders or [], key=_trade_key)
            before = cursor
            for item in rows:
                emitted += await self._apply_or_reject(item, None)
                trade_id = item.tradeId
                if trade_id is not None:
                    self._tracker.advance_cursor(symbol, trade_id, _fill_ms(item))
                    cursor = trade_id if cursor is None else max(cursor, trade_id)
            if len(rows) < _FILLS_PAGE or cursor == before:
                return emitted

    async def _apply_or_reject(self, item: FillHistoryItem, order: TrackedOrder | None) -> int:
        """:meth:`_apply_backfilled`, a fill with a value rejected at the boundary logged (not
        believed, not raised: the other fills still count)."""
        try:
            return await self._apply_backfilled(item, order)
        except WireValueError as exc:
            self.rejected_fills += 1
            self._log.error("fill %s of order %s rejected: %s", item.tradeId, item.orderId, exc)
            return 0

    async def _apply_backfilled(self, item: FillHistoryItem, order: TrackedOrder | None) -> int:
        order = order or self._tracker.by_venue(str(item.orderId))
        if order is not None:
            return 1 if self.apply_fill(order, item) else 0
        trade_id = item.tradeId
        symbol = item.symbol
        if trade_id is None:
            return 0
        key = fill_key(symbol, trade_id, _side(item.side))
        if self._tracker.is_seen(key):
            return 0
        # A trade of an order we do not know by venue id: ask for the order (its client id).
        o = await self._http.query_order(symbol, order_id=item.orderId)
        tracked = self._index.lookup(o.client_order_id, None)
        if tracked is not None:
            if tracked.venue_order_id is None:
                self._tracker.set_venue_order_id(tracked, VenueOrderId(str(o.orderId)))
            else:
                self._tracker.link_venue_id(tracked, str(o.orderId))
            return 1 if self.apply_fill(tracked, item) else 0
        adopted = self._handler.adopt((o.client_order_id or "").lower(), str(o.orderId))
        if adopted is not None:
            return 1 if self.apply_fill(adopted, item) else 0
        # Not the engine's either: the order, with all its fills bundled.
        return await self._report_external(o)


def _side(side: str) -> OrderSide:
    return OrderSide.BUY if side.upper() == "BUY" else OrderSide.SELL


def _fill_ms(item: FillHistoryItem) -> int | None:
    ns = parse_fill_time_ns(item.filledTime, item.filledTm)
    return ns // NANOS_PER_MS if ns else None


def _trade_key(item: FillHistoryItem) -> int:
    tid = item.tradeId
    return tid if tid is not None else -1
