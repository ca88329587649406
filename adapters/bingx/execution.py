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

**Modify is cancel-replace** (BingX's cancelReplace is not atomic either, and it cannot keep the
client id, which must be unique): the live venue order is canceled *first*; the cancel response's
``executedQty`` is the final filled quantity of that venue order (no fill can happen after it), and
the replacement is placed for ``new quantity - everything the chain filled`` under a new client id
``<cid>-r<n>``. So a fill that happened before the cancel (even one the node has not heard of yet)
is never placed again. If the cancel finds the order filled or gone, nothing is placed and the
modify is rejected; if nothing remains to place, the order ends CANCELED; if the replacement is
rejected, the order ends CANCELED with the modify rejected. The chain (which venue orders belong to
the NautilusTrader order) lives in :class:`~adapters.bingx.user_events.OrderIndex`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.execution.messages import (
    BatchCancelOrders,
    CancelAllOrders,
    CancelOrder,
    GenerateFillReports,
    GenerateOrderStatusReport,
    GenerateOrderStatusReports,
    GeneratePositionStatusReports,
    ModifyOrder,
    QueryAccount,
    QueryOrder,
    SubmitOrder,
    SubmitOrderList,
)
from nautilus_trader.execution.reports import (
    ExecutionMassStatus,
    FillReport,
    OrderStatusReport,
    PositionStatusReport,
)
from nautilus_trader.live.execution_client import LiveExecutionClient
from nautilus_trader.model.enums import (
    AccountType,
    OmsType,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
)
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientId,
    ClientOrderId,
    InstrumentId,
    PositionId,
    VenueOrderId,
)
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import Order as NautilusOrder

from adapters.bingx.config import BingxExecClientConfig
from adapters.bingx.errors import BingxAmbiguous, BingxError, BingxRejection, BingxTransportError
from adapters.bingx.http import MAX_BATCH_CANCEL, MAX_CLIENT_ORDER_ID_LEN, BingxHttpClient
from adapters.bingx.parsing import (
    BINGX_VENUE,
    balances_to_account_balances,
    fill_history_to_fill_report,
    format_instrument_id,
    make_position_id,
    order_to_status_report,
    position_to_status_report,
    to_bingx_order_type,
    to_bingx_position_side,
    to_bingx_time_in_force,
    to_bingx_working_type,
    venue_symbol,
)
from adapters.bingx.poll import RestPollFailover
from adapters.bingx.providers import BingxInstrumentProvider
from adapters.bingx.schemas import Order as VenueOrder
from adapters.bingx.schemas import Position, num, to_int
from adapters.bingx.user_events import BingxUserStreamHandler, OrderIndex
from adapters.bingx.user_stream import BingxUserStreamOps, ping_reply
from adapters.bingx.venue_sync import BingxVenueSync
from adapters.core.base import log_bridge
from adapters.core.base.backoff import Backoff
from adapters.core.base.dedup import FifoDedup
from adapters.core.base.tasks import OwnedTasks
from adapters.core.client.exec_client import (
    InstrumentInfo,
    InstrumentInfoCache,
    adopt_cache_orders,
    append_or_skip,
    cached_order_by_venue_id,
    consistent_mass_status,
    history_symbols,
    is_managed,
    load_instruments,
    ms_or_none,
    open_and_history_orders,
    position_status_reports,
    reject_not_found,
    report_timeout,
    track_cached,
    tracked_for_submit,
    tracked_from_cache,
    user_stream_service,
    walk_symbols,
    ws_config,
)
from adapters.core.net.http_errors import FillsNotPublished
from adapters.core.net.read_retry import read_with_retry
from adapters.core.orders.balance_clock import AccountReread
from adapters.core.orders.order_facts import OrderFacts
from adapters.core.orders.order_tracking import OrderTracker, TrackedOrder
from adapters.core.orders.position_repair import repair_positions
from adapters.core.orders.resolution import ACCEPT_MARGIN_SECS, AmbiguityResolver, FillRepairs
from adapters.core.parse.decimal_parse import to_decimal
from adapters.core.parse.precision import PrecisionResolver
from adapters.core.userstream.startup import StartupRelease

_CONDITIONAL = frozenset(
    {
        OrderType.STOP_MARKET,
        OrderType.STOP_LIMIT,
        OrderType.MARKET_IF_TOUCHED,
        OrderType.LIMIT_IF_TOUCHED,
        OrderType.TRAILING_STOP_MARKET,
    }
)
_SIDE = {OrderSide.BUY: "BUY", OrderSide.SELL: "SELL"}
_HISTORY_WINDOW_MS = 7 * 24 * 3600 * 1000 - 60_000
T = TypeVar("T")


