"""The reconciliation reports both venues' execution clients build, and their time bounds.

* :func:`history_symbols`, :func:`walk_symbols` — which symbols per-symbol history endpoints (and a
  gap backfill) must be asked about;
* :func:`open_and_history_orders`, :func:`append_or_skip`, :func:`position_status_reports`,
  :func:`is_managed` — the skeletons of the reconciliation reports;
* :func:`consistent_mass_status` — NautilusTrader's startup reports, taken so that they agree;
* :func:`report_timeout`, :func:`ms_or_none` — the time bounds those reports use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

import pandas as pd
from nautilus_trader.core.datetime import dt_to_unix_nanos
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import (
    GenerateFillReports,
    GenerateOrderStatusReports,
    GeneratePositionStatusReports,
)
from nautilus_trader.execution.reports import ExecutionMassStatus
from nautilus_trader.model.identifiers import AccountId, InstrumentId, PositionId, Venue

from adapters.core.base.timestamps import NANOS_PER_MS
from adapters.core.net.read_retry import read_with_retry

O = TypeVar("O")  # noqa: E741 - a venue's order schema
R = TypeVar("R")  # a report


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
