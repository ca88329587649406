"""msgspec models and the frame decoder for BingX perpetual-swap market data (WebSocket topics and REST).

Each market wire type is defined here once; the pure conversions to NautilusTrader data are in
:mod:`adapters.bingx.parsing_market`. The transport (gzip, the ``Ping`` heartbeat) and the control
frames (acks, malformed frames) are the ones the user stream uses (:mod:`adapters.bingx.stream_frames`).

Frames: every server frame is gzip; after decompression a data frame is
``{"code": 0, "dataType": "<SYM>@<topic>", "data": ...}``. :func:`decode_market_frame` finds
``dataType`` with a byte search and decodes the frame **once** into the topic's Struct. The decoders
are strict: decimal fields are typed ``str`` (the market topics send decimal strings; a JSON number
where a string belongs is not believed), times and update ids are ints. Anything else goes through
the general classification, which never believes data: the heartbeat :class:`PingFrame`, a JSON ping
(:class:`JsonPing`), a subscription ack or error (:class:`StreamAck`), a topic this module does not
decode (:class:`UnknownMarketFrame`) and :class:`MalformedFrame` (bad gzip or JSON, or a known topic
whose data the strict decoder did not accept, e.g. numbers where strings belong).

REST market payloads (``/openApi/swap/v2|v3/quote/...``) are at the end: :class:`DepthRest`,
:class:`KlineRest`, :class:`PremiumIndexRest`, :class:`FundingRateRest` (decoded by the REST client).
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from adapters.bingx.stream_frames import (
    GENERIC_DECODER,
    RAW_KEPT,
    JsonPing,
    MalformedFrame,
    PingFrame,
    StreamAck,
    ack_or_malformed,
    decode_gzip_frame,
    frame_head,
    is_ping,
)
from adapters.core.market.market_parsing import Level
from adapters.core.parse.inflate import GZIP_MAGIC, inflate_gzip

__all__ = [
    "BookTicker",
    "BookTickerFrame",
    "Depth",
    "DepthFrame",
    "DepthRest",
    "FundingRateRest",
    "IncrDepth",
    "IncrDepthFrame",
    "KlineFrame",
    "KlineItem",
    "KlineRest",
    "MarkPrice",
    "MarkPriceFrame",
    "MarketData",
    "MarketFrame",
    "PremiumIndexRest",
    "TradeFrame",
    "TradeItem",
    "UnknownMarketFrame",
    "classify_market_frame",
    "decode_market_frame",
    "market_topic_kind",
]

# --------------------------------------------------------------------------------------------------
# WebSocket topics: typed str fields, decoded once (the hot path)
# --------------------------------------------------------------------------------------------------


class TradeItem(msgspec.Struct, gc=False):
    """``@trade`` item (no trade id; ``m`` = buyer is maker)."""

    q: str
    p: str
    T: int = 0
    m: bool = False
    s: str = ""


class TradeFrame(msgspec.Struct, gc=False):
    dataType: str
    data: list[TradeItem]


class BookTicker(msgspec.Struct, gc=False):
    b: str
    B: str
    a: str
    A: str
    s: str = ""
    u: int | None = None
    E: int | None = None
    T: int | None = None


class BookTickerFrame(msgspec.Struct, gc=False):
    dataType: str
    data: BookTicker


class Depth(msgspec.Struct, gc=False):
    bids: list[Level] = []
    asks: list[Level] = []


class DepthFrame(msgspec.Struct, gc=False):
    """``@depthN@Xms``: full snapshot of N levels (asks arrive far-to-best; sorted by the parser)."""

    dataType: str
    data: Depth
    ts: int | None = None


class IncrDepth(msgspec.Struct, gc=False):
    action: str  # "all" (full book) | "update"
    lastUpdateId: int
    time: int | None = None
    bids: list[Level] = []
    asks: list[Level] = []

    @property
    def is_snapshot(self) -> bool:
        return self.action == "all"


class IncrDepthFrame(msgspec.Struct, gc=False):
    dataType: str
    data: IncrDepth


class KlineItem(msgspec.Struct, gc=False):
    """``T`` is the bar *open* time; there is no closed flag (a bar is final when the next ``T`` arrives)."""

    o: str
    h: str
    l: str  # noqa: E741
    c: str
    v: str
    T: int


class KlineFrame(msgspec.Struct, gc=False):
    dataType: str
    data: list[KlineItem]


class MarkPrice(msgspec.Struct, gc=False):
    p: str
    s: str = ""
    E: int | None = None


class MarkPriceFrame(msgspec.Struct, gc=False):
    dataType: str
    data: MarkPrice


class UnknownMarketFrame(msgspec.Struct, gc=False):
    """A data frame of a topic this module does not decode."""

    data_type: str
    raw: bytes


MarketData = TradeFrame | BookTickerFrame | DepthFrame | IncrDepthFrame | KlineFrame | MarkPriceFrame
MarketFrame = MarketData | UnknownMarketFrame | PingFrame | JsonPing | StreamAck | MalformedFrame

_DECODERS: Final[dict[str, msgspec.json.Decoder[Any]]] = {
    "trade": msgspec.json.Decoder(TradeFrame),
    "bookTicker": msgspec.json.Decoder(BookTickerFrame),
    "depth": msgspec.json.Decoder(DepthFrame),
    "incrDepth": msgspec.json.Decoder(IncrDepthFrame),
    "kline": msgspec.json.Decoder(KlineFrame),
    "markPrice": msgspec.json.Decoder(MarkPriceFrame),
}
_DATA_TYPE_KEY: Final = b'"dataType":"'
_decoder_by_type: dict[bytes, msgspec.json.Decoder[Any] | None] = {}


def market_topic_kind(data_type: str) -> str | None:
    """``BTC-USDT@depth20@500ms`` -> ``depth``; ``BTC-USDT@kline_1m`` -> ``kline``; a topic not
    decoded here -> None."""
    _, _, topic = data_type.partition("@")
    if not topic:
        return None
    head = topic.split("@", 1)[0]
    if head.startswith("kline_"):
        return "kline"
    if head.startswith("depth") and head[5:].isdigit():
        return "depth"
    return head if head in _DECODERS else None


def _decoder_for(data_type: bytes) -> msgspec.json.Decoder[Any] | None:
    dec = _decoder_by_type.get(data_type, _decoder_for)  # type: ignore[arg-type]
    if dec is not _decoder_for:
        return dec  # type: ignore[return-value]
    kind = market_topic_kind(data_type.decode(errors="replace"))
    found = _DECODERS[kind] if kind is not None else None
    if len(_decoder_by_type) > 10_000:
        _decoder_by_type.clear()
    _decoder_by_type[data_type] = found
    return found


def decode_market_frame(frame: bytes | bytearray | memoryview | str) -> MarketFrame:
    """One market frame (gzip or plain) -> the topic's typed Struct, else the general classification
    (ping, ack, unknown topic, malformed). Believes data only through the strict typed decoders."""
    try:
        # Every venue frame is gzip bytes: inflated straight away (decode_gzip_frame takes the rest).
        if type(frame) is bytes and frame[:2] == GZIP_MAGIC:
            payload = inflate_gzip(frame)
        else:
            payload = decode_gzip_frame(frame)
    except ValueError:
        return classify_market_frame(frame)
    error = None
    i = payload.find(_DATA_TYPE_KEY)
    if i >= 0:
        start = i + len(_DATA_TYPE_KEY)
        end = payload.find(b'"', start)
        if end > start:
            data_type = payload[start:end]
            dec = _decoder_by_type.get(data_type)
            if dec is None and data_type not in _decoder_by_type:
                dec = _decoder_for(data_type)
            if dec is not None:
                try:
                    return dec.decode(payload)  # type: ignore[no-any-return]
                except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                    error = str(exc)  # an error frame for the topic, numbers for strings, ...
    return classify_market_frame(payload, error)


def classify_market_frame(
    frame: bytes | bytearray | memoryview | str, error: str | None = None
) -> MarketFrame:
    """The general classification of a frame the typed decoders did not take (``error``: why the
    topic's decoder refused it). Never raises; never returns data."""
    try:
        raw = decode_gzip_frame(frame)
    except ValueError as exc:
        return MalformedFrame(error=str(exc), raw=frame_head(frame))
    if is_ping(raw):
        return PingFrame()
    try:
        g = GENERIC_DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError, UnicodeError) as exc:
        return MalformedFrame(error=f"invalid JSON: {exc!r}"[:200], raw=raw[:RAW_KEPT])
    if g.ping is not None:
        return JsonPing(ping=g.ping, time=g.time)
    data_type = g.dataType if isinstance(g.dataType, str) else ""
    if not data_type or bytes(g.data) in (b"", b"null"):
        return ack_or_malformed(g, raw, "no dataType/data")
    if market_topic_kind(data_type) is None:
        return UnknownMarketFrame(data_type=data_type, raw=raw)
    return MalformedFrame(error=error or "not a strictly readable data frame", raw=raw, event_type=data_type)


# --------------------------------------------------------------------------------------------------
# REST market payloads (``/openApi/swap/v2|v3/quote/...``)
# --------------------------------------------------------------------------------------------------


class DepthRest(msgspec.Struct, gc=False):
    bids: list[Level] = []
    asks: list[Level] = []
    T: int | None = None


class KlineRest(msgspec.Struct, gc=False):
    open: str
    close: str
    high: str
    low: str
    volume: str
    time: int  # bar open time


class PremiumIndexRest(msgspec.Struct, gc=False):
    symbol: str
    markPrice: str = ""
    indexPrice: str = ""
    lastFundingRate: str = ""
    nextFundingTime: int | None = None
    time: int | None = None


class FundingRateRest(msgspec.Struct, gc=False):
    symbol: str
    fundingRate: str
    fundingTime: int
