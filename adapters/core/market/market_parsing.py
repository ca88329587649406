"""Venue-neutral construction of NautilusTrader market-data objects from decimal-string levels (no I/O).

The venues' ``parsing_market`` modules decode their own wire formats and hand the already-extracted pieces
(levels as ``(price, size)`` string pairs, sequence ids, millisecond times) to these helpers, so the rules
for what a book snapshot, a book update or a top-10 depth looks like in Nautilus live once:

* **Snapshot** -> ``CLEAR`` + one ``ADD`` per level with size > 0, every delta ``F_SNAPSHOT``, the last one
  also ``F_LAST`` (the ``CLEAR`` carries ``F_LAST`` when there is no level at all).
* **Update** -> ``UPDATE`` (size > 0) / ``DELETE`` (size 0: venues send absolute quantities), ``F_LAST`` on
  the last delta; None when there is no level.
* **Depth10** -> ``OrderBookDepth10`` with each side null-padded to 10 (Nautilus pads only when both sides
  have the same length), flags ``F_SNAPSHOT | F_LAST``.
* **Times**: :func:`ts_ms` picks the first non-zero millisecond timestamp, else ``ts_init``.
* **Funding rates** stay exact ``Decimal`` (:func:`parse_rate`); an empty or invalid rate is None.
* **Kline intervals**: ``"<n><unit>"`` strings map onto ``BarSpecification`` (:data:`KLINE_UNITS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Final

from nautilus_trader.model.data import (
    BarSpecification,
    BarType,
    BookOrder,
    FundingRateUpdate,
    IndexPriceUpdate,
    OrderBookDelta,
    OrderBookDeltas,
    OrderBookDepth10,
)
from nautilus_trader.model.enums import BarAggregation, BookAction, OrderSide, PriceType, RecordFlag
from nautilus_trader.model.objects import Price, Quantity

from adapters.core.base.timestamps import NANOS_PER_MS
from adapters.core.market.market_context import MarketContext
from adapters.core.parse.wire_values import WireValueError

F_SNAPSHOT: Final = int(RecordFlag.F_SNAPSHOT)
F_LAST: Final = int(RecordFlag.F_LAST)

_ADD: Final = BookAction.ADD
_UPDATE: Final = BookAction.UPDATE
_DELETE: Final = BookAction.DELETE
_CLEAR: Final = BookAction.CLEAR
_BUY: Final = OrderSide.BUY
_SELL: Final = OrderSide.SELL

Level = tuple[str, str]

KLINE_UNITS: Final = {
    "m": BarAggregation.MINUTE,
    "h": BarAggregation.HOUR,
    "d": BarAggregation.DAY,
    "w": BarAggregation.WEEK,
    "M": BarAggregation.MONTH,
}


def ts_ms(primary: int | None, secondary: int | None, default: int) -> int:
    """First non-zero ms timestamp of (primary, secondary) in ns, else ``default``. A time whose
    nanoseconds do not fit NautilusTrader's uint64 is a WireValueError (its conversion would raise
    OverflowError mid-event); market data keeps odd-but-representable times as the venue sent them."""
    ms = primary or secondary
    if not ms:
        return default
    if not 0 < ms <= _MAX_MS:
        raise WireValueError("event time", ms, "not representable as a uint64 nanosecond timestamp")
    return ms * NANOS_PER_MS


_MAX_MS: Final = (2**64 - 1) // NANOS_PER_MS


_RATES: dict[str, Decimal | None] = {}  # a funding rate repeats for hours: parsed once per string


def parse_rate(s: str | None) -> Decimal | None:
    """An exact funding rate; None when empty (no funding) or not a number."""
    if not s:
        return None
    try:
        return _RATES[s]
    except KeyError:
        pass
    try:
        rate: Decimal | None = Decimal(s)
    except InvalidOperation:
        rate = None
    if len(s) <= 32:  # only what a rate looks like is remembered (bounded memory for any input)
        if len(_RATES) >= 4096:
            _RATES.clear()
        _RATES[s] = rate
    return rate


# --------------------------------------------------------------------------------------------------
# Order book
# --------------------------------------------------------------------------------------------------


def snapshot_deltas(
    ctx: MarketContext,
    bids: Iterable[Level],
    asks: Iterable[Level],
    seq: int,
    ts_event: int,
    ts_init: int,
) -> OrderBookDeltas:
    """A full book -> ``CLEAR`` + ``ADD`` per level (size > 0), all ``F_SNAPSHOT``, ``F_LAST`` on the last."""
    iid = ctx.instrument_id
    price = ctx.price
    size = ctx.size
    cached_price = ctx.prices.get
    cached_size = ctx.sizes.get
    orders: list[BookOrder] = []
    for side, levels in ((_BUY, bids), (_SELL, asks)):
        for px, qty in levels:
            q = cached_size(qty) or size(qty)
            if q.raw > 0:
                orders.append(BookOrder(side, cached_price(px) or price(px), q, 0))
    last = len(orders) - 1
    deltas = [
        OrderBookDelta(iid, _CLEAR, None, F_SNAPSHOT | (F_LAST if last < 0 else 0), seq, ts_event, ts_init)
    ]
    deltas.extend(
        OrderBookDelta(iid, _ADD, o, F_SNAPSHOT | F_LAST if i == last else F_SNAPSHOT, seq, ts_event, ts_init)
        for i, o in enumerate(orders)
    )
    return OrderBookDeltas(iid, deltas)


def update_deltas(
    ctx: MarketContext,
    bids: Sequence[Level],
    asks: Sequence[Level],
    seq: int,
    ts_event: int,
    ts_init: int,
) -> OrderBookDeltas | None:
    """Changed levels -> UPDATE (size > 0) / DELETE (size 0) deltas, ``F_LAST`` on the last; None if empty."""
    n = len(bids) + len(asks)
    if n == 0:
        return None
    iid = ctx.instrument_id
    price = ctx.price
    size = ctx.size
    # Cache hits without a method call (most levels): a miss falls through to the exact parse.
    cached_price = ctx.prices.get
    cached_size = ctx.sizes.get
    deltas: list[OrderBookDelta] = []
    append = deltas.append
    i = 0
    for side, levels in ((_BUY, bids), (_SELL, asks)):
        for px, qty in levels:
            i += 1
            q = cached_size(qty) or size(qty)
            append(
                OrderBookDelta(
                    iid,
                    _UPDATE if q.raw > 0 else _DELETE,
                    BookOrder(side, cached_price(px) or price(px), q, 0),
                    F_LAST if i == n else 0,
                    seq,
                    ts_event,
                    ts_init,
                )
            )
    return OrderBookDeltas(iid, deltas)


def clear_deltas(ctx: MarketContext, seq: int, ts_init: int) -> OrderBookDeltas:
    """A lone ``CLEAR`` (``F_LAST``): the published book can no longer be vouched for."""
    iid = ctx.instrument_id
    return OrderBookDeltas(iid, [OrderBookDelta(iid, _CLEAR, None, F_LAST, seq, ts_init, ts_init)])


def depth10(
    ctx: MarketContext,
    bids: list[BookOrder],
    asks: list[BookOrder],
    seq: int,
    ts_event: int,
    ts_init: int,
) -> OrderBookDepth10:
    """Top-of-book orders (at most 10 a side, best first) -> ``OrderBookDepth10``, each side null-padded.

    Extends ``bids`` and ``asks`` in place with the padding.
    """
    null_order = BookOrder(
        OrderSide.NO_ORDER_SIDE,
        Price.from_raw(0, ctx.price_precision),
        Quantity.from_raw(0, ctx.size_precision),
        0,
    )
    bid_counts = [1] * len(bids) + [0] * (10 - len(bids))
    ask_counts = [1] * len(asks) + [0] * (10 - len(asks))
    bids.extend([null_order] * (10 - len(bids)))
    asks.extend([null_order] * (10 - len(asks)))
    return OrderBookDepth10(
        ctx.instrument_id, bids, asks, bid_counts, ask_counts, F_SNAPSHOT | F_LAST, seq, ts_event, ts_init
    )


# --------------------------------------------------------------------------------------------------
# Index price and funding
# --------------------------------------------------------------------------------------------------


def index_and_funding(
    ctx: MarketContext,
    index_price: str | None,
    funding_rate: str | None,
    next_funding_ms: int | None,
    ts_event: int,
    ts_init: int,
) -> tuple[IndexPriceUpdate | None, FundingRateUpdate | None]:
    """A premium-index reading -> (index price rounded to the tick or None, funding rate or None)."""
    index = (
        IndexPriceUpdate(ctx.instrument_id, ctx.rounded_price(index_price), ts_event, ts_init)
        if index_price
        else None
    )
    rate = parse_rate(funding_rate)
    funding = (
        FundingRateUpdate(
            ctx.instrument_id,
            rate,
            ts_event,
            ts_init,
            next_funding_ns=next_funding_ms * NANOS_PER_MS if next_funding_ms else None,
        )
        if rate is not None
        else None
    )
    return index, funding


# --------------------------------------------------------------------------------------------------
# Kline intervals
# --------------------------------------------------------------------------------------------------


def interval_spec(interval: str) -> BarSpecification:
    """``"15m"`` -> ``15-MINUTE-LAST``."""
    return BarSpecification(int(interval[:-1]), KLINE_UNITS[interval[-1]], PriceType.LAST)


def interval_key(interval: str) -> tuple[int, int]:
    """``"15m"`` -> ``(15, int(MINUTE))``: the key :func:`interval_of` looks bar types up by."""
    return int(interval[:-1]), int(KLINE_UNITS[interval[-1]])


def interval_of(bar_type: BarType, intervals: dict[tuple[int, int], str], venue: str) -> str:
    """The venue kline interval of a LAST-price EXTERNAL bar type; ValueError when there is none."""
    spec = bar_type.spec
    if spec.price_type != PriceType.LAST or not bar_type.is_externally_aggregated():
        raise ValueError(f"{venue} klines are LAST-price EXTERNAL bars, got {bar_type}")
    interval = intervals.get((spec.step, int(spec.aggregation)))
    if interval is None:
        raise ValueError(f"no {venue} kline interval for {bar_type}")
    return interval