class BingxExecutionClient(LiveExecutionClient):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client_id: ClientId,
        config: BingxExecClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: BingxInstrumentProvider,
        http: BingxHttpClient,
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=client_id,
            venue=BINGX_VENUE,
            oms_type=OmsType.HEDGING if config.dual_side_position else OmsType.NETTING,
            account_type=AccountType.MARGIN,
            base_currency=None,
            instrument_provider=instrument_provider,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=config,
        )
        self._config = config
        self._hedge = bool(config.dual_side_position)
        self._set_account_id(AccountId(f"{client_id.value}-SWAP"))
        self._provider = instrument_provider
        self._http = http
        log_bridge.install()
        self._pylog = logging.getLogger(f"adapters.bingx.{client_id.value}")
        self._started_ms = 0
        self._precision = PrecisionResolver(
            lookup=self._provider.find_by_symbol, formatter=format_instrument_id, logger=self._pylog
        )
        self._infos = InstrumentInfoCache(self._precision, self._provider.find_by_symbol, InstrumentInfo)
        self._instrument_infos = self._infos.infos
        self._side_tasks = OwnedTasks(f"{client_id.value}-exec", self._pylog)
        self._order_locks: dict[str, asyncio.Lock] = {}
        # Client ids the cache does not know (external orders): remembered so each frame of theirs
        # does not rescan the cache, bounded so that thousands of external orders cannot grow it.
        self._not_in_cache: FifoDedup[str] = FifoDedup(10_000)

        self.tracker = OrderTracker(retention=config.closed_order_retention_secs)
        # A forgotten order's per-order lock goes with it (memory stays flat over long runs).
        self.tracker.on_forget.append(self._forget_order)
        self.index = OrderIndex(self.tracker)
        # One repair task per order whose venue state is ahead of the engine's (missing fills, a
        # terminal held for them, an overfill to reconcile): its state and fills fetched by id.
        self.repairs = FillRepairs(
            self._resolve_with_fills, tasks=self._side_tasks, errors=BingxError, logger=self._pylog
        )
        self.facts = OrderFacts(
            self.tracker,
            self,
            treat_expired_as_canceled=config.treat_expired_as_canceled,
            request_fills=self.repairs.request,
            engine_status=self._engine_status,
            on_live_after_rejected=self._cancel_zombie,
            logger=self._pylog,
        )
        # Ambiguous submits and cancels are resolved by querying the order's live link; a submit
        # stays unresolved while the venue may still accept it (its recvWindow).
        self._resolver = AmbiguityResolver(
            facts=self.facts,
            clock_ns=self._clock.timestamp_ns,
            query=lambda tracked: self.sync.resolve_order(tracked),
            errors=BingxError,
            cancel_rejected=self._cancel_rejected,
            accept_window_secs=config.recv_window_ms / 1000 + ACCEPT_MARGIN_SECS,
        )
        self.resolutions: collections.Counter[str] = self._resolver.resolutions
        self.stream_handler = BingxUserStreamHandler(
            facts=self.facts,
            index=self.index,
            sink=self,
            client_id=client_id,
            account_id=self.account_id,
            instruments=self._instrument_info,
            adopt=self._adopt,
            position_id=self._venue_position_id,
            clock_ns=self._clock.timestamp_ns,
            on_listen_key_expired=self._on_listen_key_expired,
            fetch_fills=self._fetch_fills_of,
            treat_expired_as_canceled=config.treat_expired_as_canceled,
            fee_rates=self._fee_rates,
            logger=self._pylog,
        )
        # A stream balance update declined as older than a REST read: read the account again (the
        # read's stamp can run ahead of the venue's clock; adapters.core.orders.balance_clock).
        self.account_reread = AccountReread(
            lambda: self._update_account_state(reread=True), self._side_tasks.spawn
        )
        self.stream_handler.balance_clock.on_stale = self.account_reread
        self.position_repairs = 0  # fills re-applied to positions at connect (position_repair)
        self.sync = BingxVenueSync(
            http=http,
            facts=self.facts,
            index=self.index,
            handler=self.stream_handler,
            sink=self,
            account_id=self.account_id,
            instruments=self._instrument_info,
            position_id=self._venue_position_id,
            clock_ns=self._clock.timestamp_ns,
            treat_expired_as_canceled=config.treat_expired_as_canceled,
            since_ms=lambda: self._started_ms,
            walk_symbols=lambda: walk_symbols(
                cache=self._cache,
                venue=BINGX_VENUE,
                venue_symbol=venue_symbol,
                loaded=self._provider.instruments_by_symbol,
                max_symbols=config.reconciliation_max_symbols,
            ),
            logger=self._pylog,
            balance_clock=self.stream_handler.balance_clock,
        )
        self.stream_ops = BingxUserStreamOps(
            http=http,
            sync=self.sync,
            handler=self.stream_handler,
            ws_base_url=config.urls().ws,
            ws_config=ws_config(config, server_ping_reply=ping_reply),
            session=None,
            logger=self._pylog,
        )
        self.user_stream = user_stream_service(
            self.stream_ops,
            config,
            name=f"{client_id.value}-user-stream",
            logger=self._pylog,
            rotate_every=config.rotate_after_secs,
            overlap=config.overlap_rotation,
            healthy_timeout=config.healthy_timeout_secs,
        )
        self.startup = StartupRelease(
            msgbus=msgbus,
            trader_id=self.trader_id.value,
            user_stream=None if config.poll_only else self.user_stream,
            adopt_open_orders=self._adopt_open_orders,
            resolve_in_flight=self._resolve_in_flight,
            tasks=self._side_tasks,
            timeout_secs=config.startup_hold_timeout_secs,
            logger=self._pylog,
        )
        self.poller: RestPollFailover | None = None
        if config.poll_only or config.poll_failover:
            self.poller = RestPollFailover(
                self.sync,
                started=self.startup.done,
                lock=self.user_stream.ctx.lock,
                stream_down=self._stream_down,
                interval=config.poll_interval_secs,
                always=config.poll_only,
                audit_every=config.audit_interval_secs,
                timeout=report_timeout(config.http_timeout_secs),
                name=f"{client_id.value}-poll",
                logger=self._pylog,
            )

    # ------------------------------------------------------------------------------------------
    # Lifecycle
    # ------------------------------------------------------------------------------------------
    async def _connect(self) -> None:
        self._started_ms = self._clock.timestamp_ms()
        await self._http.sync_time()
        await load_instruments(self._provider, self._cache)
        # Before NautilusTrader reconciles the cache restored from Redis: a position that lacks a
        # fill its order holds (the Redis write gap of an unclean stop) would be "corrected" with an
        # inferred INTERNAL-DIFF fill (adapters.core.orders.position_repair).
        self.position_repairs += len(repair_positions(self._cache, self.venue, self.oms_type, self._pylog))

        if self._config.dual_side_position is None:
            venue_hedge = await self._http.position_side_dual()
            if venue_hedge:
                raise RuntimeError(
                    "position mode mismatch: the BingX account is in hedge mode; "
                    "set dual_side_position=True (HEDGING OMS)"
                )
            self._hedge = venue_hedge

        await self._update_account_state()
        await self._await_account_registered(timeout_secs=self._config.http_timeout_secs * 3)
        if not self._config.poll_only:
            # Connected but held until NautilusTrader's startup reconciliation has been applied
            # (see adapters.core.userstream.startup): events queue meanwhile, none is lost or applied early.
            await self.user_stream.start(hold=True)
            self._log.info(
                f"User stream connected (listen key ...{(self.user_stream.ctx.listen_key or '')[-6:]}); "
                "held until startup reconciliation completes"
            )
        self.startup.arm()
        if self.poller is not None:
            self.poller.start()

    async def _disconnect(self) -> None:
        self.startup.close()
        if self.poller is not None:
            await self.poller.stop()
        if not self._config.poll_only:
            await self.user_stream.stop()
        await self._side_tasks.close()
        await self._http.close()

    async def _update_account_state(self, *, reread: bool = False) -> None:
        asked_ms = self._http.now_ms()
        balances = self.stream_handler.balance_clock.fresh(
            balances_to_account_balances(await self._http.balance()), asked_ms, authoritative=reread
        )
        if not balances:
            return
        self.generate_account_state(
            balances=balances, margins=[], reported=True, ts_event=self._clock.timestamp_ns()
        )

    def _stream_down(self) -> bool:
        """For the poll failover: no dispatching stream, or recovery is failing."""
        ctx = self.user_stream.ctx
        dispatcher = ctx.dispatcher
        return dispatcher is None or not dispatcher.running or ctx.metrics.last_error is not None

    # ------------------------------------------------------------------------------------------
    # Lookups used by the hot path
    # ------------------------------------------------------------------------------------------
    def _instrument_info(self, symbol: str) -> InstrumentInfo:
        return self._infos.get(symbol)

    def _fee_rates(self, symbol: str) -> tuple[Decimal, Decimal] | None:
        instrument = self._provider.find_by_symbol(symbol)
        if instrument is None:
            return None
        return Decimal(instrument.maker_fee), Decimal(instrument.taker_fee)

    def _venue_position_id(self, instrument_id: InstrumentId, position_side: str | None) -> PositionId | None:
        if not self._hedge or not self._config.use_position_ids or position_side not in ("LONG", "SHORT"):
            return None
        return make_position_id(instrument_id, position_side)

    def _adopt(self, venue_cid: str, venue_order_id: str | None = None) -> TrackedOrder | None:
        """An order the engine's cache holds and the tracker does not know (submitted before a
        restart, or an external order the engine adopted from our report — found by its venue id
        whatever client id it got): tracked from now on (the venue echoes client ids lowercased)."""
        order = self._cached_by_client_id(venue_cid)
        by_venue_id = order is None
        if order is None:
            order = cached_order_by_venue_id(self._cache, BINGX_VENUE, venue_order_id)
            if order is None:
                return None
        known = self.tracker.get(order.client_order_id.value)
        if known is not None:
            return known
        tracked = track_cached(
            order,
            register=self.index.register,
            to_tracked=self._tracked_from_cache,
            seen=self.tracker.mark_seen,
        )
        tracked.external = by_venue_id
        return tracked

    def _cached_by_client_id(self, venue_cid: str) -> NautilusOrder | None:
        if not venue_cid:
            return None
        # NautilusTrader's own ids ("O-20250101-...") come back lowercased: upper() restores them,
        # so the common case is a dictionary lookup, not a scan of every cached order.
        printable = venue_cid.isascii() and venue_cid.isprintable()
        for guess in (venue_cid.upper(), venue_cid) if printable else ():
            order = self._cache.order(ClientOrderId(guess))
            if order is not None and order.instrument_id.venue == BINGX_VENUE:
                return order
        if venue_cid in self._not_in_cache:
            return None  # the scan below found nothing before (the direct lookups above still run)
        for order in self._cache.orders(venue=BINGX_VENUE):
            if order.client_order_id.value.lower() == venue_cid:
                return order
        self._not_in_cache.add(venue_cid)
        return None

    def _tracked_from_cache(self, order: NautilusOrder) -> TrackedOrder:
        return tracked_from_cache(
            order, symbol=venue_symbol(order.instrument_id), is_algo=order.order_type in _CONDITIONAL
        )

    def _tracked_for(self, client_order_id: str) -> TrackedOrder | None:
        return self.tracker.get(client_order_id) or self._adopt(client_order_id.lower())

    def _lock_for(self, order: TrackedOrder) -> asyncio.Lock:
        """Commands on one order (modify, cancel) run one at a time: a cancel-replace must not
        interleave with a cancel of the same order."""
        key = order.client_order_id.value
        lock = self._order_locks.get(key)
        if lock is None:
            lock = self._order_locks[key] = asyncio.Lock()
        return lock

    def _on_listen_key_expired(self, reason: str) -> None:
        self.user_stream.trigger.fire(reason)

    def _adopt_open_orders(self) -> list[TrackedOrder]:
        return adopt_cache_orders(
            self._cache,
            BINGX_VENUE,
            known=self.tracker.get,
            register=self.index.register,
            to_tracked=self._tracked_from_cache,
            seen=self.tracker.mark_seen,
        )

    def _resolve_in_flight(self, tracked: TrackedOrder) -> None:
        self._spawn_resolve_submit(tracked, "in flight when the previous process stopped")

    async def generate_mass_status(self, lookback_mins: int | None = None) -> ExecutionMassStatus | None:
        """NautilusTrader's startup reports, taken so that they agree (see
        :func:`adapters.core.client.exec_client.consistent_mass_status`)."""
        self.reconciliation_active = True
        try:
            return await consistent_mass_status(self, lookback_mins, logger=self._pylog)
        except Exception as exc:
            self._log.error(f"Cannot reconcile execution state: {exc!r}")
            return None
        finally:
            self.reconciliation_active = False

    def _forget_order(self, order: TrackedOrder) -> None:
        self._order_locks.pop(order.client_order_id.value, None)

    def _engine_status(self, client_order_id: ClientOrderId) -> OrderStatus | None:
        order = self._cache.order(client_order_id)
        return order.status if order is not None else None

    def _cancel_zombie(self, order: TrackedOrder, venue_order_id: VenueOrderId) -> None:
        """The venue has an order live that this node declared rejected: cancel it there."""
        self._side_tasks.spawn(
            self._cancel_zombie_task(order, venue_order_id),
            f"zombie-{order.client_order_id.value}-{venue_order_id.value}",
        )

    async def _cancel_zombie_task(self, order: TrackedOrder, venue_order_id: VenueOrderId) -> None:
        voi = _venue_int(venue_order_id)
        try:
            await self._http.cancel_order(order.symbol, order_id=voi)
        except BingxError as exc:
            self._pylog.error("canceling %s on the venue failed: %r", order.client_order_id, exc)

    # --- fills the stream could not give ---------------------------------------------------------
    async def _resolve_with_fills(self, order: TrackedOrder) -> None:
        """The repair of one order: its live link's state and fills; every link's fills when some
        are still missing (a retired link's fill lost in a gap)."""
        await self.sync.resolve_order(order)
        if order.needs_repair:
            await self.sync.fetch_all_fills(order)

    def _fetch_fills_of(self, order: TrackedOrder | None, symbol: str, order_id: int) -> None:
        """An execution arrived without last-fill fields: take its fills from fillHistory (never
        from the cumulative quantity)."""
        self._side_tasks.spawn(self._fetch_fills_task(order, symbol, order_id), f"fills-{order_id}")

    async def _fetch_fills_task(self, order: TrackedOrder | None, symbol: str, order_id: int) -> None:
        backoff = Backoff(0.25, 2.0, 5.0)
        for _ in range(8):
            try:
                if order is None:
                    await self.sync.report_external_by_id(symbol, order_id)
                    return
                await self.sync.fetch_order_fills(order, order_id, symbol)
                if order.terminal is None:
                    await self.sync.resolve_order(order)
                return
            except (BingxError, FillsNotPublished) as exc:
                self._pylog.warning("fetching fills of order %s failed (%r); retrying", order_id, exc)
            await asyncio.sleep(backoff.next_delay())
        self._pylog.error("fills of order %s could not be fetched; left to recovery/poll", order_id)

    # ------------------------------------------------------------------------------------------
    # Submit
    # ------------------------------------------------------------------------------------------
    async def _submit_order(self, command: SubmitOrder) -> None:
        await self._submit(command.order, command.params)

    async def _submit_order_list(self, command: SubmitOrderList) -> None:
        # One by one: a batchOrders response mixes orders and per-item errors, and its orders are
        # processed concurrently by the venue anyway.
        for order in command.order_list.orders:
            await self._submit(order, command.params)

    async def _submit(self, order: NautilusOrder, params: dict[str, Any] | None) -> None:
        if order.is_closed:
            return
        tracked = self.index.register(
            tracked_for_submit(
                order, symbol=venue_symbol(order.instrument_id), is_algo=order.order_type in _CONDITIONAL
            )
        )
        self.generate_order_submitted(
            order.strategy_id, order.instrument_id, order.client_order_id, self._clock.timestamp_ns()
        )
        try:
            kwargs = self._order_params(order, params, cid=order.client_order_id.value)
        except ValueError as exc:
            self.facts.rejected(tracked, f"unsupported by BingX: {exc}", self._clock.timestamp_ns())
            return
        try:
            placed = await self._http.place_order(**kwargs)
        except BingxRejection as exc:
            if exc.is_duplicate_client_order_id:
                # The venue already has it: a lost response to an earlier identical request.
                self._spawn_resolve_submit(tracked, f"{exc.code}: {exc.msg}")
                return
            self.facts.rejected(
                tracked, f"{exc.code}: {exc.msg}", self._clock.timestamp_ns(), exc.is_post_only
            )
            return
        except BingxTransportError as exc:
            self.facts.rejected(tracked, f"not sent: {exc}", self._clock.timestamp_ns())
            return
        except BingxAmbiguous as exc:
            self._spawn_resolve_submit(tracked, str(exc))
            return
        self.facts.accepted(tracked, VenueOrderId(str(placed.orderId)), self._clock.timestamp_ns())
        self._apply_response(tracked, placed)

    def _apply_response(self, tracked: TrackedOrder, placed: VenueOrder) -> None:
        """A place response may already say FILLED/CANCELLED (MARKET, IOC, FOK): fetch its fills
        unless the stream delivers them first (the held-terminal mechanism does exactly that)."""
        status = (placed.status or "").upper()
        if (
            status in ("FILLED", "CANCELLED", "CANCELED", "EXPIRED")
            and to_decimal(num(placed.executedQty)) > tracked.filled
        ):
            self._fetch_fills_of(tracked, tracked.symbol, placed.orderId)

    def _spawn_resolve_submit(self, tracked: TrackedOrder, why: str) -> None:
        tracked.ambiguous = True
        self._pylog.warning("submit of %s ambiguous (%s); resolving by query", tracked.client_order_id, why)
        self._side_tasks.spawn(self._resolve_submit(tracked), f"resolve-{tracked.client_order_id.value}")

    async def _resolve_submit(self, tracked: TrackedOrder) -> None:
        """Query until the venue answers definitely; unknown three times in a row (with backoff) ->
        rejected. Never re-sent."""
        await self._resolver.resolve_submit(
            tracked,
            lambda t, exc: self._pylog.warning("resolving %s failed (%r); retrying", t.client_order_id, exc),
        )

    # --- order parameters -------------------------------------------------------------------------
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
        reduce_only = bool(order.is_reduce_only)
        position_side = (
            str(params["position_side"]).upper()
            if params and params.get("position_side")
            else to_bingx_position_side(order.side, reduce_only, self._hedge)
        )
        qty = quantity if quantity is not None else order.quantity.as_decimal()
        out: dict[str, Any] = {
            "symbol": venue_symbol(order.instrument_id),
            "side": _SIDE[order.side],
            "position_side": position_side,
            "quantity": f"{qty:f}",
            "client_order_id": cid,
        }
        if reduce_only and self._config.use_reduce_only and not self._hedge:
            out["reduce_only"] = True
        ot = order.order_type
        if ot == OrderType.MARKET:
            out["order_type"] = "MARKET"
            return out
        if ot == OrderType.LIMIT:
            out["order_type"] = "LIMIT"
            out["price"] = str(price or order.price)
            out["time_in_force"] = to_bingx_time_in_force(order.time_in_force, order.is_post_only)
            return out
        if ot not in _CONDITIONAL:
            raise ValueError(f"order type {ot.name}")
        out["order_type"] = to_bingx_order_type(ot, reduce_only)
        out["working_type"] = to_bingx_working_type(order.trigger_type)
        if ot == OrderType.TRAILING_STOP_MARKET:
            if order.trailing_offset_type != TrailingOffsetType.BASIS_POINTS:
                raise ValueError("trailing stops take a rate: use BASIS_POINTS offsets")
            out["price_rate"] = f"{Decimal(str(order.trailing_offset)) / 10_000:f}"
            activation = getattr(order, "activation_price", None) or trigger_price or order.trigger_price
            if activation is not None:
                out["activation_price"] = str(activation)
            return out
        out["stop_price"] = str(trigger_price or order.trigger_price)
        if order.has_price:
            out["price"] = str(price or order.price)
            if order.time_in_force != TimeInForce.GTC or order.is_post_only:
                out["time_in_force"] = to_bingx_time_in_force(order.time_in_force, order.is_post_only)
        return out

    # ------------------------------------------------------------------------------------------
    # Cancel
    # ------------------------------------------------------------------------------------------
    async def _cancel_order(self, command: CancelOrder) -> None:
        tracked = self._tracked_for(command.client_order_id.value)
        if tracked is None:
            reject_not_found(self.generate_order_cancel_rejected, command, self._clock.timestamp_ns())
            return
        async with self._lock_for(tracked):
            await self._cancel_tracked(tracked)

    async def _cancel_tracked(self, tracked: TrackedOrder) -> None:
        if tracked.terminal is not None:
            return
        try:
            canceled = await self._http.cancel_order(
                tracked.symbol, client_order_id=self.index.venue_cid(tracked)
            )
        except BingxRejection as exc:
            reason = f"{exc.code}: {exc.msg}"
            if exc.is_unknown_order or exc.is_already_filled:
                self._side_tasks.spawn(
                    self._resolve_cancel(tracked, reason), f"cancel-{tracked.client_order_id}"
                )
                return
            self._cancel_rejected(tracked, reason)
            return
        except BingxError as exc:
            self._pylog.warning("cancel of %s ambiguous (%r); resolving", tracked.client_order_id, exc)
            self._side_tasks.spawn(self._resolve_cancel(tracked, None), f"cancel-{tracked.client_order_id}")
            return
        self._apply_canceled(tracked, canceled)

    def _apply_canceled(self, tracked: TrackedOrder, canceled: VenueOrder) -> None:
        self.facts.canceled(
            tracked,
            VenueOrderId(str(canceled.orderId)),
            self.index.filled_before(tracked) + to_decimal(num(canceled.executedQty)),
            self._clock.timestamp_ns(),
        )

    def _cancel_rejected(self, tracked: TrackedOrder, reason: str) -> None:
        self.generate_order_cancel_rejected(
            tracked.strategy_id,
            tracked.instrument_id,
            tracked.client_order_id,
            tracked.engine_venue_order_id or tracked.venue_order_id,
            reason,
            self._clock.timestamp_ns(),
        )

    async def _resolve_cancel(self, tracked: TrackedOrder, rejection: str | None) -> None:
        await self._resolver.resolve_cancel(
            tracked,
            rejection,
            lambda t, exc: self._pylog.warning("resolving cancel of %s failed (%r)", t.client_order_id, exc),
        )

    async def _cancel_all_orders(self, command: CancelAllOrders) -> None:
        if command.order_side != OrderSide.NO_ORDER_SIDE:
            for order in self._cache.orders_open(
                instrument_id=command.instrument_id, side=command.order_side
            ):
                tracked = self._tracked_for(order.client_order_id.value)
                if tracked is not None:
                    async with self._lock_for(tracked):
                        await self._cancel_tracked(tracked)
            return
        symbol = venue_symbol(command.instrument_id)
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

    async def _batch_cancel_orders(self, command: BatchCancelOrders) -> None:
        by_symbol: dict[str, list[TrackedOrder]] = {}
        for cancel in command.cancels:
            tracked = self._tracked_for(cancel.client_order_id.value)
            if tracked is None:
                await self._cancel_order(cancel)  # emits the rejection
            elif tracked.terminal is None:
                by_symbol.setdefault(tracked.symbol, []).append(tracked)
        for symbol, orders in by_symbol.items():
            for i in range(0, len(orders), MAX_BATCH_CANCEL):
                await self._batch_cancel_chunk(symbol, orders[i : i + MAX_BATCH_CANCEL])

    async def _batch_cancel_chunk(self, symbol: str, orders: list[TrackedOrder]) -> None:
        by_cid = {self.index.venue_cid(o): o for o in orders}
        try:
            result = await self._http.cancel_batch_orders(symbol, client_order_ids=list(by_cid))
        except BingxError as exc:
            self._pylog.warning("batch cancel on %s failed (%r); canceling one by one", symbol, exc)
            for one in orders:
                async with self._lock_for(one):
                    await self._cancel_tracked(one)
            return
        for o in result.success or []:
            done = self.index.lookup(o.client_order_id, o.orderId)
            if done is not None:
                self._apply_canceled(done, o)
        for failed in result.failed or []:
            refused = self.index.lookup(failed.clientOrderId, to_int(failed.orderId))
            if refused is not None:
                reason = f"{failed.errorCode}: {failed.errorMessage}"
                self._side_tasks.spawn(
                    self._resolve_cancel(refused, reason), f"cancel-{refused.client_order_id}"
                )

    # ------------------------------------------------------------------------------------------
    # Modify: cancel-replace (see module docstring)
    # ------------------------------------------------------------------------------------------
    async def _modify_order(self, command: ModifyOrder) -> None:
        order = self._cache.order(command.client_order_id)
        tracked = self._tracked_for(command.client_order_id.value)
        if order is None or tracked is None:
            reject_not_found(self.generate_order_modify_rejected, command, self._clock.timestamp_ns())
            return
        async with self._lock_for(tracked):
            await self._cancel_replace(order, tracked, command)

    def _modify_rejected(self, tracked: TrackedOrder, reason: str) -> None:
        self.generate_order_modify_rejected(
            tracked.strategy_id,
            tracked.instrument_id,
            tracked.client_order_id,
            tracked.engine_venue_order_id or tracked.venue_order_id,
            reason,
            self._clock.timestamp_ns(),
        )

    async def _cancel_replace(
        self, order: NautilusOrder, tracked: TrackedOrder, command: ModifyOrder
    ) -> None:
        if tracked.terminal is not None or tracked.venue_order_id is None:
            self._modify_rejected(tracked, "order is not open on the venue")
            return
        new_qty = (command.quantity or order.quantity).as_decimal()
        new_price = command.price or (order.price if order.has_price else None)
        new_trigger = command.trigger_price or (order.trigger_price if order.has_trigger_price else None)
        old_voi = tracked.venue_order_id
        chain = self.index.chain_for(tracked)
        # 1. Retire the live link *before* canceling it: its CANCELED event (which may overtake the
        #    REST answer on the stream) must not close the NautilusTrader order.
        chain.retired.add(old_voi.value)
        try:
            canceled = await self._http.cancel_order(tracked.symbol, client_order_id=chain.current_cid)
        except BingxRejection as exc:
            chain.retired.discard(old_voi.value)
            self._modify_rejected(tracked, f"cancel-replace: cancel failed: {exc.code}: {exc.msg}")
            if exc.is_unknown_order or exc.is_already_filled:
                # Filled or gone meanwhile: nothing is placed; learn the final state (and fills).
                self._side_tasks.spawn(
                    self._resolve_cancel(tracked, None), f"modify-{tracked.client_order_id}"
                )
            return
        except BingxError as exc:
            chain.retired.discard(old_voi.value)
            self._modify_rejected(tracked, f"cancel-replace: cancel outcome unknown ({exc}); not replaced")
            self._side_tasks.spawn(self._resolve_cancel(tracked, None), f"modify-{tracked.client_order_id}")
            return
        # 2. The cancel is final: executedQty is all that link will ever fill.
        chain.filled_before += to_decimal(num(canceled.executedQty))
        ts = self._clock.timestamp_ns()
        remaining = new_qty - chain.filled_before
        if remaining <= 0:
            self._modify_rejected(
                tracked, f"cancel-replace: quantity {new_qty} not above filled {chain.filled_before}"
            )
            self.facts.canceled(tracked, old_voi, chain.filled_before, ts)
            return
        # 3. The replacement: a new client id (BingX ids are unique), registered before it is sent
        #    so its stream events (which may overtake the response) find the order.
        chain.replacements += 1
        alias = _alias(tracked.client_order_id.value, chain.replacements)
        self.index.add_alias(tracked, alias)
        chain.current_cid = alias
        info = self._instrument_info(tracked.symbol)
        self._set_order(tracked, new_qty, new_price, new_trigger, info, ts)
        try:
            kwargs = self._order_params(
                order, None, cid=alias, quantity=remaining, price=new_price, trigger_price=new_trigger
            )
            placed = await self._http.place_order(**kwargs)
        except BingxRejection as exc:
            self._modify_rejected(tracked, f"cancel-replace: replacement rejected: {exc.code}: {exc.msg}")
            self.facts.canceled(tracked, old_voi, chain.filled_before, self._clock.timestamp_ns())
            return
        except (BingxError, ValueError) as exc:
            self._pylog.warning("replacement of %s ambiguous (%r); resolving", tracked.client_order_id, exc)
            self._side_tasks.spawn(self._resolve_replacement(tracked, old_voi), f"replace-{alias}")
            return
        self.facts.venue_id_changed(tracked, VenueOrderId(str(placed.orderId)), self._clock.timestamp_ns())
        self._apply_response(tracked, placed)

    def _set_order(
        self,
        tracked: TrackedOrder,
        quantity: Decimal,
        price: Price | None,
        trigger: Price | None,
        info: InstrumentInfo,
        ts: int,
    ) -> None:
        """The NautilusTrader order takes its new quantity/price now (still under the canceled
        link's venue id; the replacement's id follows with ``venue_id_changed``)."""
        voi = tracked.engine_venue_order_id or tracked.venue_order_id
        assert voi is not None
        tracked.quantity = quantity
        tracked.price = price.as_decimal() if price is not None else None
        self.generate_order_updated(
            tracked.strategy_id,
            tracked.instrument_id,
            tracked.client_order_id,
            voi,
            Quantity(quantity, info.size_precision),
            price,  # type: ignore[arg-type]  # None keeps the price
            trigger,
            ts,
        )

    async def _resolve_replacement(self, tracked: TrackedOrder, old_voi: VenueOrderId) -> None:
        backoff = Backoff(0.25, 2.0, 5.0)
        not_found = 0
        self.resolutions["modify"] += 1
        while tracked.terminal is None:
            await asyncio.sleep(backoff.next_delay())
            try:
                o = await self.sync.query_live_link(tracked)
            except BingxError as exc:
                self._pylog.warning("resolving replacement of %s failed (%r)", tracked.client_order_id, exc)
                continue
            if o is not None:
                self.facts.venue_id_changed(tracked, VenueOrderId(str(o.orderId)), self._clock.timestamp_ns())
                await self.sync.sync_order(tracked, o)
                return
            not_found += 1
            if not_found >= 3:
                self._modify_rejected(tracked, "cancel-replace: replacement not found on venue")
                self.facts.canceled(
                    tracked, old_voi, self.index.filled_before(tracked), self._clock.timestamp_ns()
                )
                return

    async def _query_order(self, command: QueryOrder) -> None:
        """The engine's in-flight check asks about an order. One of ours is resolved through
        ``OrderFacts`` (events, each fact once) rather than answered with a report the engine would
        reconcile on its own — its OrderAccepted would race the one our resolver emits."""
        tracked = self._tracked_for(command.client_order_id.value)
        if tracked is None:
            await super()._query_order(command)
            return
        try:
            found = await self.sync.resolve_order(tracked)
        except BingxError as exc:
            self._pylog.warning("query of %s failed: %r", command.client_order_id, exc)
            return
        if not found:
            self._pylog.info("query: %s is not on the venue (yet)", command.client_order_id)

    async def _query_account(self, command: QueryAccount) -> None:
        try:
            await self._update_account_state()
        except BingxError as exc:
            self._pylog.error("account query failed: %r", exc)

    # ------------------------------------------------------------------------------------------
    # Reconciliation reports (startup and the engine's periodic checks)
    # ------------------------------------------------------------------------------------------
    def _report_timeout(self) -> float:
        return report_timeout(self._config.http_timeout_secs)

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
            self.account_id,
            info.instrument_id,
            info.price_precision,
            info.size_precision,
            ts_init,
            self._config.treat_expired_as_canceled,
            self._venue_position_id(info.instrument_id, o.positionSide),
        )
        return self._restore_client_id(report)

    async def generate_order_status_report(
        self, command: GenerateOrderStatusReport
    ) -> OrderStatusReport | None:
        symbol = venue_symbol(command.instrument_id)
        tracked = self.tracker.get(command.client_order_id.value) if command.client_order_id else None
        cid = self.index.venue_cid(tracked) if tracked is not None else None
        if cid is None and command.client_order_id is not None:
            cid = command.client_order_id.value.lower()
        oid = _venue_int(command.venue_order_id)
        try:
            async with asyncio.timeout(self._report_timeout()):
                o = await self._read(
                    "order query",
                    lambda: self._http.query_order(
                        symbol, order_id=None if cid else oid, client_order_id=cid
                    ),
                )
        except BingxRejection as exc:
            if not exc.is_unknown_order:
                self._pylog.error("order status report for %s failed: %r", cid or oid, exc)
            return None
        except (BingxError, TimeoutError) as exc:
            self._pylog.error("order status report for %s failed: %r", cid or oid, exc)
            return None
        try:
            return self._order_report(o, self._clock.timestamp_ns())
        except ValueError as exc:
            self._pylog.warning("order %s not reportable: %s", o.orderId, exc)
            return None

    async def generate_order_status_reports(
        self, command: GenerateOrderStatusReports
    ) -> list[OrderStatusReport]:
        symbol = venue_symbol(command.instrument_id) if command.instrument_id else None
        ts_init = self._clock.timestamp_ns()
        reports: list[OrderStatusReport] = []
        start, end = ms_or_none(command.start), ms_or_none(command.end)
        async with asyncio.timeout(self._report_timeout()):
            orders = await self._read("open orders query", lambda: self._http.open_orders(symbol))
            await open_and_history_orders(
                orders,
                open_only=command.open_only,
                symbols=lambda: self._history_symbols(symbol),
                history=lambda sym: self._read(
                    "order history query",
                    lambda: self._http.all_orders(sym, start_time=start, end_time=end, limit=1000),
                ),
                order_id=lambda o: o.orderId,
            )
        for o in orders:
            iid = self._instrument_info(o.symbol).instrument_id
            if not is_managed(self._cache, iid, lambda o=o: _describe(o), self._pylog):  # type: ignore[misc]
                continue
            append_or_skip(
                reports,
                lambda: self._order_report(o, ts_init),  # noqa: B023 - called at once
                lambda exc: self._pylog.warning(
                    "order %s skipped in reconciliation: %s",
                    o.orderId,  # noqa: B023
                    exc,
                ),
            )
        return reports

    async def generate_fill_reports(self, command: GenerateFillReports) -> list[FillReport]:
        symbol = venue_symbol(command.instrument_id) if command.instrument_id else None
        ts_init = self._clock.timestamp_ns()
        reports: list[FillReport] = []
        oid = _venue_int(command.venue_order_id)
        async with asyncio.timeout(self._report_timeout()):
            now = self._http.now_ms()
            start = max(ms_or_none(command.start) or 0, now - _HISTORY_WINDOW_MS)
            for sym in await self._history_symbols(symbol):
                info = self._instrument_info(sym)
                page = 1
                while True:
                    data = await self._read(
                        "fill history query",
                        lambda sym=sym, page=page: self._http.fill_history(  # type: ignore[misc]
                            sym, order_id=oid, start_ts=start, end_ts=now, page_index=page, page_size=1000
                        ),
                    )
                    rows = data.fill_history_orders or []
                    for t in rows:
                        tid = to_int(t.tradeId)
                        if tid is None:
                            continue
                        # Not marked delivered here: the engine may not apply it (see the startup
                        # sync in adapters.core.userstream.startup, which reads what it applied).
                        reports.append(
                            fill_history_to_fill_report(
                                t,
                                self.account_id,
                                info.instrument_id,
                                info.price_precision,
                                info.size_precision,
                                ts_init,
                                None,
                                self._venue_position_id(info.instrument_id, (t.positionSide or "").upper()),
                                info.quote_currency.code,
                            )
                        )
                    if len(rows) < 1000:
                        break
                    page += 1
        return reports

    async def generate_position_status_reports(
        self, command: GeneratePositionStatusReports
    ) -> list[PositionStatusReport]:
        symbol = venue_symbol(command.instrument_id) if command.instrument_id else None
        return await position_status_reports(
            lambda: self._http.positions(symbol),
            within=self._report_timeout(),
            ts_init=self._clock.timestamp_ns(),
            is_flat=_flat,
            instruments=self._instrument_info,
            position_id=self._venue_position_id,
            account_id=self.account_id,
            to_report=position_to_status_report,
            managed=lambda p, iid: is_managed(
                self._cache,
                iid,
                lambda: f"position {p.symbol} {p.positionSide} {num(p.positionAmt)}",
                self._pylog,
            ),
            logger=self._pylog,
        )

    async def _read(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """A read-only query of a report, retried on transient errors (see core.net.read_retry)."""
        return await read_with_retry(call, what=what, logger=self._pylog)

    async def _history_symbols(self, symbol: str | None) -> list[str]:
        """BingX history endpoints are queried per symbol: every symbol the cache knows, every
        symbol with venue activity (open orders, positions) and, with few instruments loaded, all."""
        return await history_symbols(
            symbol,
            cache=self._cache,
            venue=BINGX_VENUE,
            venue_symbol=venue_symbol,
            venue_active=(self._open_order_symbols, self._position_symbols),
            loaded=self._provider.instruments_by_symbol,
            max_symbols=self._config.reconciliation_max_symbols,
        )

    async def _open_order_symbols(self) -> list[str]:
        return [o.symbol for o in await self._read("open orders query", self._http.open_orders)]

    async def _position_symbols(self) -> list[str]:
        return [p.symbol for p in await self._read("positions query", self._http.positions) if not _flat(p)]


def _describe(o: VenueOrder) -> str:
    qty, filled = num(o.origQty), num(o.executedQty)
    return f"order {o.orderId} ({o.client_order_id or '-'}: {o.side} {qty}, {filled} filled, {o.status})"


def _flat(p: Position) -> bool:
    return to_decimal(num(p.positionAmt)) == 0


def _alias(client_order_id: str, n: int) -> str:
    """The venue client id of the n-th replacement: ``<cid>-r<n>`` (lowercase, at most 40 chars)."""
    suffix = f"-r{n}"
    base = client_order_id.lower()[: MAX_CLIENT_ORDER_ID_LEN - len(suffix)]
    return f"{base}{suffix}"


def _venue_int(venue_order_id: VenueOrderId | None) -> int | None:
    if venue_order_id is None or not venue_order_id.value.isdigit():
        return None
    return int(venue_order_id.value)
