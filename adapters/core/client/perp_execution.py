"""``PerpExecutionClient``: the skeleton of both venues' ``LiveExecutionClient``.

Each venue's execution client says only what is the venue's: how an order is placed, amended (or
canceled and replaced), canceled one by one and in batches, which queries the venue answers and how
its answers become reports. What the two would otherwise repeat lives here, once:

* **Wiring**: precision resolver, instrument cache, owned side tasks, order tracker, ``OrderFacts``,
  fill repairs, ambiguity resolver, account re-read, user-stream service and startup hold, built in
  the same order for both. The venue builds its handler, sync and stream operations
  (:meth:`_make_stream_handler`, :meth:`_make_sync`, :meth:`_make_stream_ops`).
* **Connect / disconnect order**: clock, instruments, position repair (before NautilusTrader
  reconciles the cache), position mode, account, then the user stream held until the startup
  reconciliation; on disconnect the venue's own sockets first, then the stream, the side tasks and
  REST last.
* **Commands**: submit (a rejection is a Rejected event, a request never sent too, an ambiguous
  outcome is resolved by querying), cancel (an order the venue no longer knows is resolved, not
  declared canceled), cancel-all by side, batch cancel chunked per symbol, order and account
  queries.
* **Reports**: the time bounds, the managed-instrument filter, skipping what a report cannot
  represent, the history symbols, positions, and the mass status taken so that it agrees.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Protocol, TypeVar

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
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide, OrderStatus, OrderType
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientId,
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
    Venue,
    VenueOrderId,
)
from nautilus_trader.model.objects import AccountBalance, MarginBalance
from nautilus_trader.model.orders import Order as NautilusOrder

from adapters.core.base import log_bridge
from adapters.core.base.tasks import OwnedTasks
from adapters.core.client.client_config import PerpExecClientConfig
from adapters.core.market.perpetual_provider import PerpetualInstrumentProvider
from adapters.core.net.http_errors import VenueAmbiguous, VenueError, VenueRejection, VenueTransportError
from adapters.core.net.read_retry import read_with_retry
from adapters.core.net.ws_connection import WsConfig
from adapters.core.orders.balance_clock import AccountReread, BalanceClock
from adapters.core.orders.cache_orders import (
    adopt_cache_orders,
    cached_order_by_venue_id,
    track_cached,
    tracked_for_submit,
    tracked_from_cache,
)
from adapters.core.orders.order_facts import OrderFacts
from adapters.core.orders.order_tracking import OrderTracker, TrackedOrder
from adapters.core.orders.position_repair import repair_positions
from adapters.core.orders.reconciliation import (
    append_or_skip,
    consistent_mass_status,
    history_symbols,
    is_managed,
    ms_or_none,
    position_status_reports,
    report_timeout,
    walk_symbols,
)
from adapters.core.orders.resolution import ACCEPT_MARGIN_SECS, AmbiguityResolver, FillRepairs
from adapters.core.parse.instrument_ids import make_position_id
from adapters.core.parse.instrument_info import InstrumentInfo, InstrumentInfoCache, load_instruments
from adapters.core.parse.precision import PrecisionResolver
from adapters.core.userstream.startup import StartupRelease
from adapters.core.userstream.stream_setup import StreamOps, user_stream_service

T = TypeVar("T")

SymbolSource = Callable[[], Awaitable[Iterable[str]]]  # symbols the venue shows activity in
# The venue's parser: position, account, instrument id, size precision, ts_init, venue position id.
PositionParser = Callable[[Any, AccountId, InstrumentId, int, int, PositionId | None], PositionStatusReport]
RejectEvent = Callable[[StrategyId, InstrumentId, ClientOrderId, VenueOrderId | None, str, int], None]


def reject_not_found(reject: RejectEvent, command: CancelOrder | ModifyOrder, ts: int) -> None:
    """A cancel or modify of an order this client neither tracks nor finds in the cache: ``reject``
    is the exec client's ``generate_order_cancel_rejected`` or ``generate_order_modify_rejected``."""
    reject(
        command.strategy_id,
        command.instrument_id,
        command.client_order_id,
        command.venue_order_id,
        "order not found",
        ts,
    )


def venue_order_int(venue_order_id: VenueOrderId | None) -> int | None:
    """The venue's numeric order id, or None (no id, or one the venue did not give, e.g. an algo's)."""
    if venue_order_id is None or not venue_order_id.value.isdigit():
        return None
    return int(venue_order_id.value)


