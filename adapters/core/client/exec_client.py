"""Pieces both venues' execution clients compose: instrument lookups, adoption, reconciliation helpers.

Venue-neutral: every venue detail (endpoints, symbol format, which order types are conditional, how a
position amount is written) comes in as a callable or a value. What lives here is the logic the two
clients would otherwise repeat:

* :class:`InstrumentInfo`, :class:`InstrumentInfoCache` — a symbol's instrument id, precisions and
  quote currency (what the hot path needs of an instrument), cached once the instrument is known (an
  uncached symbol is resolved again next time, with the fallback);
* :func:`tracked_from_cache` — rebuild an order's tracking state from the engine cache (an order of
  ours submitted before a restart), so its events stay events, not reports;
* :func:`load_instruments` — the provider's instruments and currencies into the cache on connect;
* :func:`history_symbols` — which symbols per-symbol history endpoints must be asked about;
* :func:`open_and_history_orders`, :func:`append_or_skip`, :func:`nonzero_position_reports` — the
  skeletons of the reconciliation reports;
* :func:`report_timeout`, :func:`ms_or_none` — the time bounds those reports use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from typing import Any, Final, Generic, NamedTuple, Protocol, TypeVar

import pandas as pd
from nautilus_trader.core.datetime import dt_to_unix_nanos
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import (
    CancelOrder,
    GenerateFillReports,
    GenerateOrderStatusReports,
    GeneratePositionStatusReports,
    ModifyOrder,
)
from nautilus_trader.execution.reports import ExecutionMassStatus
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
    Venue,
    VenueOrderId,
)
from nautilus_trader.model.objects import Currency
from nautilus_trader.model.orders import Order as NautilusOrder

from adapters.core.base.timestamps import NANOS_PER_MS
from adapters.core.net.read_retry import read_with_retry
from adapters.core.net.ws_connection import WsConfig
from adapters.core.orders.order_tracking import FillKey, Terminal, TrackedOrder, fill_key
from adapters.core.parse.precision import PrecisionResolver
from adapters.core.userstream.listen_key import ListenKeyOps
from adapters.core.userstream.recovery import RecoveryOptions, RecoveryVenue
from adapters.core.userstream.user_stream import UserStreamService

I = TypeVar("I")  # noqa: E741 - a venue's InstrumentInfo
O = TypeVar("O")  # noqa: E741 - a venue's order schema
R = TypeVar("R")  # a report

# The engine's status of a cached order -> the tracker's terminal state (None: still live).
TERMINAL_OF = {
    OrderStatus.CANCELED: Terminal.CANCELED,
    OrderStatus.EXPIRED: Terminal.EXPIRED,
    OrderStatus.REJECTED: Terminal.REJECTED,
    OrderStatus.FILLED: Terminal.FILLED,
    OrderStatus.DENIED: Terminal.REJECTED,
}


class InstrumentInfo(NamedTuple):
    """What the user-stream hot path needs of an instrument (both venues)."""

    instrument_id: InstrumentId
    price_precision: int
    size_precision: int
    quote_currency: Currency


def default_quote() -> Currency:
    """The quote currency assumed for a symbol whose instrument is not loaded (USDT-margined)."""
    from nautilus_trader.model.currencies import USDT

    return USDT


class InstrumentInfoCache(Generic[I]):
    """``symbol -> info`` for the hot path, built by ``make(instrument_id, price_precision,
    size_precision, quote_currency)``. Cached only when the instrument is known."""

    def __init__(
        self,
        precision: PrecisionResolver,
        find_by_symbol: Callable[[str], Any],
        make: Callable[[InstrumentId, int, int, Currency], I],
    ) -> None:
        self._precision = precision
        self._find = find_by_symbol
        self._make = make
        self.infos: dict[str, I] = {}

    def get(self, symbol: str) -> I:
        info = self.infos.get(symbol)
        if info is None:
            resolved = self._precision.resolve(symbol)
            instrument = self._find(symbol)
            quote = instrument.quote_currency if instrument is not None else default_quote()
            info = self._make(
                resolved.instrument_id, resolved.price_precision, resolved.size_precision, quote
            )
            if resolved.cached:
                self.infos[symbol] = info
        return info


def _tracked(
    order: NautilusOrder, symbol: str, is_algo: bool, price: Decimal | None, **state: Any
) -> TrackedOrder:
    return TrackedOrder(
        client_order_id=order.client_order_id,
        strategy_id=order.strategy_id,
        instrument_id=order.instrument_id,
        symbol=symbol,
        side=order.side,
        order_type=order.order_type,
        is_algo=is_algo,
        quantity=order.quantity.as_decimal(),
        price=price,
        **state,
    )


def tracked_from_cache(order: NautilusOrder, *, symbol: str, is_algo: bool) -> TrackedOrder:
    """The tracking state of an order the engine cache holds (the venue's symbol and whether it is a
    conditional/algo order are the venue's to say)."""
    return _tracked(
        order,
        symbol,
        is_algo,
        order.price.as_decimal() if getattr(order, "price", None) is not None else None,
        venue_order_id=order.venue_order_id,
        accepted=order.status not in (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED),
        terminal=TERMINAL_OF.get(order.status),
        filled=order.filled_qty.as_decimal(),
        triggered=order.status == OrderStatus.TRIGGERED,
    )


def adopt_cache_orders(
    cache: Any,
    venue: Venue,
    *,
    known: Callable[[str], TrackedOrder | None],
    register: Callable[[TrackedOrder], TrackedOrder],
    to_tracked: Callable[[NautilusOrder], TrackedOrder],
    seen: Callable[[FillKey], None],
) -> list[TrackedOrder]:
    """Every open or in-flight order of ``venue`` the engine's cache holds (restored from Redis
    after a restart, reconciled at startup), tracked from now on: their fills already in the
    engine are marked delivered from the cache itself. Returns them all (known ones included)."""
    out: list[TrackedOrder] = []
    orders = {o.client_order_id.value: o for o in cache.orders_open(venue=venue)}
    orders.update({o.client_order_id.value: o for o in cache.orders_inflight(venue=venue)})
    for cid, order in orders.items():
        tracked = known(cid)
        if tracked is None:
            tracked = track_cached(order, register=register, to_tracked=to_tracked, seen=seen)
        out.append(tracked)
    return out


def track_cached(
    order: NautilusOrder,
    *,
    register: Callable[[TrackedOrder], TrackedOrder],
    to_tracked: Callable[[NautilusOrder], TrackedOrder],
    seen: Callable[[FillKey], None],
) -> TrackedOrder:
    """One order the engine's cache holds, tracked from now on; the fills the engine already has
    are marked delivered, so a venue report of them is not emitted a second time."""
    tracked = register(to_tracked(order))
    for event in order.events:
        if isinstance(event, OrderFilled) and event.trade_id.value.isdigit():
            seen(fill_key(tracked.symbol, int(event.trade_id.value), order.side))
    return tracked


def cached_order_by_venue_id(cache: Any, venue: Venue, venue_order_id: str | None) -> NautilusOrder | None:
    """The engine's order with this venue order id (an external order the engine adopted from a
    report carries the venue's id, whatever client id it got), or None."""
    if not venue_order_id:
        return None
    try:
        cid = cache.client_order_id(VenueOrderId(venue_order_id))
    except ValueError:
        return None
    order = cache.order(cid) if cid is not None else None
    return order if order is not None and order.instrument_id.venue == venue else None


async def load_instruments(provider: Any, cache: Any) -> None:
    """Load the provider and put its instruments (those the cache lacks) and currencies into the cache."""
    await provider.initialize()
    for instrument in provider.list_all():
        if cache.instrument(instrument.id) is None:
            cache.add_instrument(instrument)
    for currency in provider.currencies().values():
        cache.add_currency(currency)


FLEET_RECOVERY_JITTER: Final = 0.5  # recovery retry jitter of nodes sharing a fleet budget


def report_timeout(http_timeout_secs: float) -> float:
    """A bound for a REST-backed report (NautilusTrader does not enforce ``timeout_reconciliation``),
    and for one recovery operation."""
    return max(3 * http_timeout_secs, 10.0)


def ms_or_none(ts: pd.Timestamp | None) -> int | None:
    if ts is None:
        return None
    return dt_to_unix_nanos(ts) // NANOS_PER_MS


async def history_symbols(
    symbol: str | None,
    *,
    cache: Any,
    venue: Venue,
    venue_symbol: Callable[[InstrumentId], str],
    venue_active: Iterable[Callable[[], Awaitable[Iterable[str]]]],
    loaded: Iterable[str],
    max_symbols: int,
) -> list[str]:
    """The symbols per-symbol history endpoints must be asked about.

    ``symbol`` alone when given. Otherwise: every symbol the node's cache knows (orders, positions),
    every symbol the *venue* shows activity in (``venue_active``, asked in order: a restarted node's
    cache is empty, yet fills made while it was down must still be found) and, when at most
    ``max_symbols`` instruments are loaded, all of them (a position opened and closed while the node
    was down leaves no other trace; querying hundreds would burn the weight budget).
    """
    if symbol is not None:
        return [symbol]
    symbols = {venue_symbol(o.instrument_id) for o in cache.orders(venue=venue)}
    symbols |= {venue_symbol(p.instrument_id) for p in cache.positions(venue=venue)}
    for active in venue_active:
        symbols |= set(await active())
    loaded_symbols = list(loaded)
    if len(loaded_symbols) <= max_symbols:
        symbols |= set(loaded_symbols)
    return sorted(symbols)


def walk_symbols(
    *,
    cache: Any,
    venue: Venue,
    venue_symbol: Callable[[InstrumentId], str],
    loaded: Iterable[str],
    max_symbols: int,
) -> set[str]:
    """Symbols a gap backfill walks besides those of tracked orders and trade cursors: an external
    order can be placed and filled inside one gap in a symbol the node never traded. Every loaded
    symbol when few are loaded (``max_symbols``, as for reconciliation), and always the symbols of
    the cache's open positions and orders."""
    loaded_symbols = list(loaded)
    symbols = set(loaded_symbols) if len(loaded_symbols) <= max_symbols else set()
    symbols |= {venue_symbol(p.instrument_id) for p in cache.positions_open(venue=venue)}
    symbols |= {venue_symbol(o.instrument_id) for o in cache.orders_open(venue=venue)}
    return symbols


async def open_and_history_orders(
    orders: list[O],
    *,
    open_only: bool,
    symbols: Callable[[], Awaitable[list[str]]],
    history: Callable[[str], Awaitable[Iterable[O]]],
    order_id: Callable[[O], object],
) -> list[O]:
    """``orders`` (the open ones), extended unless ``open_only`` by each symbol's history orders not
    already among them (``orders`` is extended in place and returned)."""
    if not open_only:
        seen = {order_id(o) for o in orders}
        for sym in await symbols():
            for o in await history(sym):
                if order_id(o) not in seen:
                    orders.append(o)
    return orders


def append_or_skip(reports: list[R], build: Callable[[], R], skipped: Callable[[ValueError], None]) -> None:
    """One order a report cannot represent (e.g. a closePosition stop has no quantity) is skipped and
    ``skipped`` told why: raising would fail the whole mass status, and the trader would never start."""
    try:
        reports.append(build())
    except ValueError as exc:
        skipped(exc)


def nonzero_position_reports(
    positions: Iterable[O], *, is_flat: Callable[[O], bool], build: Callable[[O], R]
) -> list[R]:
    """A report per position that is not flat."""
    return [build(p) for p in positions if not is_flat(p)]


def tracked_for_submit(order: NautilusOrder, *, symbol: str, is_algo: bool) -> TrackedOrder:
    """The tracking state of an order about to be submitted."""
    return _tracked(order, symbol, is_algo, order.price.as_decimal() if order.has_price else None)


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


class StreamConfig(Protocol):
    """The exec-client config fields the user stream is built from (both venues' configs have them)."""

    @property
    def recovery_backoff_initial_secs(self) -> float: ...
    @property
    def recovery_backoff_cap_secs(self) -> float: ...
    @property
    def recovery_backoff_reset_secs(self) -> float: ...
    @property
    def http_timeout_secs(self) -> float: ...
    @property
    def keepalive_interval_secs(self) -> float: ...


class StreamOps(RecoveryVenue, ListenKeyOps, Protocol):
    """A venue's user-stream operations: recovery phases and listen-key calls in one object."""


def user_stream_service(
    ops: StreamOps,
    config: StreamConfig,
    *,
    name: str,
    logger: logging.Logger,
    rotate_every: float | None = None,
    **options: Any,
) -> UserStreamService:
    """The user stream from ``config``: recovery backoff bounds, one operation bounded like a report,
    the keepalive period; ``options`` are further :class:`RecoveryOptions` (e.g. overlap rotation).

    With a fleet budget (several nodes on one IP), one operation may also wait its turn for request
    weight (``fleet_budget_max_wait_secs``), and retries are jittered (``recovery_backoff_jitter``,
    default 0.5 then) so that nodes that failed together do not retry together."""
    fleet = getattr(config, "fleet_budget_redis", None) is not None
    fleet_wait = float(getattr(config, "fleet_budget_max_wait_secs", 0.0)) if fleet else 0.0
    jitter = getattr(config, "recovery_backoff_jitter", None)
    if jitter is None:
        jitter = FLEET_RECOVERY_JITTER if fleet else 0.0
    return UserStreamService(
        ops,
        ops,
        options=RecoveryOptions(
            retry_initial=config.recovery_backoff_initial_secs,
            retry_cap=config.recovery_backoff_cap_secs,
            backoff_reset_after=config.recovery_backoff_reset_secs,
            op_timeout=report_timeout(config.http_timeout_secs) + fleet_wait,
            retry_jitter=float(jitter),
            **options,
        ),
        keepalive_interval=config.keepalive_interval_secs,
        rotate_every=rotate_every,
        name=name,
        logger=logger,
    )


class _Position(Protocol):
    @property
    def symbol(self) -> str: ...
    @property
    def positionSide(self) -> str | None: ...


P = TypeVar("P", bound=_Position)


async def position_status_reports(
    positions: Callable[[], Awaitable[Iterable[P]]],
    *,
    within: float,
    ts_init: int,
    is_flat: Callable[[P], bool],
    instruments: Callable[[str], Any],
    position_id: Callable[[InstrumentId, str | None], PositionId | None],
    account_id: AccountId,
    to_report: Callable[[P, AccountId, InstrumentId, int, int, PositionId | None], R],
    managed: Callable[[P, InstrumentId], bool] = lambda p, iid: True,
    logger: logging.Logger | None = None,
) -> list[R]:
    """A report per position that is not flat, the fetch (retried on transient errors) bounded by
    ``within`` seconds (``to_report`` is the venue's parser: position, account, instrument id, size
    precision, ``ts_init``, venue position id). ``managed(position, instrument_id)`` says whether the
    node manages it (a position in an instrument the node did not load is logged and skipped)."""
    async with asyncio.timeout(within):
        fetched = await read_with_retry(positions, what="positions query", logger=logger)

    def build(p: P) -> R:
        info = instruments(p.symbol)
        return to_report(
            p,
            account_id,
            info.instrument_id,
            info.size_precision,
            ts_init,
            position_id(info.instrument_id, p.positionSide),
        )

    kept = [p for p in fetched if is_flat(p) or managed(p, instruments(p.symbol).instrument_id)]
    return nonzero_position_reports(kept, is_flat=is_flat, build=build)


def is_managed(cache: Any, instrument_id: InstrumentId, what: Callable[[], str], log: logging.Logger) -> bool:
    """Whether the node manages something the venue holds in ``instrument_id`` (it loaded the
    instrument). If not, say so plainly: the engine would drop its report without a word, and a
    trader must know an order or position exists that nothing here watches."""
    if cache.instrument(instrument_id) is not None:
        return True
    log.warning(
        "%s is on the venue in %s, an instrument this node did not load: it is NOT managed by this node",
        what(),
        instrument_id,
    )
    return False


class WsSocketConfig(Protocol):
    """The exec-client config fields a user socket is built from."""

    @property
    def ws_ping_interval_secs(self) -> float | None: ...
    @property
    def ws_pong_timeout_secs(self) -> float: ...
    @property
    def ws_stall_timeout_secs(self) -> float | None: ...


def ws_config(config: WsSocketConfig, **extra: Any) -> WsConfig:
    """The user socket's keepalive and stall bounds from ``config``; ``extra``: further fields."""
    return WsConfig(
        ping_interval=config.ws_ping_interval_secs,
        pong_timeout=config.ws_pong_timeout_secs,
        stall_timeout=config.ws_stall_timeout_secs,
        **extra,
    )


async def consistent_mass_status(
    client: Any,
    lookback_mins: int | None,
    *,
    attempts: int = 3,
    logger: logging.Logger,
) -> ExecutionMassStatus:
    """NautilusTrader's startup reports, taken so that they agree with each other.

    The engine applies the fill reports to its orders, then compares each position report with the
    position those fills produce; a trade that lands between the fill query and the position query
    makes them disagree, and the engine "corrects" the difference with an inferred fill (a phantom,
    or a double count once the trade's own fill arrives). So the positions are read before *and*
    after the orders and fills; when they differ, a trade happened in between and everything is
    read again (at most ``attempts`` times; then the last reading is used, with a warning).
    """
    since = client._clock.utc_now() - pd.Timedelta(minutes=lookback_mins) if lookback_mins else None
    ts = client._clock.timestamp_ns

    def positions_cmd() -> GeneratePositionStatusReports:
        return GeneratePositionStatusReports(
            instrument_id=None, start=since, end=None, command_id=UUID4(), ts_init=ts()
        )

    orders_cmd = GenerateOrderStatusReports(
        instrument_id=None, start=since, end=None, open_only=False, command_id=UUID4(), ts_init=ts()
    )
    fills_cmd = GenerateFillReports(
        instrument_id=None, venue_order_id=None, start=since, end=None, command_id=UUID4(), ts_init=ts()
    )
    for attempt in range(1, attempts + 1):
        before = await client.generate_position_status_reports(positions_cmd())
        orders, fills = await asyncio.gather(
            client.generate_order_status_reports(orders_cmd), client.generate_fill_reports(fills_cmd)
        )
        after = await client.generate_position_status_reports(positions_cmd())
        if _position_keys(before) == _position_keys(after):
            break
        logger.warning(
            "positions changed while the startup reports were taken (attempt %d/%d); taking them again",
            attempt,
            attempts,
        )
    mass = ExecutionMassStatus(
        client_id=client.id, account_id=client.account_id, venue=client.venue, report_id=UUID4(), ts_init=ts()
    )
    mass.add_order_reports(reports=orders)
    mass.add_fill_reports(reports=fills)
    mass.add_position_reports(reports=after)
    return mass


def _position_keys(reports: Iterable[Any]) -> set[tuple[str, int, str, str]]:
    return {
        (str(r.instrument_id), int(r.position_side), str(r.quantity), str(r.venue_position_id))
        for r in reports
    }
