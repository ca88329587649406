"""BingX market data: topics, the stream codec and pure conversions to NautilusTrader data (no I/O).

The wire types and the frame decoder are in :mod:`adapters.bingx.schemas_market`
(:func:`~adapters.bingx.schemas_market.decode_market_frame`: each frame decoded once, strictly).
:class:`BingxStreamCodec` is what the core market stream pool speaks: ``sub``/``unsub`` requests out,
decoded frames and subscription acks in; :func:`server_ping_reply` answers the heartbeat.

Conversions take a :class:`~adapters.core.market.market_context.MarketContext` (the
venue-neutral per-instrument price/size cache shared with Binance) and ``ts_init``:

* **Quotes** ``@bookTicker`` -> ``QuoteTick`` (``ts_event`` = ``T``, else ``E``).
* **Trades** ``@trade`` -> ``TradeTick``. BingX sends no trade id and sometimes pushes a trade
  twice; the id is synthesised from the trade itself (:func:`synthesize_trade_id`: time, index
  in the batch and a CRC of price/size/side) and a bounded FIFO set drops ids already seen.
* **Book** ``@incrDepth``: ``action: "all"`` -> ``CLEAR`` + ``ADD`` per level (``F_SNAPSHOT``),
  ``action: "update"`` -> ``UPDATE``/``DELETE`` (qty 0) with ``F_LAST`` on the last delta;
  ``sequence`` = ``lastUpdateId``. ``@depthN@Xms`` -> ``OrderBookDepth10`` (asks arrive
  far-to-best and are sorted here).
* **Bars** ``@kline_<i>``: ``T`` is the bar *open* time and there is no closed flag, so
  :class:`BarTracker` holds the latest push of the open bar and emits it only when a push for a
  later bar arrives (``ts_event`` = open + interval, the close boundary).
* **Mark price** ``@markPrice`` -> ``MarkPriceUpdate`` rounded half-even to the price precision.
  **Funding rate / index price** come from REST ``premiumIndex`` (the stream has neither).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Sequence
from typing import Any, Final

from nautilus_trader.model.data import (
    Bar,
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
from nautilus_trader.model.objects import Price, Quantity

from adapters.bingx.schemas_market import (
    BookTicker,
    DepthFrame,
    DepthRest,
    IncrDepth,
    KlineItem,
    KlineRest,
    MarkPrice,
    PremiumIndexRest,
    TradeFrame,
    TradeItem,
    UnknownMarketFrame,
    classify_market_frame,
    decode_market_frame,
)
from adapters.bingx.stream_frames import (
    MAX_PING_FRAME,
    PONG,
    JsonPing,
    MalformedFrame,
    StreamAck,
    decode_gzip_frame,
    is_ping,
    json_pong,
)
from adapters.core.base.dedup import FifoDedup
from adapters.core.base.timestamps import NANOS_PER_MS
from adapters.core.market.market_context import MarketContext
from adapters.core.market.market_parsing import (
    F_LAST,
    F_SNAPSHOT,
    Level,
    depth10,
    index_and_funding,
    interval_key,
    interval_of,
    interval_spec,
    snapshot_deltas,
    update_deltas,
)
from adapters.core.market.market_parsing import ts_ms as _ts
from adapters.core.net.stream import Frame
from adapters.core.net.stream_pool import SUBSCRIBE, Ack
from adapters.core.parse.decimal_parse import parse_quantity

# re-exported: the core per-instrument conversion context and the shared constants
__all__ = ["F_LAST", "F_SNAPSHOT", "Level", "MarketContext"]

_log = logging.getLogger(__name__)

_BUY: Final = OrderSide.BUY
_SELL: Final = OrderSide.SELL
_SELLER: Final = AggressorSide.SELLER
_BUYER: Final = AggressorSide.BUYER

# --------------------------------------------------------------------------------------------------
# Topics
# --------------------------------------------------------------------------------------------------

KLINE_INTERVALS: Final[dict[str, int]] = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "1w": 604_800_000,
    "1M": 2_592_000_000,
}
_SPEC_INTERVALS: Final[dict[tuple[int, int], str]] = {interval_key(i): i for i in KLINE_INTERVALS}
# BingX pushes depth snapshots every 200 ms for BTC-USDT / ETH-USDT and every 500 ms for the rest
# (docs change of 2025-06-17).
FAST_DEPTH_SYMBOLS: Final = frozenset({"BTC-USDT", "ETH-USDT"})


def trade_topic(symbol: str) -> str:
    return f"{symbol}@trade"


def book_ticker_topic(symbol: str) -> str:
    return f"{symbol}@bookTicker"


def incr_depth_topic(symbol: str) -> str:
    return f"{symbol}@incrDepth"


def mark_price_topic(symbol: str) -> str:
    return f"{symbol}@markPrice"


def kline_topic(symbol: str, interval: str) -> str:
    return f"{symbol}@kline_{interval}"


def depth_topic(symbol: str, levels: int = 10, interval_ms: int | None = None) -> str:
    if interval_ms is None:
        interval_ms = 200 if symbol in FAST_DEPTH_SYMBOLS else 500
    return f"{symbol}@depth{levels}@{interval_ms}ms"


def interval_for(bar_type: BarType) -> str:
    """``...-1-MINUTE-LAST-EXTERNAL`` -> ``1m``; ValueError for a bar type BingX has no kline for."""
    return interval_of(bar_type, _SPEC_INTERVALS, "BingX")


def bar_type_for(instrument_id: InstrumentId, interval: str) -> BarType:
    if interval not in KLINE_INTERVALS:
        raise ValueError(f"unsupported BingX kline interval {interval!r}")
    return BarType(instrument_id, interval_spec(interval), AggregationSource.EXTERNAL)


def symbol_of(data_type: str) -> str:
    return data_type.partition("@")[0]


# --------------------------------------------------------------------------------------------------
# Stream codec (the core market stream pool's dialect) and heartbeat
# --------------------------------------------------------------------------------------------------


def server_ping_reply(frame: Frame) -> Frame | None:
    """``Ping`` (gzip or text) -> ``Pong``; a JSON ping -> its JSON pong; anything else None."""
    if len(frame) > MAX_PING_FRAME:
        return None
    # Never raises: a corrupt small frame is not a heartbeat (the dispatcher logs it as malformed);
    # it must not take the socket down with it.
    try:
        payload = decode_gzip_frame(frame)
        if is_ping(payload):
            return PONG
        if payload.startswith(b'{"ping"'):
            decoded = classify_market_frame(payload)
            if isinstance(decoded, JsonPing):
                return json_pong(decoded).decode()
    except Exception:
        return None
    return None


class BingxStreamCodec:
    """``{"id", "reqType": "sub"|"unsub", "dataType"}`` requests (one topic each); typed data frames."""

    max_streams_per_request = 1

    def __init__(self, name: str, logger: logging.Logger | None = None) -> None:
        self.name = name
        self.log = logger or _log

    def encode(self, method: str, streams: Sequence[str], req_id: int) -> Frame:
        req_type = "sub" if method == SUBSCRIBE else "unsub"
        return f'{{"id":"{req_id}","reqType":"{req_type}","dataType":"{streams[0]}"}}'

    def decode(self, frame: Frame) -> tuple[str | None, Any] | Ack | None:
        decoded = decode_market_frame(frame)
        data_type = getattr(decoded, "dataType", None)
        if data_type is not None:
            return data_type, decoded
        if isinstance(decoded, StreamAck):
            ident = int(decoded.id) if decoded.id and decoded.id.isdigit() else None
            return Ack(ident, None if decoded.ok else f"code={decoded.code} msg={decoded.msg}")
        if isinstance(decoded, MalformedFrame):
            self.log.warning("%s: malformed frame: %s", self.name, decoded.error)
        elif isinstance(decoded, UnknownMarketFrame):
            self.log.debug("%s: unknown topic %s", self.name, decoded.data_type)
        return None


# --------------------------------------------------------------------------------------------------
# Conversions
# --------------------------------------------------------------------------------------------------


def parse_quote(msg: BookTicker, ctx: MarketContext, ts_init: int) -> QuoteTick:
    # Cache hits without a method call (the common case); a miss takes the exact parse.
    prices, sizes = ctx.prices, ctx.sizes
    bid, ask, bid_qty, ask_qty = msg.b, msg.a, msg.B, msg.A
    return QuoteTick(
        ctx.instrument_id,
        prices.get(bid) or ctx.price(bid),
        prices.get(ask) or ctx.price(ask),
        sizes.get(bid_qty) or ctx.size(bid_qty),
        sizes.get(ask_qty) or ctx.size(ask_qty),
        _ts(msg.T, msg.E, ts_init),
        ts_init,
    )


def synthesize_trade_id(t: TradeItem, index: int) -> str:
    """Deterministic id of a BingX trade (which has none): ``<T>-<index>-<crc32(p|q|m)>``, <= 36 chars.

    The same push delivered twice yields the same ids; different trades in the same millisecond
    differ by their batch index or their price/size/side.
    """
    crc = zlib.crc32(f"{t.p}|{t.q}|{'1' if t.m else '0'}".encode())
    return f"{t.T}-{index}-{crc:08x}"


def parse_trades(
    frame: TradeFrame, ctx: MarketContext, ts_init: int, seen: FifoDedup[str] | None = None
) -> list[TradeTick]:
    """``@trade`` push -> TradeTicks, skipping trades whose synthesised id ``seen`` already holds and
    zero sizes (Nautilus rejects size 0)."""
    out: list[TradeTick] = []
    iid = ctx.instrument_id
    # Cache hits without a method call. Trade sizes cluster on round lots: a hit costs a tenth of a
    # parse, a miss one dict insert more.
    cached_price, cached_size = ctx.prices.get, ctx.sizes.get
    for i, t in enumerate(frame.data):
        trade_id = synthesize_trade_id(t, i)
        if seen is not None and not seen.add(trade_id):
            continue
        size = cached_size(t.q) or ctx.size(t.q)
        if size.raw <= 0:
            continue
        out.append(
            TradeTick(
                iid,
                cached_price(t.p) or ctx.price(t.p),
                size,
                _SELLER if t.m else _BUYER,
                TradeId(trade_id),
                _ts(t.T, None, ts_init),
                ts_init,
            )
        )
    return out


def parse_incr_snapshot(msg: IncrDepth, ctx: MarketContext, ts_init: int) -> OrderBookDeltas:
    """``action: "all"`` -> ``CLEAR`` + ``ADD`` per level, all ``F_SNAPSHOT``, ``F_LAST`` on the last."""
    return snapshot_deltas(ctx, msg.bids, msg.asks, msg.lastUpdateId, _ts(msg.time, None, ts_init), ts_init)


def parse_incr_update(msg: IncrDepth, ctx: MarketContext, ts_init: int) -> OrderBookDeltas | None:
    """``action: "update"`` -> UPDATE (qty > 0) / DELETE (qty 0) deltas; None when empty."""
    return update_deltas(ctx, msg.bids, msg.asks, msg.lastUpdateId, _ts(msg.time, None, ts_init), ts_init)


def _raw_price(level: tuple[Price, Quantity]) -> int:
    return level[0].raw


def _top(levels: Sequence[Level], side: OrderSide, ctx: MarketContext, descending: bool) -> list[BookOrder]:
    prices, sizes = ctx.prices, ctx.sizes
    parsed = [(prices.get(px) or ctx.price(px), sizes.get(qty) or ctx.size(qty)) for px, qty in levels]
    # Sorted on the raw integers: comparing Price objects was a quarter of a depth10 frame.
    parsed.sort(key=_raw_price, reverse=descending)
    # Empty levels out before the cut: the ten best levels that hold something.
    return [BookOrder(side, px, qty, 0) for px, qty in parsed if qty.raw > 0][:10]


def parse_depth10(frame: DepthFrame, ctx: MarketContext, ts_init: int) -> OrderBookDepth10:
    """``@depthN@Xms`` snapshot -> ``OrderBookDepth10`` (bids best first, asks best first)."""
    bids = _top(frame.data.bids, _BUY, ctx, True)
    asks = _top(frame.data.asks, _SELL, ctx, False)
    return depth10(ctx, bids, asks, 0, _ts(frame.ts, None, ts_init), ts_init)


def parse_mark_price(msg: MarkPrice, ctx: MarketContext, ts_init: int) -> MarkPriceUpdate:
    return MarkPriceUpdate(ctx.instrument_id, ctx.rounded_price(msg.p), _ts(msg.E, None, ts_init), ts_init)


class BarTracker:
    """Emits a kline only once it is final (BingX has no closed flag: a later ``T`` closes it).

    ``on_push`` returns the bars the push finalised (at most one per distinct earlier ``T``).
    :meth:`invalidate` forgets the held bar (after a reconnect pushes may have been missed, so its
    values are not trusted).
    """

    __slots__ = ("_held", "bar_type", "ctx", "interval_ms")

    def __init__(self, bar_type: BarType, interval_ms: int, ctx: MarketContext) -> None:
        self.bar_type = bar_type
        self.interval_ms = interval_ms
        self.ctx = ctx
        self._held: KlineItem | None = None

    @property
    def held(self) -> KlineItem | None:
        return self._held

    def invalidate(self) -> None:
        self._held = None

    def on_push(self, items: Sequence[KlineItem], ts_init: int) -> list[Bar]:
        out: list[Bar] = []
        for k in items:
            held = self._held
            if held is not None and k.T > held.T:
                out.append(self.to_bar(held, ts_init))
            if held is None or k.T >= held.T:
                self._held = k
        return out

    def to_bar(self, k: KlineItem, ts_init: int) -> Bar:
        ctx = self.ctx
        return Bar(
            self.bar_type,
            ctx.price(k.o),
            ctx.price(k.h),
            ctx.price(k.l),
            ctx.price(k.c),
            parse_quantity(k.v, ctx.size_precision),
            (k.T + self.interval_ms) * NANOS_PER_MS,
            ts_init,
        )


# --------------------------------------------------------------------------------------------------
# REST market payloads (``/openApi/swap/v2|v3/quote/...``, types in schemas_market)
# --------------------------------------------------------------------------------------------------


def parse_premium_index(
    pi: PremiumIndexRest, ctx: MarketContext, ts_init: int
) -> tuple[IndexPriceUpdate | None, FundingRateUpdate | None]:
    """``premiumIndex`` -> (index price, funding rate with the next funding time)."""
    ts_event = _ts(pi.time, None, ts_init)
    return index_and_funding(ctx, pi.indexPrice, pi.lastFundingRate, pi.nextFundingTime, ts_event, ts_init)


def parse_kline_rest(
    rows: Sequence[KlineRest], bar_type: BarType, interval_ms: int, ctx: MarketContext, now_ms: int
) -> list[Bar]:
    """REST klines -> closed Bars (ascending, the still-open bar dropped), ``ts_init = ts_event``."""
    out: list[Bar] = []
    for r in sorted(rows, key=lambda r: r.time):
        close_ms = r.time + interval_ms
        if close_ms > now_ms:
            continue
        ts = close_ms * NANOS_PER_MS
        out.append(
            Bar(
                bar_type,
                ctx.price(r.open),
                ctx.price(r.high),
                ctx.price(r.low),
                ctx.price(r.close),
                parse_quantity(r.volume, ctx.size_precision),
                ts,
                ts,
            )
        )
    return out


def parse_depth_rest(snap: DepthRest, ctx: MarketContext, ts_init: int) -> OrderBookDeltas:
    """REST depth -> a snapshot packet (``sequence`` 0: REST depth carries no update id)."""
    msg = IncrDepth("all", 0, snap.T, snap.bids, snap.asks)
    return parse_incr_snapshot(msg, ctx, ts_init)


ContextLookup = Callable[[str], MarketContext | None]
