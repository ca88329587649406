"""msgspec models and decoders for Binance USD-M Futures market data (WebSocket streams and REST).

Rules (same as :mod:`schemas_user`):

* every WS event Struct is tagged on ``"e"``, so one ``Decoder(MarketEvent)`` decodes a frame exactly once
  into the right type, bare or inside the combined-stream wrapper ``{"stream": ..., "data": ...}``;
* unknown extra fields are ignored; fields the venue may omit or send as ``null`` are optional;
* prices/quantities stay strings (exact decimal text, converted in :mod:`parsing_market`); ids/times are ints;
* decoders are non-strict, so numeric strings are accepted where ints are expected.

Partial-depth streams (``<sym>@depth5/10/20``) send the same ``depthUpdate`` object as the diff stream
(``<sym>@depth@100ms``); only the stream name tells them apart, so :func:`decode_market_frame` returns the
stream name with the event.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec
from msgspec import field

from adapters.binance_futures.schemas_user import (
    ControlResponse,
    MalformedFrame,
    StreamError,
    UnknownEvent,
)

__all__ = [
    "KNOWN_MARKET_EVENT_TYPES",
    "AggTrade",
    "AggTradeRest",
    "BookTicker",
    "ControlResponse",
    "DepthSnapshot",
    "DepthUpdate",
    "FundingRateRest",
    "Kline",
    "KlineData",
    "KlineRow",
    "MalformedFrame",
    "MarkPriceUpdate",
    "MarketDecoded",
    "MarketEvent",
    "MarketFrame",
    "PremiumIndex",
    "StreamError",
    "SubscriptionError",
    "Ticker24hr",
    "Trade",
    "UnknownEvent",
    "decode_agg_trades",
    "decode_depth_snapshot",
    "decode_funding_rates",
    "decode_klines",
    "decode_market_frame",
    "decode_premium_index",
    "decode_stream_event",
]

# A price level: ``["7403.89", "0.002"]``. Tuples decode faster than Structs and index the same way.
Level = tuple[str, str]

# --------------------------------------------------------------------------------------------------
# WebSocket events
# --------------------------------------------------------------------------------------------------


class BookTicker(msgspec.Struct, tag_field="e", tag="bookTicker", gc=False, kw_only=True):
    """``<sym>@bookTicker``: best bid/ask."""

    update_id: int = field(name="u", default=0)
    event_time: int = field(name="E", default=0)
    transaction_time: int | None = field(name="T", default=None)
    symbol: str = field(name="s")
    bid_price: str = field(name="b")
    bid_qty: str = field(name="B")
    ask_price: str = field(name="a")
    ask_qty: str = field(name="A")


class AggTrade(msgspec.Struct, tag_field="e", tag="aggTrade", gc=False, kw_only=True):
    """``<sym>@aggTrade``: trades aggregated per taker order and price."""

    event_time: int = field(name="E", default=0)
    symbol: str = field(name="s")
    agg_id: int = field(name="a")
    price: str = field(name="p")
    qty: str = field(name="q")
    first_trade_id: int | None = field(name="f", default=None)
    last_trade_id: int | None = field(name="l", default=None)
    trade_time: int = field(name="T", default=0)
    buyer_is_maker: bool = field(name="m")


class Trade(msgspec.Struct, tag_field="e", tag="trade", gc=False, kw_only=True):
    """``<sym>@trade``: individual trades. ``X`` is MARKET, or LIQUIDATION / INSURANCE_FUND / ADL / NA."""

    event_time: int = field(name="E", default=0)
    trade_time: int = field(name="T", default=0)
    symbol: str = field(name="s")
    trade_id: int = field(name="t")
    price: str = field(name="p")
    qty: str = field(name="q")
    trade_type: str | None = field(name="X", default=None)
    buyer_is_maker: bool = field(name="m")


class DepthUpdate(msgspec.Struct, tag_field="e", tag="depthUpdate", gc=False, kw_only=True):
    """``<sym>@depth[@100ms]`` diff, or ``<sym>@depth{5,10,20}`` partial book (same shape).

    ``U`` first update id, ``u`` final update id, ``pu`` final update id of the previous event.
    """

    event_time: int = field(name="E", default=0)
    transaction_time: int | None = field(name="T", default=None)
    symbol: str = field(name="s")
    first_update_id: int = field(name="U")
    final_update_id: int = field(name="u")
    prev_final_update_id: int | None = field(name="pu", default=None)
    # Required: the venue always sends both sides (empty when unchanged); a frame without one is
    # corrupt (fuzz: a mangled "b" key read as "no bid changes" kept a deleted level in a SYNCED book).
    bids: list[Level] = field(name="b")
    asks: list[Level] = field(name="a")


class KlineData(msgspec.Struct, gc=False, kw_only=True):
    """The ``k`` object of a kline event."""

    open_time: int = field(name="t")
    close_time: int = field(name="T")
    symbol: str | None = field(name="s", default=None)
    interval: str = field(name="i")
    first_trade_id: int | None = field(name="f", default=None)
    last_trade_id: int | None = field(name="L", default=None)
    open: str = field(name="o")
    close: str = field(name="c")
    high: str = field(name="h")
    low: str = field(name="l")
    volume: str = field(name="v")
    trades: int | None = field(name="n", default=None)
    closed: bool = field(name="x", default=False)
    quote_volume: str | None = field(name="q", default=None)
    taker_buy_volume: str | None = field(name="V", default=None)
    taker_buy_quote_volume: str | None = field(name="Q", default=None)


class Kline(msgspec.Struct, tag_field="e", tag="kline", gc=False, kw_only=True):
    """``<sym>@kline_<interval>``: the current candle, pushed on each change; ``k.x`` marks the final push."""

    event_time: int = field(name="E", default=0)
    symbol: str = field(name="s")
    kline: KlineData = field(name="k")


class MarkPriceUpdate(msgspec.Struct, tag_field="e", tag="markPriceUpdate", gc=False, kw_only=True):
    """``<sym>@markPrice[@1s]``: mark/index price, funding rate ``r``, next funding time ``T`` (ms)."""

    event_time: int = field(name="E", default=0)
    symbol: str = field(name="s")
    mark_price: str = field(name="p")
    index_price: str | None = field(name="i", default=None)
    estimated_settle_price: str | None = field(name="P", default=None)
    funding_rate: str | None = field(name="r", default=None)  # "" for delivery contracts
    next_funding_time: int | None = field(name="T", default=None)


class Ticker24hr(msgspec.Struct, tag_field="e", tag="24hrTicker", gc=False, kw_only=True):
    """``<sym>@ticker``: rolling 24 h statistics (decoded for completeness, not converted)."""

    event_time: int = field(name="E", default=0)
    symbol: str = field(name="s")
    price_change: str | None = field(name="p", default=None)
    price_change_percent: str | None = field(name="P", default=None)
    weighted_avg_price: str | None = field(name="w", default=None)
    last_price: str | None = field(name="c", default=None)
    last_qty: str | None = field(name="Q", default=None)
    open_price: str | None = field(name="o", default=None)
    high_price: str | None = field(name="h", default=None)
    low_price: str | None = field(name="l", default=None)
    volume: str | None = field(name="v", default=None)
    quote_volume: str | None = field(name="q", default=None)
    open_time: int | None = field(name="O", default=None)
    close_time: int | None = field(name="C", default=None)
    first_trade_id: int | None = field(name="F", default=None)
    last_trade_id: int | None = field(name="L", default=None)
    trades: int | None = field(name="n", default=None)


MarketEvent = BookTicker | AggTrade | Trade | DepthUpdate | Kline | MarkPriceUpdate | Ticker24hr

KNOWN_MARKET_EVENT_TYPES: frozenset[str] = frozenset(
    {"bookTicker", "aggTrade", "trade", "depthUpdate", "kline", "markPriceUpdate", "24hrTicker"}
)


class SubscriptionError(msgspec.Struct, gc=False, kw_only=True):
    """``{"error": {"code": 2, "msg": "Invalid request: ..."}, "id": 1}`` reply to a SUBSCRIBE."""

    id: int | str | None
    code: int
    msg: str


MarketDecoded = (
    MarketEvent | UnknownEvent | MalformedFrame | StreamError | ControlResponse | SubscriptionError
)


class MarketFrame(NamedTuple):
    """One decoded frame: combined-stream name (None on a bare ``/ws/<stream>`` connection) and payload."""

    stream: str | None
    event: MarketDecoded


# --------------------------------------------------------------------------------------------------
# REST
# --------------------------------------------------------------------------------------------------


class DepthSnapshot(msgspec.Struct, gc=False, kw_only=True):
    """``GET /fapi/v1/depth``."""

    last_update_id: int = field(name="lastUpdateId")
    event_time: int | None = field(name="E", default=None)
    transaction_time: int | None = field(name="T", default=None)
    bids: list[Level]  # required: a snapshot without a side is no snapshot of the book
    asks: list[Level]


class KlineRow(msgspec.Struct, array_like=True, gc=False):
    """One row of ``GET /fapi/v1/klines`` (a JSON array; trailing extra items are ignored)."""

    open_time: int
    open: str
    high: str
    low: str
    close: str
    volume: str
    close_time: int
    quote_volume: str | None = None
    trades: int | None = None
    taker_buy_volume: str | None = None
    taker_buy_quote_volume: str | None = None


class AggTradeRest(msgspec.Struct, gc=False, kw_only=True):
    """One item of ``GET /fapi/v1/aggTrades`` (same keys as the WS event, without ``e``/``E``/``s``)."""

    agg_id: int = field(name="a")
    price: str = field(name="p")
    qty: str = field(name="q")
    first_trade_id: int | None = field(name="f", default=None)
    last_trade_id: int | None = field(name="l", default=None)
    trade_time: int = field(name="T")
    buyer_is_maker: bool = field(name="m")


class PremiumIndex(msgspec.Struct, gc=False, kw_only=True):
    """``GET /fapi/v1/premiumIndex`` (an object with ``symbol=``, a list without)."""

    symbol: str
    markPrice: str
    indexPrice: str | None = None
    estimatedSettlePrice: str | None = None
    lastFundingRate: str | None = None
    interestRate: str | None = None
    nextFundingTime: int | None = None
    time: int = 0


class FundingRateRest(msgspec.Struct, gc=False, kw_only=True):
    """One item of ``GET /fapi/v1/fundingRate`` (funding history)."""

    symbol: str
    fundingRate: str
    fundingTime: int
    markPrice: str | None = None


# --------------------------------------------------------------------------------------------------
# Decoders
# --------------------------------------------------------------------------------------------------


class _Wrapped(msgspec.Struct, gc=False):
    data: MarketEvent
    stream: str | None = None


class _ErrorBody(msgspec.Struct, gc=False):
    code: Any = None
    msg: Any = None


class _Generic(msgspec.Struct, gc=False):
    e: Any = None
    code: Any = None
    msg: Any = None
    id: Any = None
    result: Any = None
    error: _ErrorBody | None = None


class _GenericWrapped(msgspec.Struct, gc=False):
    data: _Generic | None = None
    stream: Any = None


_EVENT_DECODER = msgspec.json.Decoder(MarketEvent)
_WRAPPED_DECODER = msgspec.json.Decoder(_Wrapped)
_GENERIC_DECODER = msgspec.json.Decoder(_Generic)
_GENERIC_WRAPPED_DECODER = msgspec.json.Decoder(_GenericWrapped)

_DEPTH_SNAPSHOT_DECODER = msgspec.json.Decoder(DepthSnapshot, strict=False)
_KLINES_DECODER = msgspec.json.Decoder(list[KlineRow], strict=False)
_AGG_TRADES_DECODER = msgspec.json.Decoder(list[AggTradeRest], strict=False)
_PREMIUM_INDEX_DECODER = msgspec.json.Decoder(PremiumIndex | list[PremiumIndex], strict=False)
_FUNDING_RATES_DECODER = msgspec.json.Decoder(list[FundingRateRest], strict=False)

_STREAM_PREFIX = b'{"stream":"'


def _stream_of(raw: bytes) -> str | None:
    """Stream name of a compact wrapped frame without a second decode (Binance puts ``stream`` first)."""
    if raw.startswith(_STREAM_PREFIX):
        end = raw.find(b'"', len(_STREAM_PREFIX))
        if end > 0:
            name = raw[len(_STREAM_PREFIX) : end]
            # A stream name is ASCII; anything else is no stream of ours (and must not raise here).
            return name.decode("ascii") if name.isascii() else None
    return None


def _is_wrapped(raw: bytes) -> bool:
    """Peek at the first key: combined streams start with ``"stream"`` (or ``"data"``)."""
    i = raw.find(b'"', 0, 64)
    if i < 0:
        return False
    return raw.startswith(b'stream"', i + 1) or raw.startswith(b'data"', i + 1)


def decode_market_frame(raw: bytes | str) -> MarketFrame:
    """Decode one market-stream frame (bare or combined-stream wrapped) in one pass. Never raises."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    # Fast path: bare event frames start with {"e"; compact wrapped frames with {"stream".
    wrapped = False if raw.startswith(b'{"e"') else _is_wrapped(raw)
    try:
        if wrapped:
            w = _WRAPPED_DECODER.decode(raw)
            return MarketFrame(w.stream, w.data)
        return MarketFrame(None, _EVENT_DECODER.decode(raw))
    except msgspec.ValidationError as exc:
        return _classify(raw, wrapped, str(exc))
    except (msgspec.DecodeError, RecursionError) as exc:  # JSON nested beyond the decoder's depth
        return MarketFrame(
            _stream_of(raw),
            MalformedFrame(event_type=None, error=f"invalid JSON: {exc!r}"[:200], raw=raw),
        )