@dataclass(frozen=True, slots=True)
class ExecVenue:
    """How a venue's execution client names things: the skeleton's venue-specific constants."""

    venue: Venue
    account_type_suffix: str  # the account id is ``<client id>-<suffix>``
    logger_prefix: str  # the client logs as ``<logger_prefix>.<client id>``
    venue_symbol: Callable[[InstrumentId], str]
    format_instrument_id: Callable[[str], InstrumentId]
    position_report: PositionParser


class VenueItem(Protocol):
    """An order or position as the venue lists it: reports are grouped by its symbol."""

    @property
    def symbol(self) -> str: ...


class PerpHttp(Protocol):
    """The REST calls the skeleton makes itself."""

    def now_ms(self) -> int: ...
    async def sync_time(self) -> Any: ...
    async def close(self) -> None: ...
    async def open_orders(self, symbol: str | None = None) -> Sequence[VenueItem]: ...


class StreamHandler(Protocol):
    @property
    def balance_clock(self) -> BalanceClock: ...


class OrderSync(Protocol):
    async def resolve_order(self, tracked: TrackedOrder) -> bool: ...


class PerpExecutionClient(LiveExecutionClient):
    """The venue-neutral part of a perpetual-futures execution client (see the module docstring).

    A venue subclass names its venue in :attr:`names`, builds its own pieces in :meth:`_init_venue`
    and implements the hooks (the methods below that raise ``NotImplementedError``). It is built
    with the arguments NautilusTrader's factories pass (see
    :mod:`adapters.core.client.client_factory`); the position mode follows ``dual_side_position``.
    """

    venue_error: ClassVar[type[VenueError]] = VenueError  # the base of what the venue's calls raise
    batch_cancel_max: ClassVar[int] = 10  # orders per batch-cancel request
    conditional_types: ClassVar[frozenset[OrderType]] = frozenset()  # placed as conditional/algo
    names: ClassVar[ExecVenue]

    _config: PerpExecClientConfig
    _http: PerpHttp
    stream_handler: StreamHandler
    sync: OrderSync
    stream_ops: StreamOps

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client_id: ClientId,
        config: PerpExecClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: PerpetualInstrumentProvider,
        http: PerpHttp,
    ) -> None:
        names = self.names
        hedge = bool(config.dual_side_position)
        super().__init__(
            loop=loop,
            client_id=client_id,
            venue=names.venue,
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
        self._set_account_id(AccountId(f"{client_id.value}-{names.account_type_suffix}"))
        self._provider = instrument_provider
        self._http = http
        self._venue_symbol = names.venue_symbol
        self._position_report = names.position_report
        log_bridge.install()
        self._pylog = logging.getLogger(f"{names.logger_prefix}.{client_id.value}")
        self._started_ms = 0

        self._precision = PrecisionResolver(
            lookup=instrument_provider.find_by_symbol,
            formatter=names.format_instrument_id,
            logger=self._pylog,
        )
        self._infos = InstrumentInfoCache(self._precision, instrument_provider.find_by_symbol, InstrumentInfo)
        self._instrument_infos = self._infos.infos
        self._side_tasks = OwnedTasks(f"{client_id.value}-exec", self._pylog)

        self.tracker = OrderTracker(retention=self._config.closed_order_retention_secs)
        self._init_order_state()
        # One repair task per order whose venue state is ahead of the engine's (missing fills, a
        # terminal held for them, an overfill to reconcile): its state and fills fetched by id.
        self.repairs = FillRepairs(
            self._repair_order, tasks=self._side_tasks, errors=self.venue_error, logger=self._pylog
        )
        self.facts = OrderFacts(
            self.tracker,
            self,
            treat_expired_as_canceled=self._config.treat_expired_as_canceled,
            request_fills=self.repairs.request,
            engine_status=self._engine_status,
            on_live_after_rejected=self._cancel_zombie,
            logger=self._pylog,
        )
        # Ambiguous submits and cancels are resolved by querying the order; a submit stays
        # unresolved while the venue may still accept it (its recvWindow).
        self._resolver = AmbiguityResolver(
            facts=self.facts,
            clock_ns=self._clock.timestamp_ns,
            query=self._resolve_order,
            errors=self.venue_error,
            cancel_rejected=self._cancel_rejected,
            accept_window_secs=self._accept_window_secs(),
        )
        # How many ambiguous outcomes were resolved by querying, per command kind.
        self.resolutions = self._resolver.resolutions
        self.stream_handler = self._make_stream_handler()
        # A stream balance update declined as older than a REST read: read the account again (the
        # read's stamp can run ahead of the venue's clock; adapters.core.orders.balance_clock).
        self.account_reread = AccountReread(
            lambda: self._update_account_state(reread=True), self._side_tasks.spawn
        )
        self.stream_handler.balance_clock.on_stale = self.account_reread
        self.position_repairs = 0  # fills re-applied to positions at connect (position_repair)
        self.sync = self._make_sync()
        self.stream_ops = self._make_stream_ops()
        self.user_stream = user_stream_service(
            self.stream_ops,
            self._config,
            name=f"{client_id.value}-user-stream",
            logger=self._pylog,
            **self._stream_options(),
        )
        self.startup = StartupRelease(
            msgbus=msgbus,
            trader_id=self.trader_id.value,
            user_stream=self.user_stream if self._streams_user_events() else None,
            adopt_open_orders=self._adopt_open_orders,
            resolve_in_flight=self._resolve_in_flight,
            tasks=self._side_tasks,
            timeout_secs=self._config.startup_hold_timeout_secs,
            logger=self._pylog,
        )
        self._init_venue()

    # ------------------------------------------------------------------------------------------
    # Venue hooks: wiring
    # ------------------------------------------------------------------------------------------
    def _init_venue(self) -> None:
        """The venue's own pieces (order routing, modify machinery, pollers), built last."""

    def _init_order_state(self) -> None:
        """The venue's own per-order state, built on the tracker before anything that uses it."""

    def _make_stream_handler(self) -> StreamHandler:
        raise NotImplementedError

    def _make_sync(self) -> OrderSync:
        raise NotImplementedError

    def _make_stream_ops(self) -> StreamOps:
        raise NotImplementedError

    def _stream_options(self) -> dict[str, Any]:
        """Further options of the user-stream service (e.g. rotation)."""
        return {}

    def _streams_user_events(self) -> bool:
        """False when the venue's events come only from polling (no user stream is started)."""
        return True

    def _handler_args(self) -> dict[str, Any]:
        """What every venue's user-stream handler is built with."""
        return {
            "facts": self.facts,
            "sink": self,
            "client_id": self.id,
            "account_id": self.account_id,
            "instruments": self._instrument_info,
            "adopt": self._adopt,
            "position_id": self._venue_position_id,
            "clock_ns": self._clock.timestamp_ns,
            "on_listen_key_expired": self._on_listen_key_expired,
            "treat_expired_as_canceled": self._config.treat_expired_as_canceled,
            "logger": self._pylog,
        }

    def _accept_window_secs(self) -> float:
        """How long the venue may still accept a request sent now (its recvWindow plus a margin)."""
        return self._config.recv_window_ms / 1000 + ACCEPT_MARGIN_SECS

    def _command_args(self) -> dict[str, Any]:
        """What a venue's modify machinery is built with: events, side tasks, resolution counts."""
        return {
            "facts": self.facts,
            "events": self,
            "tasks": self._side_tasks,
            "resolutions": self.resolutions,
            "clock_ns": self._clock.timestamp_ns,
            "accept_window_secs": self._accept_window_secs(),
            "instrument_info": self._instrument_info,
        }

    def _sync_args(self) -> dict[str, Any]:
        """What every venue's REST sync is built with."""
        return {
            "http": self._http,
            "facts": self.facts,
            "handler": self.stream_handler,
            "account_id": self.account_id,
            "instruments": self._instrument_info,
            "position_id": self._venue_position_id,
            "clock_ns": self._clock.timestamp_ns,
            "treat_expired_as_canceled": self._config.treat_expired_as_canceled,
            "since_ms": lambda: self._started_ms,
            "walk_symbols": self._walk_symbols,
            "logger": self._pylog,
        }

    def _stream_ops_args(self, ws_base_url: str, ws: WsConfig) -> dict[str, Any]:
        """What every venue's user-stream operations are built with (the socket's URL and config)."""
        return {
            "http": self._http,
            "sync": self.sync,
            "handler": self.stream_handler,
            "ws_base_url": ws_base_url,
            "ws_config": ws,
            "session": None,
            "logger": self._pylog,
        }

    def _walk_symbols(self) -> set[str]:
        return walk_symbols(
            cache=self._cache,
            venue=self.venue,
            venue_symbol=self._venue_symbol,
            loaded=self._provider.instruments_by_symbol,
            max_symbols=self._config.reconciliation_max_symbols,
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
        await self._check_position_mode()
        await self._update_account_state()
        await self._await_account_registered(timeout_secs=self._config.http_timeout_secs * 3)
        await self._before_user_stream()
        if self._streams_user_events():
            # Connected but held until NautilusTrader's startup reconciliation has been applied
            # (see adapters.core.userstream.startup): events queue meanwhile, none is lost or applied early.
            await self.user_stream.start(hold=True)
            self._log.info(
                f"User stream connected (listen key ...{(self.user_stream.ctx.listen_key or '')[-6:]}); "
                "held until startup reconciliation completes"
            )
        self.startup.arm()
        await self._after_connect()

    async def _disconnect(self) -> None:
        # Bounded even when the venue hangs: each step has its own timeout inside.
        await self._stop_venue_io()
        self.startup.close()
        if self._streams_user_events():
            await self.user_stream.stop()
        await self._side_tasks.close()
        await self._http.close()

    async def _check_position_mode(self) -> None:
        """Raise when the account's position mode is not the configured one."""
        raise NotImplementedError

    async def _before_user_stream(self) -> None:
        """What must run before the user stream starts."""

    async def _after_connect(self) -> None:
        """What starts once the user stream is held."""

    async def _stop_venue_io(self) -> None:
        """The venue's own sockets and loops, stopped before the user stream."""

    async def _update_account_state(self, *, reread: bool = False) -> None:
        """Read the account by REST and publish it (:meth:`_publish_account`)."""
        raise NotImplementedError

    def _publish_account(
        self, balances: list[AccountBalance], margins: list[MarginBalance], stamp_ms: int, *, reread: bool
    ) -> None:
        """A REST read of the account, stamped ``stamp_ms``: published unless a stream update newer
        than the read already was (the balance clock decides; ``reread``: the read is authoritative)."""
        balances = self.stream_handler.balance_clock.fresh(balances, stamp_ms, authoritative=reread)
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
        return make_position_id(instrument_id, position_side)

    def _cached_by_client_id(self, client_order_id: str) -> NautilusOrder | None:
        """The cache's order of this venue with this client id as the venue spells it, or None."""
        raise NotImplementedError

    def _echoed_client_id(self, client_order_id: str) -> str:
        """A NautilusTrader client id as the venue echoes it back."""
        return client_order_id

    def _register(self, tracked: TrackedOrder) -> TrackedOrder:
        return self.tracker.track(tracked)

    def _tracked_from_cache(self, order: NautilusOrder) -> TrackedOrder:
        return tracked_from_cache(
            order,
            symbol=self._venue_symbol(order.instrument_id),
            is_algo=order.order_type in self.conditional_types,
        )

    def _adopt(self, client_order_id: str, venue_order_id: str | None = None) -> TrackedOrder | None:
        """An order the engine's cache holds and the tracker does not know (submitted before a
        restart, or an external order the engine adopted from our report — found by its venue id
        whatever client id it got): tracked from now on, so its events stay events, not reports."""
        order = self._cached_by_client_id(client_order_id)
        by_venue_id = order is None
        if order is None:
            order = cached_order_by_venue_id(self._cache, self.venue, venue_order_id)
            if order is None:
                return None
        known = self.tracker.get(order.client_order_id.value)
        if known is not None:
            return known
        tracked = track_cached(
            order, register=self._register, to_tracked=self._tracked_from_cache, seen=self.tracker.mark_seen
        )
        tracked.external = by_venue_id
        return tracked

    def _adopt_open_orders(self) -> list[TrackedOrder]:
        return adopt_cache_orders(
            self._cache,
            self.venue,
            known=self.tracker.get,
            register=self._register,
            to_tracked=self._tracked_from_cache,
            seen=self.tracker.mark_seen,
        )

    def _tracked_for(self, client_order_id: str) -> TrackedOrder | None:
        return self.tracker.get(client_order_id) or self._adopt(self._echoed_client_id(client_order_id))

    def _lock_for(self, order: TrackedOrder) -> AbstractAsyncContextManager[object]:
        """What commands on one order run under (a venue whose modify is not atomic serialises them)."""
        return contextlib.nullcontext()

    def _on_listen_key_expired(self, reason: str) -> None:
        self.user_stream.trigger.fire(reason)

    def _engine_status(self, client_order_id: ClientOrderId) -> OrderStatus | None:
        order = self._cache.order(client_order_id)
        return order.status if order is not None else None

    # ------------------------------------------------------------------------------------------
    # Resolution by query
    # ------------------------------------------------------------------------------------------
    async def _resolve_order(self, tracked: TrackedOrder) -> bool:
        """Apply the venue's state of the order; False when the venue does not know it (raises
        ``venue_error`` on transport/ambiguous failures)."""
        return await self.sync.resolve_order(tracked)

    async def _repair_order(self, order: TrackedOrder) -> None:
        """The repair of an order whose venue state is ahead of the engine's."""
        await self.sync.resolve_order(order)

    def _resolve_in_flight(self, tracked: TrackedOrder) -> None:
        self._spawn_resolve_submit(tracked, "in flight when the previous process stopped")

    def _spawn_resolve_submit(self, tracked: TrackedOrder, why: str) -> None:
        tracked.ambiguous = True
        self._pylog.warning("submit of %s ambiguous (%s); resolving by query", tracked.client_order_id, why)
        self._side_tasks.spawn(self._resolve_submit(tracked), f"resolve-{tracked.client_order_id.value}")

    async def _resolve_submit(self, tracked: TrackedOrder) -> None:
        """Query until the venue gives a definite answer. A submit the venue does not know is only
        declared rejected once the venue can no longer accept it. Never re-sent."""
        await self._resolver.resolve_submit(
            tracked,
            lambda t, exc: self._pylog.warning("resolving %s failed (%r); retrying", t.client_order_id, exc),
        )

    def _resolve_cancel_later(self, tracked: TrackedOrder, rejection: str | None) -> None:
        self._side_tasks.spawn(
            self._resolve_cancel(tracked, rejection), f"cancel-{tracked.client_order_id.value}"
        )

    async def _resolve_cancel(self, tracked: TrackedOrder, rejection: str | None) -> None:
        await self._resolver.resolve_cancel(
            tracked,
            rejection,
            lambda t, exc: self._pylog.warning(
                "resolving cancel of %s failed (%r); retrying", t.client_order_id, exc
            ),
        )

    def _cancel_zombie(self, order: TrackedOrder, venue_order_id: VenueOrderId) -> None:
        """The venue has an order live that this node declared rejected: cancel it there."""
        self._side_tasks.spawn(
            self._cancel_zombie_task(order, venue_order_id),
            f"zombie-{order.client_order_id.value}-{venue_order_id.value}",
        )

    async def _cancel_zombie_task(self, order: TrackedOrder, venue_order_id: VenueOrderId) -> None:
        try:
            await self._cancel_on_venue(order, venue_order_id)
        except self.venue_error as exc:
            self._pylog.error("canceling %s on the venue failed: %r", order.client_order_id, exc)

    async def generate_mass_status(self, lookback_mins: int | None = None) -> ExecutionMassStatus | None:
        """NautilusTrader's startup reports, taken so that they agree (see
        :func:`adapters.core.orders.reconciliation.consistent_mass_status`)."""
        self.reconciliation_active = True
        try:
            return await consistent_mass_status(self, lookback_mins, logger=self._pylog)
        except Exception as exc:
            self._log.error(f"Cannot reconcile execution state: {exc!r}")
            return None
        finally:
            self.reconciliation_active = False

    # ------------------------------------------------------------------------------------------
    # Submit
    # ------------------------------------------------------------------------------------------
    async def _submit_order(self, command: SubmitOrder) -> None:
        await self._submit(command.order, command.params)

    async def _submit_order_list(self, command: SubmitOrderList) -> None:
        # One by one: each order's outcome is classified on its own (a batch mixes orders and
        # per-item errors, and the venue processes its orders concurrently anyway).
        for order in command.order_list.orders:
            await self._submit(order, command.params)

    async def _submit(self, order: NautilusOrder, params: dict[str, Any] | None) -> None:
        if order.is_closed:
            return  # denied or otherwise finished before it reached us
        tracked = self._register(
            tracked_for_submit(
                order,
                symbol=self._venue_symbol(order.instrument_id),
                is_algo=order.order_type in self.conditional_types,
            )
        )
        self.generate_order_submitted(
            order.strategy_id, order.instrument_id, order.client_order_id, self._clock.timestamp_ns()
        )
        try:
            await self._place(order, tracked, params)
        except VenueRejection as exc:
            self._submit_rejected(tracked, exc)
        except VenueTransportError as exc:
            # The request never left this machine: nothing exists on the venue.
            self.facts.rejected(tracked, f"not sent: {exc}", self._clock.timestamp_ns())
        except VenueAmbiguous as exc:
            self._spawn_resolve_submit(tracked, str(exc))

    async def _place(
        self, order: NautilusOrder, tracked: TrackedOrder, params: dict[str, Any] | None
    ) -> None:
        """Place the order and apply the venue's answer (accepted, or more); raise the venue's
        rejection, transport or ambiguous error."""
        raise NotImplementedError

    def _submit_rejected(self, tracked: TrackedOrder, exc: VenueRejection) -> None:
        self.facts.rejected(tracked, f"{exc.code}: {exc.msg}", self._clock.timestamp_ns(), exc.is_post_only)

    # ------------------------------------------------------------------------------------------
    # Cancel
    # ------------------------------------------------------------------------------------------
    async def _cancel_order(self, command: CancelOrder) -> None:
        tracked = self._tracked_for(command.client_order_id.value)
        if tracked is None:
            reject_not_found(self.generate_order_cancel_rejected, command, self._clock.timestamp_ns())
            return
        async with self._lock_for(tracked):
            await self._cancel_tracked(tracked, command.venue_order_id)

    async def _cancel_tracked(
        self, tracked: TrackedOrder, venue_order_id: VenueOrderId | None = None
    ) -> None:
        """Cancel one order. A venue that no longer knows it (usually filled or canceled already)
        makes the final state learned by query rather than guessed; an ambiguous outcome too."""
        try:
            await self._send_cancel(tracked)
        except VenueRejection as exc:
            reason = f"{exc.code}: {exc.msg}"
            if self._cancel_refused_as_gone(exc):
                self._resolve_cancel_later(tracked, reason)
                return
            self._cancel_rejected(tracked, reason, venue_order_id)
        except self.venue_error as exc:
            self._pylog.warning(
                "cancel of %s ambiguous (%r); resolving by query", tracked.client_order_id, exc
            )
            self._resolve_cancel_later(tracked, None)

    async def _send_cancel(self, tracked: TrackedOrder) -> None:
        """Cancel one order on the venue and apply the answer; raise the venue's errors."""
        raise NotImplementedError

    def _cancel_refused_as_gone(self, exc: VenueRejection) -> bool:
        """Whether a refused cancel means the order is no longer open there."""
        return exc.is_unknown_order

    async def _cancel_on_venue(self, order: TrackedOrder, venue_order_id: VenueOrderId) -> None:
        """Cancel the venue order ``venue_order_id`` of ``order``, the answer not applied (a zombie)."""
        raise NotImplementedError

    def _rejected_venue_id(
        self, tracked: TrackedOrder, venue_order_id: VenueOrderId | None
    ) -> VenueOrderId | None:
        """The venue order id a cancel rejection names (``venue_order_id``: the command's)."""
        return venue_order_id or tracked.venue_order_id

    def _cancel_rejected(
        self, tracked: TrackedOrder, reason: str, venue_order_id: VenueOrderId | None = None
    ) -> None:
        self.generate_order_cancel_rejected(
            tracked.strategy_id,
            tracked.instrument_id,
            tracked.client_order_id,
            self._rejected_venue_id(tracked, venue_order_id),
            reason,
            self._clock.timestamp_ns(),
        )

    async def _cancel_all_orders(self, command: CancelAllOrders) -> None:
        if command.order_side != OrderSide.NO_ORDER_SIDE:
            for order in self._cache.orders_open(
                instrument_id=command.instrument_id, side=command.order_side
            ):
                tracked = self._tracked_for(order.client_order_id.value)
                if tracked is not None:
                    async with self._lock_for(tracked):
                        await self._cancel_tracked(tracked, order.venue_order_id)
            return
        # Final states arrive on the user stream (or through recovery / polling if it is down).
        await self._cancel_all_on_venue(self._venue_symbol(command.instrument_id))

    async def _cancel_all_on_venue(self, symbol: str) -> None:
        raise NotImplementedError

    async def _batch_cancel_orders(self, command: BatchCancelOrders) -> None:
        by_symbol: dict[str, list[TrackedOrder]] = {}
        for cancel in command.cancels:
            tracked = self._tracked_for(cancel.client_order_id.value)
            if tracked is None:
                await self._cancel_order(cancel)  # emits the rejection
            elif not await self._cancel_outside_batch(tracked, cancel.venue_order_id):
                by_symbol.setdefault(tracked.symbol, []).append(tracked)
        for symbol, orders in by_symbol.items():
            for i in range(0, len(orders), self.batch_cancel_max):
                await self._batch_cancel_chunk(symbol, orders[i : i + self.batch_cancel_max])

    async def _cancel_outside_batch(self, tracked: TrackedOrder, venue_order_id: VenueOrderId | None) -> bool:
        """Whether the order was dealt with here rather than in a batch request."""
        return False

    async def _batch_cancel_chunk(self, symbol: str, orders: list[TrackedOrder]) -> None:
        raise NotImplementedError

    async def _cancel_each(self, symbol: str, orders: list[TrackedOrder], exc: Exception) -> None:
        """A batch request that failed as a whole: its orders are canceled one by one."""
        self._pylog.warning("batch cancel on %s failed (%r); canceling one by one", symbol, exc)
        for tracked in orders:
            async with self._lock_for(tracked):
                await self._cancel_tracked(tracked, tracked.venue_order_id)

    # ------------------------------------------------------------------------------------------
    # Modify
    # ------------------------------------------------------------------------------------------
    async def _modify_order(self, command: ModifyOrder) -> None:
        order = self._cache.order(command.client_order_id)
        tracked = self._tracked_for(command.client_order_id.value)
        if order is None or tracked is None:
            reject_not_found(self.generate_order_modify_rejected, command, self._clock.timestamp_ns())
            return
        async with self._lock_for(tracked):
            await self._modify(order, tracked, command)

    async def _modify(self, order: NautilusOrder, tracked: TrackedOrder, command: ModifyOrder) -> None:
        """Modify the order on the venue (amend in place, or cancel and replace) and apply the
        answer; a rejection or an ambiguous outcome is the venue's to report and resolve."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------
    # Queries
    # ------------------------------------------------------------------------------------------
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
        except self.venue_error as exc:
            self._pylog.warning("query of %s failed: %r", command.client_order_id, exc)
            return
        if not found:
            self._pylog.info("query: %s is not on the venue (yet)", command.client_order_id)

    async def _query_account(self, command: QueryAccount) -> None:
        try:
            await self._update_account_state()
        except self.venue_error as exc:
            self._pylog.error("account query failed: %r", exc)

    # ------------------------------------------------------------------------------------------
    # Reconciliation reports (startup and the engine's periodic checks)
    # ------------------------------------------------------------------------------------------
    def _report_timeout(self) -> float:
        return report_timeout(self._config.http_timeout_secs)

    async def _read(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """A read-only query of a report, retried on transient errors (see core.net.read_retry)."""
        return await read_with_retry(call, what=what, logger=self._pylog)

    async def generate_order_status_report(
        self, command: GenerateOrderStatusReport
    ) -> OrderStatusReport | None:
        tracked = self.tracker.get(command.client_order_id.value) if command.client_order_id else None
        try:
            async with asyncio.timeout(self._report_timeout()):
                return await self._order_status_report(command, tracked)
        except VenueRejection as exc:
            if not exc.is_unknown_order:
                self._report_failed(command, exc)
            return None
        except (self.venue_error, TimeoutError) as exc:
            self._report_failed(command, exc)
            return None

    def _report_failed(self, command: GenerateOrderStatusReport, exc: Exception) -> None:
        order = command.client_order_id or command.venue_order_id
        self._pylog.error("order status report for %s failed: %r", order, exc)

    async def _order_status_report(
        self, command: GenerateOrderStatusReport, tracked: TrackedOrder | None
    ) -> OrderStatusReport | None:
        """The venue's report of one order (by client id, else venue id); raise the venue's errors."""
        raise NotImplementedError

    async def generate_order_status_reports(
        self, command: GenerateOrderStatusReports
    ) -> list[OrderStatusReport]:
        symbol = self._venue_symbol(command.instrument_id) if command.instrument_id else None
        ts_init = self._clock.timestamp_ns()
        reports: list[OrderStatusReport] = []
        start, end = ms_or_none(command.start), ms_or_none(command.end)
        async with asyncio.timeout(self._report_timeout()):
            orders = await self._report_orders(symbol, command.open_only, start, end)
        for o in orders:
            iid = self._instrument_info(o.symbol).instrument_id
            if not is_managed(self._cache, iid, lambda o=o: self._describe_order(o), self._pylog):  # type: ignore[misc]
                continue
            append_or_skip(
                reports,
                lambda: self._order_report(o, ts_init),  # noqa: B023 - called at once
                lambda exc: self._pylog.warning(
                    "%s skipped in reconciliation: %s",
                    self._describe_order(o),  # noqa: B023 - called at once
                    exc,
                ),
            )
        return reports

    async def _report_orders(
        self, symbol: str | None, open_only: bool, start: int | None, end: int | None
    ) -> Sequence[VenueItem]:
        """The venue's open orders (of ``symbol``, or all), with the history unless ``open_only``."""
        raise NotImplementedError

    def _order_report(self, order: Any, ts_init: int) -> OrderStatusReport:
        """One listed order as a report (ValueError: it cannot be represented)."""
        raise NotImplementedError

    def _describe_order(self, order: Any) -> str:
        raise NotImplementedError

    async def generate_fill_reports(self, command: GenerateFillReports) -> list[FillReport]:
        symbol = self._venue_symbol(command.instrument_id) if command.instrument_id else None
        ts_init = self._clock.timestamp_ns()
        reports: list[FillReport] = []
        oid = venue_order_int(command.venue_order_id)
        async with asyncio.timeout(self._report_timeout()):
            start, end = self._fill_window(command)
            for sym in await self._history_symbols(symbol):
                # Not marked delivered here: the engine may not apply them (it applies no fill to an
                # order its status report says is open and unfilled). What it did apply is read from
                # its cache when the startup sync tracks the orders (adapters.core.userstream.startup).
                reports.extend(await self._fill_reports(sym, oid, start, end, ts_init))
        return reports

    def _fill_window(self, command: GenerateFillReports) -> tuple[int | None, int | None]:
        """The trade history range asked for, in ms."""
        return ms_or_none(command.start), ms_or_none(command.end)

    async def _fill_reports(
        self, symbol: str, order_id: int | None, start: int | None, end: int | None, ts_init: int
    ) -> list[FillReport]:
        """The venue's trades in ``symbol`` (of one order when ``order_id``) as fill reports."""
        raise NotImplementedError

    async def generate_position_status_reports(
        self, command: GeneratePositionStatusReports
    ) -> list[PositionStatusReport]:
        symbol = self._venue_symbol(command.instrument_id) if command.instrument_id else None
        return await position_status_reports(
            lambda: self._positions(symbol),
            within=self._report_timeout(),
            ts_init=self._clock.timestamp_ns(),
            is_flat=self._is_flat,
            instruments=self._instrument_info,
            position_id=self._venue_position_id,
            account_id=self.account_id,
            to_report=self._position_report,
            managed=lambda p, iid: is_managed(
                self._cache,
                iid,
                lambda: f"position {p.symbol} {p.positionSide} {self._position_amount(p)}",
                self._pylog,
            ),
            logger=self._pylog,
        )

    async def _positions(self, symbol: str | None) -> Sequence[Any]:
        """The venue's positions (of ``symbol``, or all)."""
        raise NotImplementedError

    def _position_amount(self, position: Any) -> Decimal:
        raise NotImplementedError

    def _is_flat(self, position: Any) -> bool:
        return self._position_amount(position) == 0

    async def _history_symbols(self, symbol: str | None) -> list[str]:
        """The venues' order and trade history is per symbol, so reconciliation must name them.

        Without one: every symbol this node's cache knows, every symbol the *venue* shows activity
        in (:meth:`_venue_active_symbols`) — a restarted node's cache is empty, yet fills made while
        it was down must still be found — and, when few instruments are loaded
        (``reconciliation_max_symbols``), all of them: a position opened and closed while the node
        was down leaves no other trace. Querying hundreds of listed symbols would burn the weight
        budget, hence the bound.
        """
        return await history_symbols(
            symbol,
            cache=self._cache,
            venue=self.venue,
            venue_symbol=self._venue_symbol,
            venue_active=self._venue_active_symbols(),
            loaded=self._provider.instruments_by_symbol,
            max_symbols=self._config.reconciliation_max_symbols,
        )

    def _venue_active_symbols(self) -> Iterable[SymbolSource]:
        """Where the venue shows activity: open orders and non-flat positions."""
        return (self._open_order_symbols, self._position_symbols)

    async def _open_order_symbols(self) -> list[str]:
        return [o.symbol for o in await self._read("open orders query", self._http.open_orders)]

    async def _position_symbols(self) -> list[str]:
        positions = await self._read("positions query", lambda: self._positions(None))
        return [p.symbol for p in positions if not self._is_flat(p)]
