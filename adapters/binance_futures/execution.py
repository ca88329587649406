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
  never reached the venue). Its outcomes are classified exactly like REST's
  (:mod:`adapters.binance_futures.order_routing`); LIMIT orders are amended in place
  (:mod:`adapters.binance_futures.amend`).

Commands never guess: a venue rejection becomes a Rejected event with the venue's message; an
ambiguous outcome (timeout, 5xx, cut connection, -1006/-1007, a trading socket that died with the
request in flight) emits nothing final and is resolved by querying the order (``order.status`` on
the trading socket when it is READY, REST otherwise); an order is never re-sent blindly.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from nautilus_trader.execution.messages import GenerateOrderStatusReport, ModifyOrder
from nautilus_trader.execution.reports import FillReport, OrderStatusReport
from nautilus_trader.model.identifiers import (
    ClientOrderId,
    VenueOrderId,
)
from nautilus_trader.model.orders import Order as NautilusOrder

from adapters.binance_futures.amend import Amender
from adapters.binance_futures.config import BinanceFuturesExecClientConfig
from adapters.binance_futures.errors import (
    CODE_CANCEL_REJECTED,
    CODE_MAX_STOP_ORDER_EXCEEDED,
    CODE_NO_SUCH_ORDER,
    BinanceError,
    BinanceRejection,
)
from adapters.binance_futures.http import BatchOrderError, BinanceFuturesHttpClient
from adapters.binance_futures.listen_keys import RestListenKeys, WsApiListenKeys, trading_socket_and_keys
from adapters.binance_futures.order_routing import OrderRouter
from adapters.binance_futures.parsing import (
    ALGO_ORDER_TYPE,
    BINANCE_VENUE,
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
from adapters.binance_futures.schemas_rest import AlgoOrder, PositionRisk
from adapters.binance_futures.schemas_rest import Order as VenueOrder
from adapters.binance_futures.user_events import UserStreamHandler
from adapters.binance_futures.user_stream import BinanceUserStreamOps
from adapters.binance_futures.venue_sync import VenueSync
from adapters.binance_futures.ws_trading import BinanceWsTradingClient
from adapters.core.client.perp_execution import (
    ExecVenue,
    PerpExecutionClient,
    SymbolSource,
    venue_order_int,
)
from adapters.core.net.http_errors import VenueRejection
from adapters.core.net.read_retry import read_with_retry
from adapters.core.orders.order_tracking import TrackedOrder
from adapters.core.orders.reconciliation import open_and_history_orders
from adapters.core.parse.wire_values import safe_identifier
from adapters.core.userstream.stream_setup import ws_config

_BATCH_CANCEL_MAX = 10  # Binance DELETE batchOrders limit
T = TypeVar("T")


class BinanceFuturesExecutionClient(PerpExecutionClient):
    venue_error = BinanceError
    batch_cancel_max = _BATCH_CANCEL_MAX
    conditional_types = frozenset(ALGO_ORDER_TYPE)
    names = ExecVenue(
        venue=BINANCE_VENUE,
        account_type_suffix="USDT_FUTURES-master",
        logger_prefix="adapters.binance_futures",
        venue_symbol=venue_symbol,
        format_instrument_id=format_instrument_id,
        position_report=position_to_status_report,
    )

    _config: BinanceFuturesExecClientConfig
    _http: BinanceFuturesHttpClient
    _provider: BinanceFuturesInstrumentProvider
    stream_handler: UserStreamHandler
    sync: VenueSync
    stream_ops: BinanceUserStreamOps
    # The WS API's trading socket (optional, built with the stream operations): order entry with
    # ``use_ws_trading`` (REST whenever it is not READY), the user stream's listen key with
    # ``user_stream_via_ws_api`` (see adapters.binance_futures.listen_keys).
    ws_trading: BinanceWsTradingClient | None
    listen_key_ops: RestListenKeys | WsApiListenKeys

    def _init_venue(self) -> None:
        # Routing switch: ``route_orders_via_ws`` (benchmarks flip it to compare WS with REST).
        self.router = OrderRouter(
            self._http, lambda: self.ws_trading, via_ws=bool(self._config.use_ws_trading), logger=self._pylog
        )
        self.amender = Amender(
            router=self.router,
            sync=self.sync,
            cache=self._cache,
            log=self._log,
            **self._command_args(),
        )

    # ------------------------------------------------------------------------------------------
    # Wiring
    # ------------------------------------------------------------------------------------------
    def _make_stream_handler(self) -> UserStreamHandler:
        return UserStreamHandler(**self._handler_args(), report_external=self._report_external_later)

    def _make_sync(self) -> VenueSync:
        return VenueSync(**self._sync_args(), refresh_account=self._update_account_state)

    def _make_stream_ops(self) -> BinanceUserStreamOps:
        self.ws_trading, self.listen_key_ops = trading_socket_and_keys(
            self._config, self._http, logger=self._pylog, name=self.id.value
        )
        return BinanceUserStreamOps(
            keys=self.listen_key_ops, **self._stream_ops_args(self._config.urls().ws, ws_config(self._config))
        )

    # ------------------------------------------------------------------------------------------
    # Lifecycle
    # ------------------------------------------------------------------------------------------
    def _listen_key_via_ws_api(self) -> bool:
        return self._config.user_stream_via_ws_api and self.ws_trading is not None

    async def _check_position_mode(self) -> None:
        venue_hedge = await self._http.position_side_dual()
        if venue_hedge != self._hedge:
            raise RuntimeError(
                f"position mode mismatch: the account is in {'hedge' if venue_hedge else 'one-way'} mode "
                f"but dual_side_position={self._config.dual_side_position}; set it to {venue_hedge}"
            )

    async def _before_user_stream(self) -> None:
        if self._listen_key_via_ws_api():
            await self._start_ws_trading()  # the listen key is asked for on it

    async def _after_connect(self) -> None:
        if self.ws_trading is not None and not self._listen_key_via_ws_api():
            await self._start_ws_trading()

    async def _start_ws_trading(self) -> None:
        assert self.ws_trading is not None
        # Never fatal: until the trading socket is READY orders (and, with user_stream_via_ws_api,
        # listen-key requests) go over REST, and it keeps (re)connecting in the background.
        if await self.ws_trading.start():
            self._log.info(f"WS trading connected ({self.ws_trading.state.value})")
        else:
            self._log.warning("WS trading not connected yet; orders go over REST meanwhile")

    async def _stop_venue_io(self) -> None:
        # The trading socket first: no new order goes out on it, and a request still in flight
        # fails as ambiguous and is resolved by query (side tasks, closed after it, before REST).
        # With user_stream_via_ws_api the user stream stops first, so that its listen key is
        # stopped (userDataStream.stop) on the socket that made it.
        if self._config.user_stream_via_ws_api:
            self.startup.close()
            await self.user_stream.stop()
        if self.ws_trading is not None:
            await self.ws_trading.close()

    async def _update_account_state(self, *, reread: bool = False) -> None:
        asked_ms = self._http.now_ms()
        info = await self._http.account()
        balances, margins = account_info_to_balances(info)
        # Stamped with the venue's time of the read: a stream update older than it (still queued on
        # a socket being drained) must not revert what this read says.
        stamp = max((a.updateTime or 0 for a in info.assets), default=0) or asked_ms
        self._publish_account(balances, margins, max(stamp, asked_ms), reread=reread)

    # ------------------------------------------------------------------------------------------
    # Lookups
    # ------------------------------------------------------------------------------------------
    def _cached_by_client_id(self, client_order_id: str) -> NautilusOrder | None:
        if not safe_identifier(client_order_id):
            return None
        order = self._cache.order(ClientOrderId(client_order_id))
        return order if order is not None and order.instrument_id.venue == BINANCE_VENUE else None

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

    # ------------------------------------------------------------------------------------------
    # Submit
    # ------------------------------------------------------------------------------------------
    async def _place(
        self, order: NautilusOrder, tracked: TrackedOrder, params: dict[str, Any] | None
    ) -> None:
        if tracked.is_algo:
            algo = await self.router.place_algo(self._algo_params(order, params))
            tracked.algo_id = algo.algoId
            self.facts.accepted(tracked, VenueOrderId(str(algo.algoId)), self._clock.timestamp_ns())
        else:
            placed = await self.router.place_order(self._order_params(order, params))
            self.facts.accepted(tracked, VenueOrderId(str(placed.orderId)), self._clock.timestamp_ns())

    def _submit_rejected(self, tracked: TrackedOrder, exc: VenueRejection) -> None:
        if exc.code == CODE_MAX_STOP_ORDER_EXCEEDED:
            self._log.warning(
                f"Conditional order {tracked.client_order_id} rejected: the account already has the "
                "maximum of open conditional orders (200 across all symbols); cancel some first"
            )
        super()._submit_rejected(tracked, exc)

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

    # ------------------------------------------------------------------------------------------
    # Routing: WS trading API when READY, REST otherwise (adapters.binance_futures.order_routing)
    # ------------------------------------------------------------------------------------------
    @property
    def route_orders_via_ws(self) -> bool:
        return self.router.via_ws

    @route_orders_via_ws.setter
    def route_orders_via_ws(self, value: bool) -> None:
        self.router.via_ws = value

    async def _resolve_order(self, tracked: TrackedOrder) -> bool:
        """:meth:`VenueSync.resolve_order` with the order query routed like commands. Returns False
        when the venue does not know the order; raises on transport/ambiguous errors."""
        if tracked.is_algo and not tracked.triggered:
            return await self.sync.resolve_order(tracked)
        try:
            o = await self.router.query_order(tracked.symbol, tracked.client_order_id.value)
        except BinanceRejection as exc:
            if exc.is_unknown_order:
                return False
            raise
        await self.sync.sync_order(tracked, o)
        return True

    # ------------------------------------------------------------------------------------------
    # Modify: Binance amends LIMIT orders in place (adapters.binance_futures.amend)
    # ------------------------------------------------------------------------------------------
    async def _modify(self, order: NautilusOrder, tracked: TrackedOrder, command: ModifyOrder) -> None:
        await self.amender.modify(order, tracked, command)

    # ------------------------------------------------------------------------------------------
    # Cancel
    # ------------------------------------------------------------------------------------------
    async def _send_cancel(self, tracked: TrackedOrder) -> None:
        cid = tracked.client_order_id.value
        if tracked.is_algo and not tracked.triggered:
            try:
                await self.router.cancel_algo(cid)
            except BinanceRejection as exc:
                if not exc.is_unknown_order:
                    raise
                # It triggered meanwhile: it is a regular order now.
                tracked.triggered = True
            else:
                voi = tracked.venue_order_id or VenueOrderId(str(tracked.algo_id))
                self.facts.canceled(tracked, voi, Decimal(0), self._clock.timestamp_ns())
                return
        canceled = await self.router.cancel_regular(tracked.symbol, cid)
        self.facts.canceled(
            tracked,
            VenueOrderId(str(canceled.orderId)),
            Decimal(canceled.executedQty or "0"),
            self._clock.timestamp_ns(),
        )

    async def _cancel_on_venue(self, order: TrackedOrder, venue_order_id: VenueOrderId) -> None:
        await self.router.cancel_regular(order.symbol, order.client_order_id.value)

    async def _cancel_all_on_venue(self, symbol: str) -> None:
        for name, call in (
            ("allOpenOrders", self._http.cancel_all_open_orders),
            ("algoOpenOrders", self._http.cancel_all_algo_orders),
        ):
            try:
                await call(symbol)
            except BinanceError as exc:
                self._log.error(f"Cancel-all ({name}) for {symbol} failed: {exc!r}")

    async def _cancel_outside_batch(self, tracked: TrackedOrder, venue_order_id: VenueOrderId | None) -> bool:
        """Untriggered algo orders live in the algo service: canceled one by one."""
        if tracked.is_algo and not tracked.triggered:
            await self._cancel_tracked(tracked, venue_order_id)
            return True
        return False

    async def _batch_cancel_chunk(self, symbol: str, orders: list[TrackedOrder]) -> None:
        """One ``DELETE /batchOrders`` (at most 10 orders of one symbol)."""
        try:
            results = await self._http.batch_orders(
                "DELETE", symbol=symbol, orig_client_order_ids=[o.client_order_id.value for o in orders]
            )
        except BinanceError as exc:
            await self._cancel_each(symbol, orders, exc)
            return
        for tracked, result in zip(orders, results, strict=False):
            if isinstance(result, BatchOrderError):
                rejection = f"{result.code}: {result.msg}"
                if result.code in (CODE_CANCEL_REJECTED, CODE_NO_SUCH_ORDER):
                    self._resolve_cancel_later(tracked, rejection)
                else:
                    self._cancel_rejected(tracked, rejection, tracked.venue_order_id)
            else:
                self.facts.canceled(
                    tracked,
                    VenueOrderId(str(result.orderId)),
                    Decimal(result.executedQty or "0"),
                    self._clock.timestamp_ns(),
                )

    # ------------------------------------------------------------------------------------------
    # Reconciliation reports
    # ------------------------------------------------------------------------------------------
    async def _order_status_report(
        self, command: GenerateOrderStatusReport, tracked: TrackedOrder | None
    ) -> OrderStatusReport | None:
        symbol = venue_symbol(command.instrument_id)
        cid = command.client_order_id.value if command.client_order_id else None
        if tracked is not None and tracked.is_algo and not tracked.triggered:
            algo = await self._read(
                "algo order query", lambda: self._http.query_algo_order(client_algo_id=cid)
            )
            return self._order_report(algo, self._clock.timestamp_ns())
        oid = None if cid else venue_order_int(command.venue_order_id)
        o = await self._read(
            "order query", lambda: self._http.query_order(symbol, order_id=oid, orig_client_order_id=cid)
        )
        return self._order_report(o, self._clock.timestamp_ns())

    async def _report_orders(
        self, symbol: str | None, open_only: bool, start: int | None, end: int | None
    ) -> list[VenueOrder | AlgoOrder]:
        orders = await self._read("open orders query", lambda: self._http.open_orders(symbol))
        algos = await self._read("open algo orders query", lambda: self._http.open_algo_orders(symbol))
        await open_and_history_orders(
            orders,
            open_only=open_only,
            symbols=lambda: self._history_symbols(symbol),
            history=lambda sym: self._read(
                "order history query", lambda: self._http.all_orders(sym, start_time=start, end_time=end)
            ),
            order_id=lambda o: o.orderId,
        )
        return [*orders, *algos]

    def _order_report(self, order: VenueOrder | AlgoOrder, ts_init: int) -> OrderStatusReport:
        info = self._instrument_info(order.symbol)
        if isinstance(order, AlgoOrder):
            return algo_order_to_status_report(
                order,
                *info.report_head(self.account_id, ts_init),
                self._config.treat_expired_as_canceled,
            )
        return order_to_status_report(
            order,
            *info.report_head(self.account_id, ts_init),
            self._config.treat_expired_as_canceled,
            self._venue_position_id(info.instrument_id, order.positionSide),
        )

    def _describe_order(self, order: VenueOrder | AlgoOrder) -> str:
        if isinstance(order, AlgoOrder):
            return f"algo order {order.clientAlgoId} ({order.side} {order.quantity}, {order.algoStatus})"
        o = order
        return f"order {o.clientOrderId} ({o.side} {o.origQty}, {o.executedQty} filled, {o.status})"

    async def _fill_reports(
        self, symbol: str, order_id: int | None, start: int | None, end: int | None, ts_init: int
    ) -> list[FillReport]:
        trades = await self._read(
            "trade history query",
            lambda: self._http.user_trades(symbol, order_id=order_id, start_time=start, end_time=end),
        )
        info = self._instrument_info(symbol)
        return [
            user_trade_to_fill_report(
                t,
                *info.report_head(self.account_id, ts_init),
                None,
                self._venue_position_id(info.instrument_id, t.positionSide),
            )
            for t in trades
        ]

    async def _positions(self, symbol: str | None) -> list[PositionRisk]:
        return await self._http.position_risk(symbol)

    def _position_amount(self, position: PositionRisk) -> Decimal:
        return Decimal(position.positionAmt or "0")

    def _venue_active_symbols(self) -> tuple[SymbolSource, ...]:
        # Untriggered algo orders are not among the open orders.
        return (self._open_order_symbols, self._open_algo_symbols, self._position_symbols)

    async def _open_algo_symbols(self) -> list[str]:
        return [a.symbol for a in await self._read("open algo orders query", self._http.open_algo_orders)]
