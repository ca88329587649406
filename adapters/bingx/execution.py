"""``BingxExecutionClient`` — the LiveExecutionClient for BingX USDT-M perpetual swaps.

Built on the same core as the Binance client (no second recovery implementation):

* ``OrderTracker`` + ``OrderFacts`` — every fact about our orders reaches the engine exactly once,
  from whichever source (stream, both sockets of an overlap rotation, REST responses, backfill, poll);
* ``UserStreamService`` — listenKey create / keepalive every 30 min / DELETE on close, recovery on
  ``listenKeyExpired``, failed keepalive or any socket incident, backoff doubling 1 s -> 30 s and
  reset on success, and **overlap rotation** (``RecoveryOptions(overlap=True)`` + ``rotate_every``):
  before the assumed connection-age limit a new key and socket are established and proven healthy
  before the old socket closes; events seen on both are de-duplicated by ``OrderFacts``;
* gap backfill on every (re)connect (:class:`~adapters.bingx.venue_sync.BingxVenueSync`): balance,
  positions, open orders, closed orders' final states, fills since the last trade id — emitted
  before the new socket's buffered events;
* REST-poll failover while the stream is down, or as the only path (``poll_only``):
  :class:`~adapters.bingx.poll.RestPollFailover`.

Commands never guess: a venue rejection becomes a Rejected event with the venue's code and message;
an ambiguous outcome (timeout, 5xx, busy codes, a duplicate client id after a lost response) emits
nothing final and is resolved by querying the order; an order is never re-sent blindly.

**Modify is cancel-replace** (:mod:`adapters.bingx.cancel_replace`): the live venue order is canceled
first, and a replacement for what the chain has not filled is placed under a new client id.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from nautilus_trader.execution.messages import GenerateFillReports, GenerateOrderStatusReport, ModifyOrder
from nautilus_trader.execution.reports import FillReport, OrderStatusReport
from nautilus_trader.model.identifiers import (
    VenueOrderId,
)
from nautilus_trader.model.objects import Price
from nautilus_trader.model.orders import Order as NautilusOrder

from adapters.bingx.cancel_replace import CancelReplace, OrderLocks, replacement_cid
from adapters.bingx.config import BingxExecClientConfig
from adapters.bingx.errors import BingxError, BingxRejection
from adapters.bingx.http import MAX_BATCH_CANCEL, BingxHttpClient
from adapters.bingx.parsing import (
    BINGX_VENUE,
    CONDITIONAL_TYPES,
    balances_to_account_balances,
    fill_history_to_fill_report,
    format_instrument_id,
    new_order_args,
    order_to_status_report,
    position_to_status_report,
    venue_symbol,
)
from adapters.bingx.poll import RestPollFailover
from adapters.bingx.providers import BingxInstrumentProvider
from adapters.bingx.schemas_rest import Order as VenueOrder
from adapters.bingx.schemas_rest import Position
from adapters.bingx.user_events import BingxUserStreamHandler, CacheByVenueCid, OrderIndex
from adapters.bingx.user_stream import BingxUserStreamOps, ping_reply
from adapters.bingx.venue_sync import BingxVenueSync
from adapters.core.client.perp_execution import ExecVenue, PerpExecutionClient, venue_order_int
from adapters.core.net.http_errors import VenueRejection
from adapters.core.orders.order_tracking import TrackedOrder
from adapters.core.orders.reconciliation import ms_or_none, open_and_history_orders, report_timeout
from adapters.core.parse.decimal_parse import to_decimal
from adapters.core.userstream.stream_setup import ws_config

_HISTORY_WINDOW_MS = 7 * 24 * 3600 * 1000 - 60_000
_FILL_PAGE = 1000


class BingxExecutionClient(PerpExecutionClient):
    venue_error = BingxError
    batch_cancel_max = MAX_BATCH_CANCEL
    conditional_types = CONDITIONAL_TYPES
    names = ExecVenue(
        venue=BINGX_VENUE,
        account_type_suffix="SWAP",
        logger_prefix="adapters.bingx",
        venue_symbol=venue_symbol,
        format_instrument_id=format_instrument_id,
        position_report=position_to_status_report,
    )

    _config: BingxExecClientConfig
    _http: BingxHttpClient
    _provider: BingxInstrumentProvider
    stream_handler: BingxUserStreamHandler
    sync: BingxVenueSync
    stream_ops: BingxUserStreamOps

    def _init_venue(self) -> None:
        config = self._config
        self.replacer = CancelReplace(
            http=self._http,
            index=self.index,
            sync=self.sync,
            place_args=self._order_params,
            apply_response=self._apply_response,
            resolve_cancel=self._resolve_cancel,
            logger=self._pylog,
            **self._command_args(),
        )
        self.poller: RestPollFailover | None = None
        if config.poll_only or config.poll_failover:
            self.poller = RestPollFailover(
                self.sync,
                started=self.startup.done,
                lock=self.user_stream.ctx.lock,
                stream_down=self.user_stream.is_down,
                interval=config.poll_interval_secs,
                always=config.poll_only,
                audit_every=config.audit_interval_secs,
                timeout=report_timeout(config.http_timeout_secs),
                name=f"{self.id.value}-poll",
                logger=self._pylog,
            )

    # ------------------------------------------------------------------------------------------
    # Wiring
    # ------------------------------------------------------------------------------------------
    def _init_order_state(self) -> None:
        # Commands on one order (modify, cancel) run one at a time: a cancel-replace must not
        # interleave with a cancel of the same order.
        self.order_locks = OrderLocks(self.tracker)
        self.cached_orders = CacheByVenueCid(self._cache)
        self._not_in_cache = self.cached_orders.not_in_cache
        self.index = OrderIndex(self.tracker)

    def _make_stream_handler(self) -> BingxUserStreamHandler:
        return BingxUserStreamHandler(
            **self._handler_args(),
            index=self.index,
            fetch_fills=self._fetch_fills_of,
            fee_rates=self._fee_rates,
        )

    def _make_sync(self) -> BingxVenueSync:
        return BingxVenueSync(
            **self._sync_args(), index=self.index, sink=self, balance_clock=self.stream_handler.balance_clock
        )

    def _make_stream_ops(self) -> BingxUserStreamOps:
        ws = ws_config(self._config, server_ping_reply=ping_reply)
        return BingxUserStreamOps(**self._stream_ops_args(self._config.urls().ws, ws))

    def _stream_options(self) -> dict[str, Any]:
        return {
            "rotate_every": self._config.rotate_after_secs,
            "overlap": self._config.overlap_rotation,
            "healthy_timeout": self._config.healthy_timeout_secs,
        }

    def _streams_user_events(self) -> bool:
        return not self._config.poll_only

    # ------------------------------------------------------------------------------------------
    # Lifecycle
    # ------------------------------------------------------------------------------------------
    async def _check_position_mode(self) -> None:
        if self._config.dual_side_position is None:
            venue_hedge = await self._http.position_side_dual()
            if venue_hedge:
                raise RuntimeError(
                    "position mode mismatch: the BingX account is in hedge mode; "
                    "set dual_side_position=True (HEDGING OMS)"
                )
            self._hedge = venue_hedge

    async def _after_connect(self) -> None:
        if self.poller is not None:
            self.poller.start()

    async def _stop_venue_io(self) -> None:
        self.startup.close()
        if self.poller is not None:
            await self.poller.stop()

    async def _update_account_state(self, *, reread: bool = False) -> None:
        asked_ms = self._http.now_ms()
        balances = balances_to_account_balances(await self._http.balance())
        self._publish_account(balances, [], asked_ms, reread=reread)

    # ------------------------------------------------------------------------------------------
    # Lookups
    # ------------------------------------------------------------------------------------------
    def _fee_rates(self, symbol: str) -> tuple[Decimal, Decimal] | None:
        instrument = self._provider.find_by_symbol(symbol)
        if instrument is None:
            return None
        return Decimal(instrument.maker_fee), Decimal(instrument.taker_fee)

    def _echoed_client_id(self, client_order_id: str) -> str:
        return client_order_id.lower()

    def _register(self, tracked: TrackedOrder) -> TrackedOrder:
        return self.index.register(tracked)

    def _cached_by_client_id(self, client_order_id: str) -> NautilusOrder | None:
        """The venue echoes client ids lowercased: the cache's order they came from."""
        return self.cached_orders.find(client_order_id)

    def _lock_for(self, order: TrackedOrder) -> asyncio.Lock:
        return self.order_locks.for_order(order)

    # --- fills the stream could not give ---------------------------------------------------------
    async def _repair_order(self, order: TrackedOrder) -> None:
        """The repair of one order: its live link's state and fills; every link's fills when some
        are still missing (a retired link's fill lost in a gap)."""
        await self.sync.resolve_order(order)
        if order.needs_repair:
            await self.sync.fetch_all_fills(order)

    def _fetch_fills_of(self, order: TrackedOrder | None, symbol: str, order_id: int) -> None:
        """An execution arrived without last-fill fields: take its fills from fillHistory (never
        from the cumulative quantity)."""
        self._side_tasks.spawn(self.sync.fetch_execution_fills(order, symbol, order_id), f"fills-{order_id}")

    # ------------------------------------------------------------------------------------------
    # Submit
    # ------------------------------------------------------------------------------------------
    async def _place(
        self, order: NautilusOrder, tracked: TrackedOrder, params: dict[str, Any] | None
    ) -> None:
        try:
            kwargs = self._order_params(order, params, cid=order.client_order_id.value)
        except ValueError as exc:
            self.facts.rejected(tracked, f"unsupported by BingX: {exc}", self._clock.timestamp_ns())
            return
        placed = await self._http.place_order(**kwargs)
        self.facts.accepted(tracked, VenueOrderId(str(placed.orderId)), self._clock.timestamp_ns())
        self._apply_response(tracked, placed)

    def _submit_rejected(self, tracked: TrackedOrder, exc: VenueRejection) -> None:
        if isinstance(exc, BingxRejection) and exc.is_duplicate_client_order_id:
            # The venue already has it: a lost response to an earlier identical request.
            self._spawn_resolve_submit(tracked, f"{exc.code}: {exc.msg}")
            return
        super()._submit_rejected(tracked, exc)

    def _apply_response(self, tracked: TrackedOrder, placed: VenueOrder) -> None:
        """A place response may already say FILLED/CANCELLED (MARKET, IOC, FOK): fetch its fills
        unless the stream delivers them first (the held-terminal mechanism does exactly that)."""
        status = (placed.status or "").upper()
        if (
            status in ("FILLED", "CANCELLED", "CANCELED", "EXPIRED")
            and to_decimal(placed.executedQty) > tracked.filled
        ):
            self._fetch_fills_of(tracked, tracked.symbol, placed.orderId)

    def _order_params(
        self,
        order: NautilusOrder,
        params: dict[str, Any] | None,
        *,
        cid: str,
        quantity: Decimal | None = None,
        price: Price | None = None,
        trigger_price: Price | None = None,
    ) -> dict[str, Any]:
        return new_order_args(
            order,
            params,
            cid=cid,
            hedge=self._hedge,
            use_reduce_only=self._config.use_reduce_only,
            quantity=quantity,
            price=price,
            trigger_price=trigger_price,
        )

    # ------------------------------------------------------------------------------------------
    # Cancel
    # ------------------------------------------------------------------------------------------
    async def _send_cancel(self, tracked: TrackedOrder) -> None:
        if tracked.terminal is not None:
            return
        canceled = await self._http.cancel_order(
            tracked.symbol, client_order_id=self.index.venue_cid(tracked)
        )
        self._apply_canceled(tracked, canceled)

    def _cancel_refused_as_gone(self, exc: VenueRejection) -> bool:
        return exc.is_unknown_order or (isinstance(exc, BingxRejection) and exc.is_already_filled)

    def _apply_canceled(self, tracked: TrackedOrder, canceled: VenueOrder) -> None:
        self.facts.canceled(
            tracked,
            VenueOrderId(str(canceled.orderId)),
            self.index.filled_before(tracked) + to_decimal(canceled.executedQty),
            self._clock.timestamp_ns(),
        )

    def _rejected_venue_id(
        self, tracked: TrackedOrder, venue_order_id: VenueOrderId | None
    ) -> VenueOrderId | None:
        # The id the engine knows the order by (a replacement's link id follows it).
        return tracked.engine_venue_order_id or tracked.venue_order_id

    async def _cancel_on_venue(self, order: TrackedOrder, venue_order_id: VenueOrderId) -> None:
        await self._http.cancel_order(order.symbol, order_id=venue_order_int(venue_order_id))

    async def _cancel_all_on_venue(self, symbol: str) -> None:
        try:
            result = await self._http.cancel_all_open_orders(symbol)
        except BingxError as exc:
            self._pylog.error(
                "cancel-all for %s failed: %r (final states follow from the stream/poll)", symbol, exc
            )
            return
        for o in result.success or []:
            tracked = self.index.lookup(o.client_order_id, o.orderId)
            if tracked is not None:
                self._apply_canceled(tracked, o)

    async def _cancel_outside_batch(self, tracked: TrackedOrder, venue_order_id: VenueOrderId | None) -> bool:
        return tracked.terminal is not None  # nothing left to cancel

    async def _batch_cancel_chunk(self, symbol: str, orders: list[TrackedOrder]) -> None:
        by_cid = {self.index.venue_cid(o): o for o in orders}
        try:
            result = await self._http.cancel_batch_orders(symbol, client_order_ids=list(by_cid))
        except BingxError as exc:
            await self._cancel_each(symbol, orders, exc)
            return
        for o in result.success or []:
            done = self.index.lookup(o.client_order_id, o.orderId)
            if done is not None:
                self._apply_canceled(done, o)
        for failed in result.failed or []:
            refused = self.index.lookup(failed.clientOrderId, failed.orderId)
            if refused is not None:
                self._resolve_cancel_later(refused, f"{failed.errorCode}: {failed.errorMessage}")

    # ------------------------------------------------------------------------------------------
    # Modify: cancel-replace (adapters.bingx.cancel_replace)
    # ------------------------------------------------------------------------------------------
    async def _modify(self, order: NautilusOrder, tracked: TrackedOrder, command: ModifyOrder) -> None:
        await self.replacer.cancel_replace(order, tracked, command)  # under the order's lock

    # ------------------------------------------------------------------------------------------
    # Reconciliation reports
    # ------------------------------------------------------------------------------------------
    def _restore_client_id(self, report: OrderStatusReport) -> OrderStatusReport:
        """The venue lowercases client ids (and a replaced order lives under an alias): give the
        report the id the engine knows, or it would adopt our own order as an external one."""
        cid = report.client_order_id
        if cid is None:
            tracked = self.tracker.by_venue(report.venue_order_id.value)
        else:
            tracked = self.index.lookup(cid.value, None) or self._adopt(cid.value.lower())
        if tracked is not None:
            report.client_order_id = tracked.client_order_id
        return report

    def _order_report(self, o: VenueOrder, ts_init: int) -> OrderStatusReport:
        info = self._instrument_info(o.symbol)
        report = order_to_status_report(
            o,
            *info.report_head(self.account_id, ts_init),
            self._config.treat_expired_as_canceled,
            self._venue_position_id(info.instrument_id, o.positionSide),
        )
        return self._restore_client_id(report)

    async def _order_status_report(
        self, command: GenerateOrderStatusReport, tracked: TrackedOrder | None
    ) -> OrderStatusReport | None:
        symbol = venue_symbol(command.instrument_id)
        cid = self.index.venue_cid(tracked) if tracked is not None else None
        if cid is None and command.client_order_id is not None:
            cid = command.client_order_id.value.lower()
        oid = None if cid else venue_order_int(command.venue_order_id)
        o = await self._read(
            "order query", lambda: self._http.query_order(symbol, order_id=oid, client_order_id=cid)
        )
        try:
            return self._order_report(o, self._clock.timestamp_ns())
        except ValueError as exc:
            self._pylog.warning("order %s not reportable: %s", o.orderId, exc)
            return None

    async def _report_orders(
        self, symbol: str | None, open_only: bool, start: int | None, end: int | None
    ) -> list[VenueOrder]:
        orders = await self._read("open orders query", lambda: self._http.open_orders(symbol))
        return await open_and_history_orders(
            orders,
            open_only=open_only,
            symbols=lambda: self._history_symbols(symbol),
            history=lambda sym: self._read(
                "order history query",
                lambda: self._http.all_orders(sym, start_time=start, end_time=end, limit=1000),
            ),
            order_id=lambda o: o.orderId,
        )

    def _describe_order(self, o: VenueOrder) -> str:
        qty, filled = o.origQty, o.executedQty
        return f"order {o.orderId} ({o.client_order_id or '-'}: {o.side} {qty}, {filled} filled, {o.status})"

    def _fill_window(self, command: GenerateFillReports) -> tuple[int | None, int | None]:
        # fillHistory reaches back 7 days at most.
        now = self._http.now_ms()
        return max(ms_or_none(command.start) or 0, now - _HISTORY_WINDOW_MS), now

    async def _fill_reports(
        self, symbol: str, order_id: int | None, start: int | None, end: int | None, ts_init: int
    ) -> list[FillReport]:
        assert end is not None  # _fill_window bounds it
        info = self._instrument_info(symbol)
        reports: list[FillReport] = []
        page = 1
        while True:
            data = await self._read(
                "fill history query",
                lambda page=page: self._http.fill_history(  # type: ignore[misc]
                    symbol,
                    order_id=order_id,
                    start_ts=start,
                    end_ts=end,
                    page_index=page,
                    page_size=_FILL_PAGE,
                ),
            )
            rows = data.fill_history_orders or []
            reports += [
                fill_history_to_fill_report(
                    t,
                    *info.report_head(self.account_id, ts_init),
                    None,
                    self._venue_position_id(info.instrument_id, (t.positionSide or "").upper()),
                    info.quote_currency.code,
                )
                for t in rows
                if t.tradeId is not None
            ]
            if len(rows) < _FILL_PAGE:
                return reports
            page += 1

    async def _positions(self, symbol: str | None) -> list[Position]:
        return await self._http.positions(symbol)

    def _position_amount(self, position: Position) -> Decimal:
        return to_decimal(position.positionAmt)


# Kept importable from here (the names this module had).
_alias = replacement_cid


def _venue_int(venue_order_id: VenueOrderId | None) -> int | None:
    return venue_order_int(venue_order_id)
