"""Pure conversions: Binance USD-M market-data Structs -> NautilusTrader data, at the instrument's precisions.

No I/O. Every function takes decoded Structs (:mod:`schemas_market`), a per-instrument :class:`MarketContext`
and ``ts_init``.

Decisions
---------
* **Exact prices/sizes on the hot path.** Book levels repeat the same few hundred price strings over and over,
  so :class:`MarketContext` keeps a bounded ``str -> Price/Quantity`` cache per instrument. A hit is one dict
  lookup (~45 ns); a miss goes through
  :func:`adapters.core.parse.decimal_parse.parse_price` (exact integer raw value from the string's digits +
  ``Price.from_raw``; never float). Measured on this build (HIGH_PRECISION, 128-bit raw; 2-core box under
  load, best of 7): ``Price(float(s), p)`` ~0.5 µs (fast but can round), ``Price.from_str(s)`` ~3.4 µs,
  raw-int path ~1.5-2.1 µs (``int()`` on the digits plus the 128-bit conversion inside ``from_raw`` cost
  more than ``float()``), cache hit ~0.05 µs. So exactness costs ~1.5 µs per *new* string and nothing per
  repeated one.
* **Deltas.** A snapshot becomes ``CLEAR`` + one ``ADD`` per level, every delta flagged ``F_SNAPSHOT`` and the
  last one also ``F_LAST``; a diff becomes ``UPDATE`` (qty > 0) / ``DELETE`` (qty 0, absolute quantities) with
  ``F_LAST`` on its last delta. ``sequence`` is the snapshot's ``lastUpdateId`` / the diff's ``u``.
  ``ts_event`` is the matching-engine time ``T`` when present, else the event time ``E``.
* **Bars.** Only closed klines (``k.x``) become bars unless ``closed_only=False``. ``ts_event`` is the bar's
  close *boundary* (``close_time + 1 ms``, Binance's ``T`` is the last millisecond of the bar), which is where
  Nautilus's own time-bar aggregator stamps bars; REST rows whose close time is not yet past ``now_ms`` are
  the still-open bar and are dropped. A kline carrying Binance's extra fields (quote volume ``q``, trade
  count ``n``, taker-buy base ``V`` and quote ``Q`` volume; REST columns 7-10) becomes NautilusTrader's own
  ``BinanceBar`` (a ``Bar`` subclass, as NautilusTrader's Binance adapter publishes), the extras as exact
  ``Decimal``/``int``; without them, a plain ``Bar``.
* **Estimated settle price.** :func:`parse_mark_price_update` turns one ``markPriceUpdate`` into
  NautilusTrader's ``BinanceFuturesMarkPriceUpdate`` (mark, index, estimated settle ``P`` at the price
  precision, exact funding rate, next funding time), the custom data type NautilusTrader's Binance adapter
  publishes for it.
* **Mark / index prices** are rounded half-even to the instrument's price precision (Binance sends 8
  decimals); a mark price finer than the tick is not a tradeable price and Nautilus expects one precision per
  instrument. **Funding rates** stay exact ``Decimal``; ``next_funding_ns`` is ``T`` in nanoseconds.
* **Trades**: aggressor is SELLER when the buyer is the maker (``m``), else BUYER; trade id is the aggregate
  id (``a``) for aggTrade and the trade id (``t``) for trade. A zero-size trade (Nautilus rejects size 0)
  yields ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from nautilus_trader.model.data import (
    Bar,
    BarSpecification,
    BarType,
    BookOrder,
    FundingRateUpdate,
    IndexPriceUpdate,
    MarkPriceUpdate,
    OrderBookDeltas,
    OrderBookDepth10,
    QuoteTick,
    TradeTick,
)
from nautilus_trader.model.enums import AggregationSource, AggressorSide, OrderSide
from nautilus_trader.model.identifiers import InstrumentId, TradeId

from adapters.binance_futures.schemas_market import (
    AggTrade,
    AggTradeRest,
    BookTicker,
    DepthSnapshot,
    DepthUpdate,
    FundingRateRest,
    Kline,
    KlineData,
    KlineRow,
    Level,
    PremiumIndex,
    Trade,
)
from adapters.binance_futures.schemas_market import (
    MarkPriceUpdate as MarkPriceMsg,
)
from adapters.binance_futures.streams import KLINE_INTERVALS

# NautilusTrader's Binance types, with their serializers registered (see types.py).
from adapters.binance_futures.types import BinanceBar, BinanceFuturesMarkPriceUpdate
from adapters.core.base.timestamps import NANOS_PER_MS
from adapters.core.market.market_context import MarketContext
from adapters.core.market.market_parsing import (
    F_LAST,
    F_SNAPSHOT,
    depth10,
    index_and_funding,
    interval_key,
    interval_of,
    interval_spec,
    parse_rate,
    snapshot_deltas,
    update_deltas,
)
from adapters.core.market.market_parsing import ts_ms as _ts
from adapters.core.parse.decimal_parse import parse_quantity
from adapters.core.parse.wire_values import WireValueError, check_positive_id, strict_decimal

# Re-exported: the core's constants and NautilusTrader's Binance types built here.
__all__ = [
    "F_LAST",
    "F_SNAPSHOT",
    "BinanceBar",
    "BinanceFuturesMarkPriceUpdate",
    "MarketContext",
]

_BUY: Final = OrderSide.BUY
_SELL: Final = OrderSide.SELL
_SELLER: Final = AggressorSide.SELLER  # the buyer was the maker: the seller took liquidity
_BUYER: Final = AggressorSide.BUYER


def ms_to_ns(ms: int) -> int:
    return ms * NANOS_PER_MS


# --------------------------------------------------------------------------------------------------
# Quotes and trades
# --------------------------------------------------------------------------------------------------


def parse_quote_tick(msg: BookTicker, ctx: MarketContext, ts_init: int) -> QuoteTick:
    # Cache hits without a method call (the common case); a miss takes the exact parse.
    prices, sizes = ctx.prices, ctx.sizes
    bid, ask, bid_qty, ask_qty = msg.bid_price, msg.ask_price, msg.bid_qty, msg.ask_qty
    return QuoteTick(
        ctx.instrument_id,
        prices.get(bid) or ctx.price(bid),
        prices.get(ask) or ctx.price(ask),
        sizes.get(bid_qty) or ctx.size(bid_qty),
        sizes.get(ask_qty) or ctx.size(ask_qty),
        _ts(msg.transaction_time, msg.event_time, ts_init),
        ts_init,
    )


def aggressor_side(buyer_is_maker: bool) -> AggressorSide:
    """The buyer being the maker means the seller took liquidity."""
    return AggressorSide.SELLER if buyer_is_maker else AggressorSide.BUYER


def parse_agg_trade(msg: AggTrade | AggTradeRest, ctx: MarketContext, ts_init: int) -> TradeTick | None:
    """``aggTrade`` event or REST row -> TradeTick (trade id = aggregate id). None for a zero size."""
    # Trade sizes cluster on round lots: a cache hit costs a tenth of a parse, a miss one dict insert more.
    qty, price = msg.qty, msg.price
    size = ctx.sizes.get(qty) or ctx.size(qty)
    if size.raw <= 0:
        return None
    return TradeTick(
        ctx.instrument_id,
        ctx.prices.get(price) or ctx.price(price),
        size,
        _SELLER if msg.buyer_is_maker else _BUYER,
        TradeId(str(check_positive_id(msg.agg_id, "aggregate trade id"))),
        _ts(msg.trade_time, msg.event_time if isinstance(msg, AggTrade) else None, ts_init),
        ts_init,
    )


def parse_trade(msg: Trade, ctx: MarketContext, ts_init: int) -> TradeTick | None:
    """``trade`` event -> TradeTick (trade id = ``t``). None for a zero size."""
    size = ctx.size(msg.qty)
    if size.raw <= 0:
        return None
    return TradeTick(
        ctx.instrument_id,
        ctx.price(msg.price),
        size,
        aggressor_side(msg.buyer_is_maker),
        TradeId(str(check_positive_id(msg.trade_id, "trade id"))),
        _ts(msg.trade_time, msg.event_time, ts_init),
        ts_init,
    )


def parse_agg_trades(rows: Iterable[AggTradeRest], ctx: MarketContext, ts_init: int) -> list[TradeTick]:
    out: list[TradeTick] = []
    for row in rows:
        tick = parse_agg_trade(row, ctx, ts_init)
        if tick is not None:
            out.append(tick)
    return out


# --------------------------------------------------------------------------------------------------
# Order book
# --------------------------------------------------------------------------------------------------


def parse_book_snapshot(
    snap: DepthSnapshot, ctx: MarketContext, ts_init: int, ts_event: int | None = None
) -> OrderBookDeltas:
    """REST depth snapshot -> ``CLEAR`` + ``ADD`` per level, all ``F_SNAPSHOT``, ``F_LAST`` on the last one.

    ``sequence`` = ``lastUpdateId``. Zero-size levels (Binance never sends them) are skipped: ADD needs
    size > 0.
    """
    if ts_event is None:
        ts_event = _ts(snap.transaction_time, snap.event_time, ts_init)
    return snapshot_deltas(ctx, snap.bids, snap.asks, snap.last_update_id, ts_event, ts_init)


def parse_depth_diff(msg: DepthUpdate, ctx: MarketContext, ts_init: int) -> OrderBookDeltas | None:
    """Diff event -> UPDATE/DELETE deltas, ``F_LAST`` on the last, ``sequence`` = ``u``. None if empty."""
    if not msg.bids and not msg.asks:
        return None
    ts_event = _ts(msg.transaction_time, msg.event_time, ts_init)
    return update_deltas(ctx, msg.bids, msg.asks, msg.final_update_id, ts_event, ts_init)


def _top(levels: Sequence[Level], side: OrderSide, ctx: MarketContext, n: int) -> list[BookOrder]:
    return [BookOrder(side, ctx.price(px), ctx.size(qty), 0) for px, qty in levels[:n]]


def parse_depth10(msg: DepthUpdate, ctx: MarketContext, ts_init: int) -> OrderBookDepth10:
    """Partial book (``depth5/10/20``) -> ``OrderBookDepth10``: top 10 per side, null-padded.

    Flags ``F_SNAPSHOT | F_LAST`` (each message is a complete top-of-book), ``sequence`` = ``u``.
    """
    bids = _top(msg.bids, _BUY, ctx, 10)
    asks = _top(msg.asks, _SELL, ctx, 10)
    ts_event = _ts(msg.transaction_time, msg.event_time, ts_init)
    return depth10(ctx, bids, asks, msg.final_update_id, ts_event, ts_init)


# --------------------------------------------------------------------------------------------------
# Bars
# --------------------------------------------------------------------------------------------------

# Binance interval -> bar specification, and the inverse keyed on (step, aggregation). ``3d`` is left out:
# Nautilus 1.221 rejects ``BarSpecification(3, DAY, ...)`` (a DAY step must divide 1), and no other unit
# expresses three days, so a 3d kline has no Nautilus bar type.
UNSUPPORTED_INTERVALS: Final = frozenset({"3d"})
INTERVAL_SPECS: Final[dict[str, BarSpecification]] = {
    i: interval_spec(i) for i in KLINE_INTERVALS if i not in UNSUPPORTED_INTERVALS
}
_SPEC_INTERVALS: Final[dict[tuple[int, int], str]] = {interval_key(i): i for i in INTERVAL_SPECS}


def bar_type_for(instrument_id: InstrumentId, interval: str) -> BarType:
    """``("BTCUSDT-PERP.BINANCE", "1m")`` -> ``BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL``."""
    spec = INTERVAL_SPECS.get(interval)
    if spec is None:
        if interval in UNSUPPORTED_INTERVALS:
            raise ValueError(f"Binance kline interval {interval!r} has no Nautilus bar specification")
        raise ValueError(f"unsupported Binance kline interval {interval!r}")
    return BarType(instrument_id, spec, AggregationSource.EXTERNAL)


def interval_for(bar_type: BarType) -> str:
    """Inverse of :func:`bar_type_for`. ValueError for a bar type Binance has no kline for."""
    return interval_of(bar_type, _SPEC_INTERVALS, "Binance")


def _bar(
    bar_type: BarType,
    ctx: MarketContext,
    k: KlineData | KlineRow,
    ts_init: int,
) -> Bar:
    """One kline -> ``BinanceBar`` when it carries quote volume, count and taker-buy volumes, else ``Bar``."""
    cached = ctx.prices.get  # hits without a method call; a miss takes the exact parse
    open_ = cached(k.open) or ctx.price(k.open)
    high = cached(k.high) or ctx.price(k.high)
    low = cached(k.low) or ctx.price(k.low)
    close = cached(k.close) or ctx.price(k.close)
    volume = parse_quantity(k.volume, ctx.size_precision)
    ts_event = (k.close_time + 1) * NANOS_PER_MS
    if (
        k.quote_volume is None
        or k.trades is None
        or k.taker_buy_volume is None
        or k.taker_buy_quote_volume is None
    ):
        return Bar(bar_type, open_, high, low, close, volume, ts_event, ts_init)
    if k.trades < 0:
        raise WireValueError("n", str(k.trades), "trade count must be >= 0")
    return BinanceBar(
        bar_type=bar_type,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        quote_volume=strict_decimal(k.quote_volume, "q"),
        count=k.trades,
        taker_buy_base_volume=strict_decimal(k.taker_buy_volume, "V"),
        taker_buy_quote_volume=strict_decimal(k.taker_buy_quote_volume, "Q"),
        ts_event=ts_event,
        ts_init=ts_init,
    )


def parse_kline(
    msg: Kline | KlineData, bar_type: BarType, ctx: MarketContext, ts_init: int, closed_only: bool = True
) -> Bar | None:
    """Kline event -> Bar (a ``BinanceBar``); None while the kline is open (unless ``closed_only=False``)."""
    k = msg.kline if isinstance(msg, Kline) else msg
    if closed_only and not k.closed:
        return None
    return _bar(bar_type, ctx, k, ts_init)


def parse_kline_rows(
    rows: Iterable[KlineRow],
    bar_type: BarType,
    ctx: MarketContext,
    ts_init: int,
    now_ms: int | None = None,
) -> list[Bar]:
    """``GET /fapi/v1/klines`` rows -> Bars. With ``now_ms``, the still-open bar (close >= now) is dropped."""
    out: list[Bar] = []
    for r in rows:
        if now_ms is not None and r.close_time >= now_ms:
            continue
        out.append(_bar(bar_type, ctx, r, ts_init))
    return out


# --------------------------------------------------------------------------------------------------
# Mark price, index price, funding
# --------------------------------------------------------------------------------------------------


def mark_ts_event(msg: MarkPriceMsg, ts_init: int) -> int:
    """``ts_event`` of everything a ``markPriceUpdate`` yields: its event time ``E``."""
    return _ts(msg.event_time, None, ts_init)


def parse_mark_price(
    msg: MarkPriceMsg, ctx: MarketContext, ts_init: int, ts_event: int | None = None
) -> MarkPriceUpdate:
    """``ts_event``: :func:`mark_ts_event` when the caller has it already (one frame, several objects)."""
    if ts_event is None:
        ts_event = _ts(msg.event_time, None, ts_init)
    return MarkPriceUpdate(ctx.instrument_id, ctx.rounded_price(msg.mark_price), ts_event, ts_init)


def parse_index_price(
    msg: MarkPriceMsg, ctx: MarketContext, ts_init: int, ts_event: int | None = None
) -> IndexPriceUpdate | None:
    if not msg.index_price:
        return None
    if ts_event is None:
        ts_event = _ts(msg.event_time, None, ts_init)
    return IndexPriceUpdate(ctx.instrument_id, ctx.rounded_price(msg.index_price), ts_event, ts_init)


_rate = parse_rate  # delivery contracts send "" (no funding)


def parse_mark_price_update(
    msg: MarkPriceMsg, ctx: MarketContext, ts_init: int
) -> BinanceFuturesMarkPriceUpdate | None:
    """One ``markPriceUpdate`` -> ``BinanceFuturesMarkPriceUpdate`` (NautilusTrader's type for the whole
    frame: mark, index, estimated settle price ``P``, funding rate, next funding time). Prices at the
    instrument's precision like :func:`parse_mark_price`, the rate exact, ``ts_event`` = ``E``. None when
    the frame lacks the index, the estimated settle price or a funding rate (delivery contracts)."""
    rate = _rate(msg.funding_rate)
    if not msg.index_price or not msg.estimated_settle_price or rate is None:
        return None
    return BinanceFuturesMarkPriceUpdate(
        instrument_id=ctx.instrument_id,
        mark=ctx.rounded_price(msg.mark_price),
        index=ctx.rounded_price(msg.index_price),
        estimated_settle=ctx.rounded_price(msg.estimated_settle_price),
        funding_rate=rate,
        next_funding_ns=(msg.next_funding_time or 0) * NANOS_PER_MS,
        ts_event=_ts(msg.event_time, None, ts_init),
        ts_init=ts_init,
    )


def parse_funding_rate(
    msg: MarkPriceMsg, ctx: MarketContext, ts_init: int, ts_event: int | None = None
) -> FundingRateUpdate | None:
    """``r`` (exact Decimal) and next funding time ``T`` (ms -> ns). None when there is no funding rate."""
    rate = _rate(msg.funding_rate)
    if rate is None:
        return None
    if ts_event is None:
        ts_event = _ts(msg.event_time, None, ts_init)
    next_ms = msg.next_funding_time
    return FundingRateUpdate(
        ctx.instrument_id,
        rate,
        ts_event,
        ts_init,
        next_funding_ns=next_ms * NANOS_PER_MS if next_ms else None,
    )


def parse_premium_index(
    pi: PremiumIndex, ctx: MarketContext, ts_init: int
) -> tuple[MarkPriceUpdate, IndexPriceUpdate | None, FundingRateUpdate | None]:
    """``GET /fapi/v1/premiumIndex`` item -> (mark, index, funding) updates."""
    ts_event = _ts(pi.time, None, ts_init)
    mark = MarkPriceUpdate(ctx.instrument_id, ctx.rounded_price(pi.markPrice), ts_event, ts_init)
    index, funding = index_and_funding(
        ctx, pi.indexPrice, pi.lastFundingRate, pi.nextFundingTime, ts_event, ts_init
    )
    return mark, index, funding


def parse_funding_rate_history(
    rows: Iterable[FundingRateRest], ctx: MarketContext, ts_init: int
) -> list[FundingRateUpdate]:
    """``GET /fapi/v1/fundingRate`` -> one update per settled funding (``ts_event`` = ``fundingTime``)."""
    out: list[FundingRateUpdate] = []
    for r in rows:
        rate = _rate(r.fundingRate)
        if rate is not None:
            out.append(FundingRateUpdate(ctx.instrument_id, rate, ms_to_ns(r.fundingTime), ts_init))
    return out