_STREAM_PREFIX_TEXT = '{"stream":'
_STREAM_PREFIX_KEY = b'{"stream":'


def decode_stream_event(raw: bytes | str) -> tuple[str | None, MarketEvent] | None:
    """The hot path of a combined-stream socket: a compact ``{"stream":...,"data":{...}}`` frame holding
    one of the known market events, decoded in one typed pass, as ``(stream, event)``. None for
    anything else (bare events, control replies, errors, malformed or unknown frames, text that is
    not valid UTF-8): the caller then takes :func:`decode_market_frame`, which classifies it. For a
    frame this accepts, :func:`decode_market_frame` returns the same stream and event."""
    if not (
        raw.startswith(_STREAM_PREFIX_TEXT) if type(raw) is str else raw.startswith(_STREAM_PREFIX_KEY)  # type: ignore[arg-type]
    ):
        return None
    try:
        w = _WRAPPED_DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError, UnicodeError):
        return None
    return (w.stream, w.data)


def _classify(raw: bytes, wrapped: bool, error: str) -> MarketFrame:
    """Slow path for anything that is not a known event: control replies, errors, unknown/malformed events."""
    stream: str | None = None
    try:
        if wrapped:
            outer = _GENERIC_WRAPPED_DECODER.decode(raw)
            stream = outer.stream if isinstance(outer.stream, str) else None
            generic = outer.data if outer.data is not None else _Generic()
        else:
            generic = _GENERIC_DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
        return MarketFrame(stream, MalformedFrame(event_type=None, error=str(exc)[:200], raw=raw))
    e = generic.e
    ident = generic.id if isinstance(generic.id, int | str) and not isinstance(generic.id, bool) else None
    event: MarketDecoded
    if isinstance(e, str):
        if e in KNOWN_MARKET_EVENT_TYPES:
            event = MalformedFrame(event_type=e, error=error, raw=raw)
        else:
            event = UnknownEvent(event_type=e, raw=raw)
    elif generic.error is not None:
        code = generic.error.code
        event = SubscriptionError(
            id=ident,
            code=code if isinstance(code, int) and not isinstance(code, bool) else 0,
            msg=str(generic.error.msg or ""),
        )
    elif isinstance(generic.code, int) and not isinstance(generic.code, bool):
        if ident is not None:
            # ``{"code": 0, "msg": "Unknown property", "id": 1}``: a rejected control request.
            event = SubscriptionError(id=ident, code=generic.code, msg=str(generic.msg or ""))
        else:
            event = StreamError(code=generic.code, msg=str(generic.msg or ""))
    elif ident is not None or generic.result is not None:
        event = ControlResponse(id=ident, result=generic.result)
    else:
        event = MalformedFrame(event_type=None, error=error, raw=raw)
    return MarketFrame(stream, event)


def decode_depth_snapshot(raw: bytes) -> DepthSnapshot:
    """``GET /fapi/v1/depth`` body (raises ``msgspec.ValidationError`` / ``DecodeError``)."""
    return _DEPTH_SNAPSHOT_DECODER.decode(raw)


def decode_klines(raw: bytes) -> list[KlineRow]:
    """``GET /fapi/v1/klines`` body."""
    return _KLINES_DECODER.decode(raw)


def decode_agg_trades(raw: bytes) -> list[AggTradeRest]:
    """``GET /fapi/v1/aggTrades`` body."""
    return _AGG_TRADES_DECODER.decode(raw)


def decode_premium_index(raw: bytes) -> list[PremiumIndex]:
    """``GET /fapi/v1/premiumIndex`` body, always as a list (one item when ``symbol`` was given)."""
    out = _PREMIUM_INDEX_DECODER.decode(raw)
    return out if isinstance(out, list) else [out]


def decode_funding_rates(raw: bytes) -> list[FundingRateRest]:
    """``GET /fapi/v1/fundingRate`` body."""
    return _FUNDING_RATES_DECODER.decode(raw)
