"""``BinanceFuturesExecutionClient`` — the LiveExecutionClient for Binance USD-M Futures.

Wiring, commands and reconciliation. The pieces it owns:

* an HTTP client (signing, clock offset, rate limits, rejection vs ambiguous errors);
* the order tracker, ``OrderFacts`` (every fact about our orders reaches the engine once) and the
  user-stream frame handler (the hot path);
* a ``UserStreamService`` from the core: the user socket, its dispatcher, the listen-key keepalive
  and the recovery driver that rotates the key and re-syncs by REST after any trigger;
* ``OwnedTasks`` for side work (resolving ambiguous outcomes, fetching fills a held terminal status
  waits for), cancelled and awaited on disconnect;
* with ``use_ws_trading``: a :class:`BinanceWsTradingClient` on ``/ws-fapi/v1``. Regular orders are
  placed, amended, cancelled and queried over it while it is READY, over REST otherwise (a request
  the socket refused before writing it, :class:`WsNotSent`, goes over REST at once: it provably
  never reached the venue). Its outcomes are classified exactly like REST's.

Commands never guess: a venue rejection becomes a Rejected event with the venue's message; an
ambiguous outcome (timeout, 5xx, cut connection, -1006/-1007, a trading socket that died with the
request in flight) emits nothing final and is resolved by querying the order (``order.status`` on
the trading socket when it is READY, REST otherwise); an order is never re-sent blindly.
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
)
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientId,
    ClientOrderId,
    InstrumentId,
    PositionId,
    VenueOrderId,
)
from nautilus_trader.model.orders import Order as NautilusOrder

from adapters.binance_futures.config import BinanceFuturesExecClientConfig, resolve_credentials
from adapters.binance_futures.credentials import BinanceSigner
from adapters.binance_futures.errors import (
    CODE_CANCEL_REJECTED,
    CODE_MAX_STOP_ORDER_EXCEEDED,
    CODE_NO_SUCH_ORDER,
    BinanceAmbiguous,
    BinanceError,
    BinanceRejection,
    BinanceTransportError,
)
from adapters.binance_futures.http import BatchOrderError, BinanceFuturesHttpClient
from adapters.binance_futures.listen_keys import RestListenKeys, WsApiListenKeys
from adapters.binance_futures.parsing import (
    ALGO_ORDER_TYPE,
    BINANCE_VENUE,
    WIRE_ORDER_SIDE,
    account_info_to_balances,
    algo_order_to_status_report,
    format_instrument_id,
    new_algo_order_args,
    new_order_args,
    order_position_side,
    order_to_status_report,
    position_to_status_report,
    user_trade_to_fill_report,
    venue_symbol,
)
from adapters.binance_futures.providers import BinanceFuturesInstrumentProvider
from adapters.binance_futures.schemas_http import AlgoOrder, PositionRisk
from adapters.binance_futures.schemas_http import Order as VenueOrder
from adapters.binance_futures.user_events import UserStreamHandler
from adapters.binance_futures.user_stream import BinanceUserStreamOps
from adapters.binance_futures.venue_sync import VenueSync
from adapters.binance_futures.ws_trading import BinanceWsTradingClient, WsNotSent, settings_from_config
from adapters.core.base import log_bridge
from adapters.core.base.backoff import Backoff
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
from adapters.core.net.read_retry import read_with_retry
from adapters.core.orders.balance_clock import AccountReread
from adapters.core.orders.order_facts import OrderFacts
from adapters.core.orders.order_tracking import OrderTracker, TrackedOrder
from adapters.core.orders.position_repair import repair_positions
from adapters.core.orders.resolution import ACCEPT_MARGIN_SECS, AmbiguityResolver, FillRepairs
from adapters.core.parse.precision import PrecisionResolver
from adapters.core.parse.wire_values import safe_identifier
from adapters.core.userstream.startup import StartupRelease

_BATCH_CANCEL_MAX = 10
T = TypeVar("T")  # Binance DELETE batchOrders limit


class BinanceFuturesExecutionClient(LiveExecutionClient):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client_id: ClientId,
        config: BinanceFuturesExecClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: BinanceFuturesInstrumentProvider,
        http: BinanceFuturesHttpClient,
    ) -> None:
        hedge = bool(config.dual_side_position)
        super().__init__(
            loop=loop,
            client_id=client_id,
            venue=BINANCE_VENUE,
            oms_type=OmsType.HEDGING if hedge else OmsType.NETTING,
            account_type=AccountType.MARGIN,
            base_currency=None,
            instrument_provider=instrument_provider,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=config,
        )
        self._config = config
        self._hedge = hedge
        self._set_account_id(AccountId(f"{client_id.value}-USDT_FUTURES-master"))
        self._provider = instrument_provider
        self._http = http
        log_bridge.install()
        self._pylog = logging.getLogger(f"adapters.binance_futures.{client_id.value}")
        self._started_ms = 0

        self._precision = PrecisionResolver(
            lookup=self._provider.find_by_symbol,
            formatter=format_instrument_id,
            logger=self._pylog,
        )
        self._infos = InstrumentInfoCache(self._precision, self._provider.find_by_symbol, InstrumentInfo)
        self._instrument_infos = self._infos.infos
        self._side_tasks = OwnedTasks(f"{client_id.value}-exec", self._pylog)

        self.tracker = OrderTracker(retention=config.closed_order_retention_secs)
        # One repair task per order whose venue state is ahead of the engine's (missing fills, a
        # terminal held for them, an overfill to reconcile): its state and fills fetched by id.
        self.repairs = FillRepairs(
            lambda order: self.sync.resolve_order(order),
            tasks=self._side_tasks,
            errors=BinanceError,
            logger=self._pylog,
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
        # Ambiguous submits and cancels are resolved by querying (over the routed order query); a
        # submit stays unresolved while the venue may still accept it (its recvWindow).
        self._resolver = AmbiguityResolver(
            facts=self.facts,
            clock_ns=self._clock.timestamp_ns,
            query=lambda tracked: self._resolve_order(tracked),
            errors=BinanceError,
            cancel_rejected=self._cancel_rejected,
            accept_window_secs=config.recv_window_ms / 1000 + ACCEPT_MARGIN_SECS,
        )
        self.stream_handler = UserStreamHandler(
            facts=self.facts,
            sink=self,
            client_id=client_id,
            account_id=self.account_id,
            instruments=self._instrument_info,
            adopt=self._adopt,
            position_id=self._venue_position_id,
            clock_ns=self._clock.timestamp_ns,
            on_listen_key_expired=self._on_listen_key_expired,
            treat_expired_as_canceled=config.treat_expired_as_canceled,
            logger=self._pylog,
            report_external=self._report_external_later,
        )
        # A stream balance update declined as older than a REST read: read the account again (the
        # read's stamp can run ahead of the venue's clock; adapters.core.orders.balance_clock).
        self.account_reread = AccountReread(
            lambda: self._update_account_state(reread=True), self._side_tasks.spawn
        )
        self.stream_handler.balance_clock.on_stale = self.account_reread
        self.position_repairs = 0  # fills re-applied to positions at connect (position_repair)
        self.sync = VenueSync(
            http=http,
            facts=self.facts,
            handler=self.stream_handler,
            account_id=self.account_id,
            instruments=self._instrument_info,
            position_id=self._venue_position_id,
            clock_ns=self._clock.timestamp_ns,
            treat_expired_as_canceled=config.treat_expired_as_canceled,
            since_ms=lambda: self._started_ms,
            walk_symbols=lambda: walk_symbols(
                cache=self._cache,
                venue=BINANCE_VENUE,
                venue_symbol=venue_symbol,
                loaded=self._provider.instruments_by_symbol,
                max_symbols=config.reconciliation_max_symbols,
            ),
            refresh_account=self._update_account_state,
            logger=self._pylog,
        )
        # The WS API's trading socket (optional): order entry with ``use_ws_trading`` (REST
        # whenever it is not READY), the user stream's listen key with ``user_stream_via_ws_api``.
        self.ws_trading: BinanceWsTradingClient | None = None
        # Routing switch (benchmarks flip it to compare WS with REST within one run).
        self.route_orders_via_ws = bool(config.use_ws_trading)
        # How many ambiguous outcomes were resolved by querying, per command kind.
        self.resolutions: collections.Counter[str] = self._resolver.resolutions
        if config.use_ws_trading or config.user_stream_via_ws_api:
            ws_api = config.urls().ws_api
            if ws_api is None:
                raise ValueError(
                    "use_ws_trading / user_stream_via_ws_api need base_url_ws_api "
                    "(no default for this environment)"
                )
            api_key, api_secret = resolve_credentials(config.api_key, config.api_secret)
            self.ws_trading = BinanceWsTradingClient(
                settings_from_config(config, ws_api),
                api_key=api_key,
                signer=BinanceSigner(api_secret),
                rate_limiter=http.rate_limiter,
                now_ms=http.now_ms,
                time_sync=http.sync_time,
                logger=self._pylog,
                name=f"{client_id.value}-ws-trading",
            )
        # Where the listen key comes from: /fapi/v1/listenKey, or userDataStream.* on the trading
        # socket (see adapters.binance_futures.listen_keys).
        self.listen_key_ops: RestListenKeys | WsApiListenKeys = RestListenKeys(http)
        if config.user_stream_via_ws_api and self.ws_trading is not None:
            self.listen_key_ops = WsApiListenKeys(
                self.ws_trading,
                RestListenKeys(http),
                logger=self._pylog,
                name=f"{client_id.value}-listen-key",
            )
        self.stream_ops = BinanceUserStreamOps(
            keys=self.listen_key_ops,
            http=http,
            sync=self.sync,
            handler=self.stream_handler,
            ws_base_url=config.urls().ws,
            ws_config=ws_config(config),
            session=None,
            logger=self._pylog,
        )
        self.user_stream = user_stream_service(
            self.stream_ops, config, name=f"{client_id.value}-user-stream", logger=self._pylog
        )
        self.startup = StartupRelease(
            msgbus=msgbus,
            trader_id=self.trader_id.value,
            user_stream=self.user_stream,
            adopt_open_orders=self._adopt_open_orders,
            resolve_in_flight=self._resolve_in_flight,
            tasks=self._side_tasks,
            timeout_secs=config.startup_hold_timeout_secs,
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

        venue_hedge = await self._http.position_side_dual()
        if venue_hedge != self._hedge:
            raise RuntimeError(
                f"position mode mismatch: the account is in {'hedge' if venue_hedge else 'one-way'} mode "
                f"but dual_side_position={self._config.dual_side_position}; set it to {venue_hedge}"
            )

        await self._update_account_state()
        await self._await_account_registered(timeout_secs=self._config.http_timeout_secs * 3)
        via_ws_api = self._config.user_stream_via_ws_api and self.ws_trading is not None
        if via_ws_api:
            await self._start_ws_trading()  # the listen key is asked for on it
        # Connected but held until NautilusTrader's startup reconciliation has been applied (see
        # adapters.core.userstream.startup): events queue meanwhile, none is lost or applied out of turn.
        await self.user_stream.start(hold=True)
        self.startup.arm()
        self._log.info(
            f"User stream connected (listen key ...{(self.user_stream.ctx.listen_key or '')[-6:]}); "
            "held until startup reconciliation completes"
        )
        if self.ws_trading is not None and not via_ws_api:
            await self._start_ws_trading()

    async def _start_ws_trading(self) -> None:
        assert self.ws_trading is not None
        # Never fatal: until the trading socket is READY orders (and, with user_stream_via_ws_api,
        # listen-key requests) go over REST, and it keeps (re)connecting in the background.
        if await self.ws_trading.start():
            self._log.info(f"WS trading connected ({self.ws_trading.state.value})")
        else:
            self._log.warning("WS trading not connected yet; orders go over REST meanwhile")

    async def _disconnect(self) -> None:
        # Bounded even when the venue hangs: each step has its own timeout inside.
        # The trading socket first: no new order goes out on it, and a request still in flight
        # fails as ambiguous and is resolved by query (side tasks, closed below, before REST).
        # With user_stream_via_ws_api the user stream stops first, so that its listen key is
        # stopped (userDataStream.stop) on the socket that made it.
        if self._config.user_stream_via_ws_api:
            self.startup.close()
            await self.user_stream.stop()
        if self.ws_trading is not None:
            await self.ws_trading.close()
        self.startup.close()
        await self.user_stream.stop()
        await self._side_tasks.close()
        await self._http.close()

    async def _update_account_state(self, *, reread: bool = False) -> None:
        asked_ms = self._http.now_ms()
        info = await self._http.account()
        balances, margins = account_info_to_balances(info)
        # Stamped with the venue's time of the read: a stream update older than it (still queued on
        # a socket being drained) must not revert what this read says.
        stamp = max((a.updateTime or 0 for a in info.assets), default=0) or asked_ms
        balances = self.stream_handler.balance_clock.fresh(
            balances, max(stamp, asked_ms), authoritative=reread
        )
        if not balances:
            return
        self.generate_account_state(
            balances=balances, margins=margins, reported=True, ts_event=self._clock.timestamp_ns()
        )

    # ------------------------------------------------------------------------------------------
    # Lookups used by the hot path
    # ------------------------------------------------------------------------------------------
    def _instrument_info(self, symbol: str) -> InstrumentInfo:
        return self._infos.get(symbol)

    def _venue_position_id(self, instrument_id: InstrumentId, position_side: str | None) -> PositionId | None:
        if not self._hedge or not self._config.use_position_ids or position_side not in ("LONG", "SHORT"):
            return None
        return PositionId(f"{instrument_id}-{position_side}")

    def _report_external_later(self, symbol: str, order_id: int) -> None:
        """An external order a stream event could not report whole: reported from the venue's
        REST view, with every fill (retried on transient errors, the venue's disagreements too)."""
        self._side_tasks.spawn(
            read_with_retry(
                lambda: self.sync.report_external_by_id(symbol, order_id),
                what=f"reporting external order {order_id}",
                attempts=8,
                logger=self._pylog,
            ),
            f"external-{order_id}",
        )

    def _adopt(self, client_order_id: str, venue_order_id: str | None = None) -> TrackedOrder | None:
        """An order the engine's cache holds and the tracker does not know (submitted before a
        restart, or an external order the engine adopted from our report — found by its venue id
        whatever client id it got): tracked from now on, so its events stay events, not reports."""
        order = (
            self._cache.order(ClientOrderId(client_order_id)) if safe_identifier(client_order_id) else None
        )
        by_venue_id = order is None or order.instrument_id.venue != BINANCE_VENUE
        if by_venue_id:
            order = cached_order_by_venue_id(self._cache, BINANCE_VENUE, venue_order_id)
        if order is None:
            return None
        known = self.tracker.get(order.client_order_id.value)
        if known is not None:
            return known
        tracked = track_cached(
            order,
            register=self.tracker.track,
            to_tracked=lambda o: tracked_from_cache(
                o, symbol=venue_symbol(o.instrument_id), is_algo=o.order_type in ALGO_ORDER_TYPE
            ),
            seen=self.tracker.mark_seen,
        )
        tracked.external = by_venue_id
        return tracked

    def _adopt_open_orders(self) -> list[TrackedOrder]:
        return adopt_cache_orders(
            self._cache,
            BINANCE_VENUE,
            known=self.tracker.get,
            register=self.tracker.track,
            to_tracked=lambda o: tracked_from_cache(
                o, symbol=venue_symbol(o.instrument_id), is_algo=o.order_type in ALGO_ORDER_TYPE
            ),
            seen=self.tracker.mark_seen,
        )

    def _resolve_in_flight(self, tracked: TrackedOrder) -> None:
        tracked.ambiguous = True
        cid = tracked.client_order_id.value
        self._side_tasks.spawn(self._resolve_ambiguous(tracked), f"resolve-{cid}")

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

    def _on_listen_key_expired(self, reason: str) -> None:
        self.user_stream.trigger.fire(reason)

    def _engine_status(self, client_order_id: ClientOrderId) -> OrderStatus | None:
        order = self._cache.order(client_order_id)
        return order.status if order is not None else None

    def _cancel_zombie(self, order: TrackedOrder, venue_order_id: VenueOrderId) -> None:
        """The venue has an order live that this node declared rejected: cancel it there."""
        cid = order.client_order_id.value
        self._side_tasks.spawn(self._cancel_zombie_task(order), f"zombie-{cid}-{venue_order_id.value}")

    async def _cancel_zombie_task(self, order: TrackedOrder) -> None:
        try:
            await self._cancel_regular(order.symbol, order.client_order_id.value)
        except BinanceError as exc:
            self._pylog.error("canceling %s on the venue failed: %r", order.client_order_id, exc)

    # ------------------------------------------------------------------------------------------
    # Commands
    # ------------------------------------------------------------------------------------------
    async def _submit_order(self, command: SubmitOrder) -> None:
        await self._submit(command.order, command.params)

    async def _submit_order_list(self, command: SubmitOrderList) -> None:
        for order in command.order_list.orders:
            await self._submit(order, command.params)

    async def _submit(self, order: NautilusOrder, params: dict[str, Any] | None) -> None:
        if order.is_closed:
            return  # denied or otherwise finished before it reached us
        tracked = self.tracker.track(
            tracked_for_submit(
                order, symbol=venue_symbol(order.instrument_id), is_algo=order.order_type in ALGO_ORDER_TYPE
            )
        )
        ts = self._clock.timestamp_ns()
        self.generate_order_submitted(order.strategy_id, order.instrument_id, order.client_order_id, ts)
        try:
            if tracked.is_algo:
                algo = await self._place_algo(self._algo_params(order, params))
                tracked.algo_id = algo.algoId
                self.facts.accepted(tracked, VenueOrderId(str(algo.algoId)), self._clock.timestamp_ns())
            else:
                placed = await self._place_order(self._order_params(order, params))
                self.facts.accepted(tracked, VenueOrderId(str(placed.orderId)), self._clock.timestamp_ns())
        except BinanceRejection as exc:
            if exc.code == CODE_MAX_STOP_ORDER_EXCEEDED:
                self._log.warning(
                    f"Conditional order {order.client_order_id} rejected: the account already has the "
                    "maximum of open conditional orders (200 across all symbols); cancel some first"
                )
            self.facts.rejected(
                tracked, f"{exc.code}: {exc.msg}", self._clock.timestamp_ns(), exc.is_post_only
            )
        except BinanceTransportError as exc:
            # The request never left this machine: nothing exists on the venue.
            self.facts.rejected(tracked, f"not sent: {exc}", self._clock.timestamp_ns())
        except BinanceAmbiguous as exc:
            tracked.ambiguous = True
            self._log.warning(f"Submit of {order.client_order_id} ambiguous ({exc}); resolving by query")
            self._side_tasks.spawn(self._resolve_ambiguous(tracked), f"resolve-{order.client_order_id.value}")

    async def _resolve_ambiguous(self, tracked: TrackedOrder) -> None:
        """Query until the venue gives a definite answer. A submit the venue does not know is only
        declared rejected after it stayed unknown for a few seconds (a -1007 may still execute)."""
        await self._resolver.resolve_submit(
            tracked,
            lambda t, exc: self._log.warning(f"Resolving {t.client_order_id} failed ({exc!r}); retrying"),
        )

    # ------------------------------------------------------------------------------------------
    # Routing: WS trading API when READY, REST otherwise
    # ------------------------------------------------------------------------------------------
    def _ws(self) -> BinanceWsTradingClient | None:
        ws = self.ws_trading
        if ws is None or not self.route_orders_via_ws or not ws.is_ready:
            return None
        return ws

    async def _place_order(self, kwargs: dict[str, Any]) -> VenueOrder:
        ws = self._ws()
        if ws is not None:
            try:
                return await ws.new_order(**kwargs)
            except WsNotSent as exc:
                self._pylog.debug("order.place not sent on the trading socket (%s); using REST", exc)
        return await self._http.new_order(**kwargs)

    async def _place_algo(self, kwargs: dict[str, Any]) -> AlgoOrder:
        """``algoOrder.place`` on the trading socket when READY, else ``POST /fapi/v1/algoOrder``;
        outcomes classified alike (an ambiguous one is resolved by query, never re-sent)."""
        ws = self._ws()
        if ws is not None:
            try:
                return await ws.new_algo_order(**kwargs)
            except WsNotSent as exc:
                self._pylog.debug("algoOrder.place not sent on the trading socket (%s); using REST", exc)
        return await self._http.new_algo_order(**kwargs)

    async def _cancel_algo(self, cid: str) -> None:
        ws = self._ws()
        if ws is not None:
            try:
                await ws.cancel_algo_order(client_algo_id=cid)
                return
            except WsNotSent as exc:
                self._pylog.debug("algoOrder.cancel not sent on the trading socket (%s); using REST", exc)
        await self._http.cancel_algo_order(client_algo_id=cid)

    async def _amend_order(self, symbol: str, side: str, quantity: str, price: str, cid: str) -> VenueOrder:
        ws = self._ws()
        if ws is not None:
            try:
                return await ws.modify_order(symbol, side, quantity, price, orig_client_order_id=cid)
            except WsNotSent as exc:
                self._pylog.debug("order.modify not sent on the trading socket (%s); using REST", exc)
        return await self._http.modify_order(symbol, side, quantity, price, orig_client_order_id=cid)

    async def _cancel_regular(self, symbol: str, cid: str) -> VenueOrder:
        ws = self._ws()
        if ws is not None:
            try:
                return await ws.cancel_order(symbol, orig_client_order_id=cid)
            except WsNotSent as exc:
                self._pylog.debug("order.cancel not sent on the trading socket (%s); using REST", exc)
        return await self._http.cancel_order(symbol, orig_client_order_id=cid)

    async def _query_venue_order(self, symbol: str, cid: str) -> VenueOrder:
        """``order.status`` on the trading socket when READY, else REST. A query is idempotent, so
        a WS query that failed for any transport reason is simply asked again over REST."""
        ws = self._ws()
        if ws is not None:
            try:
                return await ws.query_order(symbol, orig_client_order_id=cid)
            except (BinanceAmbiguous, BinanceTransportError) as exc:
                self._pylog.debug("order.status on the trading socket failed (%s); using REST", exc)
        return await self._http.query_order(symbol, orig_client_order_id=cid)

    async def _resolve_order(self, tracked: TrackedOrder) -> bool:
        """:meth:`VenueSync.resolve_order` with the order query routed like commands. Returns False
        when the venue does not know the order; raises on transport/ambiguous errors."""
        if tracked.is_algo and not tracked.triggered:
            return await self.sync.resolve_order(tracked)
        try:
            o = await self._query_venue_order(tracked.symbol, tracked.client_order_id.value)
        except BinanceRejection as exc:
            if exc.is_unknown_order:
                return False
            raise
        await self.sync.sync_order(tracked, o)
        return True

    def _placement(self, order: NautilusOrder, params: dict[str, Any] | None) -> dict[str, Any]:
        """What the client's configuration adds to an order's placement request."""
        return {
            "position_side": order_position_side(order, params, hedge=self._hedge),
            "reduce_only": order.is_reduce_only and self._config.use_reduce_only and not self._hedge,
        }

    def _order_params(self, order: NautilusOrder, params: dict[str, Any] | None) -> dict[str, Any]:
        return new_order_args(order, **self._placement(order, params))

    def _algo_params(self, order: NautilusOrder, params: dict[str, Any] | None) -> dict[str, Any]:
        return new_algo_order_args(order, **self._placement(order, params))

    def _tracked_for(self, client_order_id_value: str) -> TrackedOrder | None:
        return self.tracker.get(client_order_id_value) or self._adopt(client_order_id_value)

    async def _modify_order(self, command: ModifyOrder) -> None:
        order = self._cache.order(command.client_order_id)
        tracked = self._tracked_for(command.client_order_id.value)
        if order is None or tracked is None:
            reject_not_found(self.generate_order_modify_rejected, command, self._clock.timestamp_ns())
            return
        if order.order_type != OrderType.LIMIT:
            self.generate_order_modify_rejected(
                order.strategy_id,
                order.instrument_id,
                order.client_order_id,
                order.venue_order_id,
                "Binance can only amend LIMIT orders",
                self._clock.timestamp_ns(),
            )
            return
        quantity = command.quantity or order.quantity
        price = command.price or order.price
        info = self._instrument_info(tracked.symbol)
        try:
            amended = await self._amend_order(
                tracked.symbol,
                WIRE_ORDER_SIDE[order.side],
                str(quantity),
                str(price),
                order.client_order_id.value,
            )
        except BinanceRejection as exc:
            self.generate_order_modify_rejected(
                order.strategy_id,
                order.instrument_id,
                order.client_order_id,
                order.venue_order_id,
                f"{exc.code}: {exc.msg}",
                self._clock.timestamp_ns(),
            )
            return
        except BinanceError as exc:
            self._log.warning(f"Modify of {order.client_order_id} ambiguous ({exc!r}); resolving by query")
            self._side_tasks.spawn(self._resolve_modify(tracked), f"modify-{order.client_order_id.value}")
            return
        self._apply_amendment(tracked, amended.orderId, amended.origQty, amended.price, info)

    def _apply_amendment(
        self, tracked: TrackedOrder, order_id: int, qty: str, price: str, info: InstrumentInfo
    ) -> None:
        from adapters.binance_futures.parsing import parse_price, parse_quantity

        self.facts.amended(
            tracked,
            VenueOrderId(str(order_id)),
            Decimal(qty),
            Decimal(price),
            lambda q: parse_quantity(str(q), info.size_precision),
            lambda p: parse_price(str(p), info.price_precision),
            self._clock.timestamp_ns(),
        )

    async def _resolve_modify(self, tracked: TrackedOrder) -> None:
        backoff = Backoff(0.25, 2.0, 5.0)
        self.resolutions["modify"] += 1
        while True:
            try:
                o = await self._query_venue_order(tracked.symbol, tracked.client_order_id.value)
            except BinanceError as exc:
                self._log.warning(f"Resolving modify of {tracked.client_order_id} failed ({exc!r}); retrying")
                await asyncio.sleep(backoff.next_delay())
                continue
            self._apply_amendment(
                tracked, o.orderId, o.origQty, o.price, self._instrument_info(tracked.symbol)
            )
            self.sync.apply_order(tracked, o)
            return

    async def _cancel_order(self, command: CancelOrder) -> None:
        tracked = self._tracked_for(command.client_order_id.value)
        if tracked is None:
            reject_not_found(self.generate_order_cancel_rejected, command, self._clock.timestamp_ns())
            return
        await self._cancel_tracked(tracked, command.venue_order_id)

    async def _cancel_tracked(self, tracked: TrackedOrder, venue_order_id: VenueOrderId | None) -> None:
        cid = tracked.client_order_id.value
        try:
            if tracked.is_algo and not tracked.triggered:
                try:
                    await self._cancel_algo(cid)
                except BinanceRejection as exc:
                    if not exc.is_unknown_order:
                        raise
                    # It triggered meanwhile: it is a regular order now.
                    tracked.triggered = True
                else:
                    voi = tracked.venue_order_id or VenueOrderId(str(tracked.algo_id))
                    self.facts.canceled(tracked, voi, Decimal(0), self._clock.timestamp_ns())
                    return
            canceled = await self._cancel_regular(tracked.symbol, cid)
            self.facts.canceled(
                tracked,
                VenueOrderId(str(canceled.orderId)),
                Decimal(canceled.executedQty or "0"),
                self._clock.timestamp_ns(),
            )
        except BinanceRejection as exc:
            if exc.is_unknown_order:
                # Usually already filled or canceled: learn the final state rather than guess.
                self._side_tasks.spawn(
                    self._resolve_cancel(tracked, f"{exc.code}: {exc.msg}"), f"cancel-{cid}"
                )
                return
            self.generate_order_cancel_rejected(
                tracked.strategy_id,
                tracked.instrument_id,
                tracked.client_order_id,
                venue_order_id or tracked.venue_order_id,
                f"{exc.code}: {exc.msg}",
                self._clock.timestamp_ns(),
            )
        except BinanceError as exc:
            self._log.warning(f"Cancel of {cid} ambiguous ({exc!r}); resolving by query")
            self._side_tasks.spawn(self._resolve_cancel(tracked, None), f"cancel-{cid}")

    async def _resolve_cancel(self, tracked: TrackedOrder, rejection: str | None) -> None:
        await self._resolver.resolve_cancel(
            tracked,
            rejection,
            lambda t, exc: self._log.warning(
                f"Resolving cancel of {t.client_order_id} failed ({exc!r}); retrying"
            ),
        )

    def _cancel_rejected(self, tracked: TrackedOrder, reason: str) -> None:
        self.generate_order_cancel_rejected(
            tracked.strategy_id,
            tracked.instrument_id,
            tracked.client_order_id,
            tracked.venue_order_id,
            reason,
            self._clock.timestamp_ns(),
        )

    async def _cancel_all_orders(self, command: CancelAllOrders) -> None:
        symbol = venue_symbol(command.instrument_id)
        if command.order_side != OrderSide.NO_ORDER_SIDE:
            for order in self._cache.orders_open(
                instrument_id=command.instrument_id, side=command.order_side
            ):
                tracked = self._tracked_for(order.client_order_id.value)
                if tracked is not None:
                    await self._cancel_tracked(tracked, order.venue_order_id)
            return
        # Final states arrive on the user stream (or through recovery if it is down).
        for name, call in (
            ("allOpenOrders", self._http.cancel_all_open_orders),
            ("algoOpenOrders", self._http.cancel_all_algo_orders),
        ):
            try:
                await call(symbol)
            except BinanceError as exc:
                self._log.error(f"Cancel-all ({name}) for {symbol} failed: {exc!r}")

    async def _batch_cancel_orders(self, command: BatchCancelOrders) -> None:
        """Regular orders go out in ``DELETE /batchOrders`` chunks (per symbol, at most 10); untriggered
        algo orders live in the algo service and are canceled one by one."""
        by_symbol: dict[str, list[TrackedOrder]] = {}
        for cancel in command.cancels:
            tracked = self._tracked_for(cancel.client_order_id.value)
            if tracked is None:
                await self._cancel_order(cancel)  # emits the rejection
            elif tracked.is_algo and not tracked.triggered:
                await self._cancel_tracked(tracked, cancel.venue_order_id)
            else:
                by_symbol.setdefault(tracked.symbol, []).append(tracked)
        for symbol, orders in by_symbol.items():
            for i in range(0, len(orders), _BATCH_CANCEL_MAX):
                await self._batch_cancel_chunk(symbol, orders[i : i + _BATCH_CANCEL_MAX])

    async def _batch_cancel_chunk(self, symbol: str, orders: list[TrackedOrder]) -> None:
        try:
            results = await self._http.batch_orders(
                "DELETE", symbol=symbol, orig_client_order_ids=[o.client_order_id.value for o in orders]
            )
        except BinanceError as exc:
            self._log.warning(f"Batch cancel on {symbol} failed ({exc!r}); canceling one by one")
            for tracked in orders:
                await self._cancel_tracked(tracked, tracked.venue_order_id)
            return
        for tracked, result in zip(orders, results, strict=False):
            if isinstance(result, BatchOrderError):
                rejection = f"{result.code}: {result.msg}"
                if result.code in (CODE_CANCEL_REJECTED, CODE_NO_SUCH_ORDER):
                    cid = tracked.client_order_id.value
                    self._side_tasks.spawn(self._resolve_cancel(tracked, rejection), f"cancel-{cid}")
                else:
                    self.generate_order_cancel_rejected(
                        tracked.strategy_id,
                        tracked.instrument_id,
                        tracked.client_order_id,
                        tracked.venue_order_id,
                        rejection,
                        self._clock.timestamp_ns(),
                    )
            else:
                self.facts.canceled(
                    tracked,
                    VenueOrderId(str(result.orderId)),
                    Decimal(result.executedQty or "0"),
                    self._clock.timestamp_ns(),
                )

    async def _query_order(self, command: QueryOrder) -> None:
        """The engine's in-flight check asks about an order. One of ours is resolved through
        ``OrderFacts`` (events, each fact once) rather than answered with a report the engine would
        reconcile on its own — its OrderAccepted would race the one our resolver emits."""
        tracked = self._tracked_for(command.client_order_id.value)
        if tracked is None:
            await super()._query_order(command)
            return
        try:
            found = await self._resolve_order(tracked)
        except BinanceError as exc:
            self._pylog.warning("query of %s failed: %r", command.client_order_id, exc)
            return
        if not found:
            self._pylog.info("query: %s is not on the venue (yet)", command.client_order_id)

    async def _query_account(self, command: QueryAccount) -> None:
        try:
            await self._update_account_state()
        except BinanceError as exc:
            self._log.error(f"Account query failed: {exc!r}")

    # ------------------------------------------------------------------------------------------
    # Reconciliation reports (startup and the engine's periodic checks)
    # ------------------------------------------------------------------------------------------
    def _report_timeout(self) -> float:
        return report_timeout(self._config.http_timeout_secs)

    async def generate_order_status_report(
        self, command: GenerateOrderStatusReport
    ) -> OrderStatusReport | None:
        symbol = venue_symbol(command.instrument_id)
        info = self._instrument_info(symbol)
        cid = command.client_order_id.value if command.client_order_id else None
        oid = (
            int(command.venue_order_id.value)
            if command.venue_order_id and command.venue_order_id.value.isdigit()
            else None
        )
        try:
            async with asyncio.timeout(self._report_timeout()):
                tracked = self.tracker.get(cid) if cid else None
                if tracked is not None and tracked.is_algo and not tracked.triggered:
                    algo = await self._read(
                        "algo order query", lambda: self._http.query_algo_order(client_algo_id=cid)
                    )
                    return algo_order_to_status_report(
                        algo,
                        self.account_id,
                        info.instrument_id,
                        info.price_precision,
                        info.size_precision,
                        self._clock.timestamp_ns(),
                        self._config.treat_expired_as_canceled,
                    )
                o = await self._read(
                    "order query",
                    lambda: self._http.query_order(
                        symbol, order_id=None if cid else oid, orig_client_order_id=cid
                    ),
                )
        except BinanceRejection as exc:
            if exc.is_unknown_order:
                return None
            self._log.error(f"Order status report for {cid or oid} failed: {exc!r}")
            return None
        except (BinanceError, TimeoutError) as exc:
            self._log.error(f"Order status report for {cid or oid} failed: {exc!r}")
            return None
        return order_to_status_report(
            o,
            self.account_id,
            info.instrument_id,
            info.price_precision,
            info.size_precision,
            self._clock.timestamp_ns(),
            self._config.treat_expired_as_canceled,
            self._venue_position_id(info.instrument_id, o.positionSide),
        )

    async def generate_order_status_reports(
        self, command: GenerateOrderStatusReports
    ) -> list[OrderStatusReport]:
        symbol = venue_symbol(command.instrument_id) if command.instrument_id else None
        ts_init = self._clock.timestamp_ns()
        reports: list[OrderStatusReport] = []
        start, end = ms_or_none(command.start), ms_or_none(command.end)
        async with asyncio.timeout(self._report_timeout()):
            orders = await self._read("open orders query", lambda: self._http.open_orders(symbol))
            algos = await self._read("open algo orders query", lambda: self._http.open_algo_orders(symbol))
            await open_and_history_orders(
                orders,
                open_only=command.open_only,
                symbols=lambda: self._history_symbols(symbol),
                history=lambda sym: self._read(
                    "order history query",
                    lambda: self._http.all_orders(sym, start_time=start, end_time=end),
                ),
                order_id=lambda o: o.orderId,
            )
        for o in orders:
            info = self._instrument_info(o.symbol)
            if not is_managed(self._cache, info.instrument_id, lambda o=o: _describe(o), self._pylog):  # type: ignore[misc]
                continue
            self._append_report(
                reports,
                o.clientOrderId,
                lambda o=o, info=info: order_to_status_report(  # type: ignore[misc]
                    o,
                    self.account_id,
                    info.instrument_id,
                    info.price_precision,
                    info.size_precision,
                    ts_init,
                    self._config.treat_expired_as_canceled,
                    self._venue_position_id(info.instrument_id, o.positionSide),
                ),
            )
        for a in algos:
            info = self._instrument_info(a.symbol)
            if not is_managed(self._cache, info.instrument_id, lambda a=a: _describe_algo(a), self._pylog):  # type: ignore[misc]
                continue
            self._append_report(
                reports,
                a.clientAlgoId,
                lambda a=a, info=info: algo_order_to_status_report(  # type: ignore[misc]
                    a,
                    self.account_id,
                    info.instrument_id,
                    info.price_precision,
                    info.size_precision,
                    ts_init,
                    self._config.treat_expired_as_canceled,
                ),
            )
        return reports

    def _append_report(
        self, reports: list[OrderStatusReport], client_id: str, build: Callable[[], OrderStatusReport]
    ) -> None:
        """See :func:`adapters.core.client.exec_client.append_or_skip`."""
        append_or_skip(
            reports,
            build,
            lambda exc: self._log.warning(f"Order {client_id} skipped in reconciliation: {exc}"),
        )

    async def generate_fill_reports(self, command: GenerateFillReports) -> list[FillReport]:
        symbol = venue_symbol(command.instrument_id) if command.instrument_id else None
        ts_init = self._clock.timestamp_ns()
        reports: list[FillReport] = []
        oid = (
            int(command.venue_order_id.value)
            if command.venue_order_id and command.venue_order_id.value.isdigit()
            else None
        )
        start, end = ms_or_none(command.start), ms_or_none(command.end)
        async with asyncio.timeout(self._report_timeout()):
            for sym in await self._history_symbols(symbol):
                trades = await self._read(
                    "trade history query",
                    lambda sym=sym: self._http.user_trades(  # type: ignore[misc]
                        sym, order_id=oid, start_time=start, end_time=end
                    ),
                )
                info = self._instrument_info(sym)
                for t in trades:
                    # Not marked delivered here: the engine may not apply it (it applies no fill to
                    # an order its status report says is open and unfilled). What it did apply is
                    # read from its cache when the startup sync tracks the orders.
                    reports.append(
                        user_trade_to_fill_report(
                            t,
                            self.account_id,
                            info.instrument_id,
                            info.price_precision,
                            info.size_precision,
                            ts_init,
                            None,
                            self._venue_position_id(info.instrument_id, t.positionSide),
                        )
                    )
        return reports

    async def generate_position_status_reports(
        self, command: GeneratePositionStatusReports
    ) -> list[PositionStatusReport]:
        symbol = venue_symbol(command.instrument_id) if command.instrument_id else None
        return await position_status_reports(
            lambda: self._http.position_risk(symbol),
            within=self._report_timeout(),
            ts_init=self._clock.timestamp_ns(),
            is_flat=_flat,
            instruments=self._instrument_info,
            position_id=self._venue_position_id,
            account_id=self.account_id,
            to_report=position_to_status_report,
            managed=lambda p, iid: is_managed(
                self._cache, iid, lambda: f"position {p.symbol} {p.positionSide} {p.positionAmt}", self._pylog
            ),
            logger=self._pylog,
        )

    async def _read(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """A read-only query of a report, retried on transient errors (see core.net.read_retry)."""
        return await read_with_retry(call, what=what, logger=self._pylog)

    async def _history_symbols(self, symbol: str | None) -> list[str]:
        """Binance's order and trade history is per symbol, so reconciliation must name them.

        Without one: every symbol this node's cache knows, every symbol the *venue* shows activity
        in (open orders, open algo orders, non-zero positions) — a restarted node's cache is empty,
        yet fills made while it was down must still be found — and, when few instruments are loaded
        (``reconciliation_max_symbols``), all of them: a position opened and closed while the node
        was down leaves no other trace. Querying hundreds of listed symbols would burn the weight
        budget, hence the bound.
        """
        return await history_symbols(
            symbol,
            cache=self._cache,
            venue=BINANCE_VENUE,
            venue_symbol=venue_symbol,
            venue_active=(
                self._open_order_symbols,
                self._open_algo_symbols,
                self._position_symbols,
            ),
            loaded=self._provider.instruments_by_symbol,
            max_symbols=self._config.reconciliation_max_symbols,
        )

    async def _open_order_symbols(self) -> list[str]:
        return [o.symbol for o in await self._read("open orders query", self._http.open_orders)]

    async def _open_algo_symbols(self) -> list[str]:
        return [a.symbol for a in await self._read("open algo orders query", self._http.open_algo_orders)]

    async def _position_symbols(self) -> list[str]:
        positions = await self._read("positions query", self._http.position_risk)
        return [p.symbol for p in positions if not _flat(p)]


def _describe(o: VenueOrder) -> str:
    return f"order {o.clientOrderId} ({o.side} {o.origQty}, {o.executedQty} filled, {o.status})"


def _describe_algo(a: Any) -> str:
    return f"algo order {a.clientAlgoId} ({a.side} {a.quantity}, {a.algoStatus})"


def _flat(p: PositionRisk) -> bool:
    return Decimal(p.positionAmt or "0") == 0
