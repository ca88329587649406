"""BingX WebSocket frames: gzip transport, heartbeat, user-data events and market events (decode only).

Transport: every server frame is a GZIP-compressed binary frame, the heartbeat included. The heartbeat is the
text ``Ping`` inside gzip; answer with the text frame ``Pong`` (:data:`PONG`). A JSON ping
``{"ping": id, "time": t}`` (spot style) is recognised too and answered with :func:`json_pong`.

:func:`decode_user_frame` and :func:`decode_market_frame` take the *decompressed* payload (or the raw
binary frame - they gunzip when the gzip magic is present) and never raise: unknown events become
:class:`UnknownEvent`, subscription acks/errors :class:`StreamAck`, garbage :class:`MalformedFrame`.

User events are tagged on ``"e"``: ``ORDER_TRADE_UPDATE`` (also accepted as ``TRADE_UPDATE``, which the 2025
docs sample shows), ``ACCOUNT_UPDATE``, ``ACCOUNT_CONFIG_UPDATE``, ``SNAPSHOT`` (``ac`` config body and/or
``a`` account body) and ``listenKeyExpired``. Decimal values are :data:`~adapters.bingx.schemas.Num` (exact
text, string or number); order ids are ints from numbers or strings.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from msgspec import field

from adapters.bingx.schemas import Num
from adapters.core.inflate import DEFAULT_MAX_FRAME_BYTES, inflate_gzip

_EMPTY: Final = msgspec.Raw(b'""')
_GZIP_MAGIC: Final = b"\x1f\x8b"
PING: Final = b"Ping"
PONG: Final = "Pong"


def decode_gzip_frame(
    data: bytes | bytearray | memoryview | str, max_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> bytes:
    """Decompress one WebSocket frame. Non-gzip payloads (text frames, tests) are returned as bytes as-is.

    Raises ``ValueError`` for a frame that starts with the gzip magic but is corrupt, truncated or
    inflates beyond ``max_bytes`` (:func:`adapters.core.inflate.inflate_gzip`).
    """
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    raw = bytes(data)
    if raw[:2] != _GZIP_MAGIC:
        return raw
    return inflate_gzip(raw, max_bytes)


_RAW_KEPT: Final = 1024  # what a MalformedFrame keeps of a bad frame (for the log line)


def _head(frame: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(frame, str):
        return frame[:_RAW_KEPT].encode("utf-8", "backslashreplace")
    return bytes(frame[:_RAW_KEPT])


def is_ping(payload: bytes) -> bool:
    """The text heartbeat ``Ping`` (after decompression)."""
    return payload.strip() == PING


def json_pong(ping: JsonPing) -> bytes:
    """Answer to a JSON ping: ``{"pong": <id>, "time": <time>}``."""
    return msgspec.json.encode({"pong": ping.ping, "time": ping.time})


# --------------------------------------------------------------------------------------------------
# Control frames
# --------------------------------------------------------------------------------------------------


class PingFrame(msgspec.Struct, gc=False):
    """Text heartbeat ``Ping``: reply :data:`PONG`."""


class JsonPing(msgspec.Struct, gc=False):
    ping: Any = None
    time: Any = None


class StreamAck(msgspec.Struct, gc=False):
    """Subscription ack or error: ``{"id": ..., "code": 0|80014|80403, "msg": ...}``."""

    code: int
    msg: str = ""
    id: str | None = None

    @property
    def ok(self) -> bool:
        return self.code == 0


class UnknownEvent(msgspec.Struct, gc=False):
    event_type: str
    raw: bytes


class MalformedFrame(msgspec.Struct, gc=False):
    error: str
    raw: bytes
    event_type: str | None = None


# --------------------------------------------------------------------------------------------------
# User data stream
# --------------------------------------------------------------------------------------------------


class OrderUpdateData(msgspec.Struct, gc=False, kw_only=True):
    """The ``o`` object of ORDER_TRADE_UPDATE.

    Fill quantity/price are ``l``/``L`` (last fill) only; ``z`` is cumulative and must never be used as a
    fill quantity (it double counts on partial fills). Older payloads lack ``l``/``L``: then
    :attr:`has_last_fill` is False and the fill must come from REST (fillHistory).
    """

    symbol: str = field(name="s")
    client_order_id: str | None = field(name="c", default=None)
    order_id: int = field(name="i")
    side: str = field(name="S", default="")
    order_type: str = field(name="o", default="")
    original_qty: Num = field(name="q", default=_EMPTY)
    original_price: Num = field(name="p", default=_EMPTY)
    stop_price: Num = field(name="sp", default=_EMPTY)
    avg_price: Num = field(name="ap", default=_EMPTY)
    execution_type: str = field(name="x", default="")
    order_status: str = field(name="X", default="")
    commission_asset: str | None = field(name="N", default=None)
    commission: Num = field(name="n", default=_EMPTY)  # negative = cost
    trade_time: int = field(name="T", default=0)
    trade_id: int | str | None = field(name="t", default=None)
    trade_id_alt: int | str | None = field(name="td", default=None)
    trade_value: Num = field(name="tv", default=_EMPTY)
    last_filled_qty: Num = field(name="l", default=_EMPTY)
    last_filled_price: Num = field(name="L", default=_EMPTY)
    last_filled_amount: Num = field(name="Y", default=_EMPTY)
    cum_filled_qty: Num = field(name="z", default=_EMPTY)
    cum_filled_amount: Num = field(name="Z", default=_EMPTY)
    working_type: str | None = field(name="wt", default=None)
    position_side: str | None = field(name="ps", default=None)
    realized_profit: Num = field(name="rp", default=_EMPTY)
    reduce_only: bool | str | None = field(name="ro", default=None)
    stop_guaranteed: bool | str | None = field(name="sg", default=None)
    trigger_order_id: int | str | None = field(name="ti", default=None)
    is_maker: bool | None = field(name="m", default=None)
    time_in_force: str | None = field(name="f", default=None)
    order_time: int | None = field(name="O", default=None)


class OrderTradeUpdate(msgspec.Struct, tag_field="e", tag="ORDER_TRADE_UPDATE", gc=False, kw_only=True):
    event_time: int = field(name="E", default=0)
    transaction_time: int = field(name="T", default=0)
    order: OrderUpdateData = field(name="o")


class TradeUpdate(OrderTradeUpdate, tag="TRADE_UPDATE", gc=False, kw_only=True):
    """Same payload under the event name shown in the 2025 USDT-M docs sample."""


class BalanceUpdate(msgspec.Struct, gc=False, kw_only=True):
    asset: str = field(name="a")
    wallet_balance: Num = field(name="wb", default=_EMPTY)
    cross_wallet_balance: Num = field(name="cw", default=_EMPTY)
    balance_change: Num = field(name="bc", default=_EMPTY)
    locked: Num = field(name="lk", default=_EMPTY)


class PositionUpdate(msgspec.Struct, gc=False, kw_only=True):
    symbol: str = field(name="s")
    position_amount: Num = field(name="pa", default=_EMPTY)
    entry_price: Num = field(name="ep", default=_EMPTY)
    unrealized_pnl: Num = field(name="up", default=_EMPTY)
    margin_type: str | None = field(name="mt", default=None)
    isolated_wallet: Num = field(name="iw", default=_EMPTY)
    position_side: str = field(name="ps", default="BOTH")
    realized_pnl: Num = field(name="cr", default=_EMPTY)


class AccountUpdateData(msgspec.Struct, gc=False, kw_only=True):
    reason: str | None = field(name="m", default=None)
    balances: list[BalanceUpdate] | None = field(name="B", default=None)
    positions: list[PositionUpdate] | None = field(name="P", default=None)


class AccountUpdate(msgspec.Struct, tag_field="e", tag="ACCOUNT_UPDATE", gc=False, kw_only=True):
    event_time: int = field(name="E", default=0)
    transaction_time: int = field(name="T", default=0)
    account: AccountUpdateData = field(name="a")


class AccountConfigData(msgspec.Struct, gc=False, kw_only=True):
    symbol: str = field(name="s")
    long_leverage: int | None = field(name="l", default=None)
    short_leverage: int | None = field(name="S", default=None)
    margin_type: str | None = field(name="mt", default=None)


class AccountConfigUpdate(msgspec.Struct, tag_field="e", tag="ACCOUNT_CONFIG_UPDATE", gc=False, kw_only=True):
    event_time: int = field(name="E", default=0)
    config: AccountConfigData | None = field(name="ac", default=None)


class Snapshot(msgspec.Struct, tag_field="e", tag="SNAPSHOT", gc=False, kw_only=True):
    """Periodic full push: ``ac`` (config, seen per symbol every ~5 s) and/or ``a`` (account, discontinued
    2025-07 but tolerated)."""

    event_time: int = field(name="E", default=0)
    config: AccountConfigData | None = field(name="ac", default=None)
    account: AccountUpdateData | None = field(name="a", default=None)


class ListenKeyExpired(msgspec.Struct, tag_field="e", tag="listenKeyExpired", gc=False, kw_only=True):
    event_time: int = field(name="E", default=0)
    listen_key: str | None = field(name="listenKey", default=None)


UserDataEvent = (
    OrderTradeUpdate | TradeUpdate | AccountUpdate | AccountConfigUpdate | Snapshot | ListenKeyExpired
)
KNOWN_USER_EVENTS: Final = frozenset(
    {
        "ORDER_TRADE_UPDATE",
        "TRADE_UPDATE",
        "ACCOUNT_UPDATE",
        "ACCOUNT_CONFIG_UPDATE",
        "SNAPSHOT",
        "listenKeyExpired",
    }
)

UserFrame = (
    OrderTradeUpdate
    | AccountUpdate
    | AccountConfigUpdate
    | Snapshot
    | ListenKeyExpired
    | PingFrame
    | JsonPing
    | StreamAck
    | UnknownEvent
    | MalformedFrame
)


class _Generic(msgspec.Struct, gc=False):
    e: Any = None
    code: Any = None
    msg: Any = None
    id: Any = None
    ping: Any = None
    time: Any = None
    dataType: Any = None
    data: msgspec.Raw = msgspec.Raw()


_USER_DECODER = msgspec.json.Decoder(UserDataEvent, strict=False)
_GENERIC_DECODER = msgspec.json.Decoder(_Generic)


def _control(
    raw: bytes, error: str
) -> PingFrame | JsonPing | StreamAck | UnknownEvent | MalformedFrame | _Generic:
    """Classify a frame that is not a known event. Returns the generic decode for market dispatch."""
    try:
        g = _GENERIC_DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return MalformedFrame(error=str(exc), raw=raw)
    if g.ping is not None:
        return JsonPing(ping=g.ping, time=g.time)
    if isinstance(g.e, str):
        if g.e in KNOWN_USER_EVENTS:
            return MalformedFrame(error=error, raw=raw, event_type=g.e)
        return UnknownEvent(event_type=g.e, raw=raw)
    return g


def _ack_or_malformed(g: _Generic, raw: bytes, error: str) -> StreamAck | MalformedFrame:
    if isinstance(g.code, int) and not isinstance(g.code, bool):
        ident = g.id if isinstance(g.id, str) else (str(g.id) if g.id is not None else None)
        return StreamAck(code=g.code, msg=str(g.msg or ""), id=ident)
    return MalformedFrame(error=error, raw=raw)


def decode_user_frame(
    frame: bytes | bytearray | memoryview | str, max_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> UserFrame:
    """Decode one user-stream frame (gzip or plain). Never raises."""
    try:
        raw = decode_gzip_frame(frame, max_bytes)
    except ValueError as exc:
        return MalformedFrame(error=str(exc), raw=_head(frame))
    if is_ping(raw):
        return PingFrame()
    try:
        return _USER_DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        error = str(exc)
    except (msgspec.DecodeError, RecursionError, UnicodeError) as exc:
        return MalformedFrame(error=f"invalid JSON: {exc!r}"[:200], raw=raw[:_RAW_KEPT])
    result = _control(raw, error)
    if isinstance(result, _Generic):
        return _ack_or_malformed(result, raw, error)
    return result


# --------------------------------------------------------------------------------------------------
# Market data (decode only; the data client comes later)
# --------------------------------------------------------------------------------------------------


class TradeTick(msgspec.Struct, gc=False):
    """``@trade`` item (no trade id; ``m`` = buyer is maker)."""

    q: Num = _EMPTY
    p: Num = _EMPTY
    T: int = 0
    m: bool = False
    s: str = ""


class TradeFrame(msgspec.Struct, gc=False):
    dataType: str
    data: list[TradeTick] = msgspec.field(default_factory=list)


class DepthData(msgspec.Struct, gc=False):
    bids: list[list[Num]] = msgspec.field(default_factory=list)
    asks: list[list[Num]] = msgspec.field(default_factory=list)


class DepthFrame(msgspec.Struct, gc=False):
    """``@depthN@Xms``: full snapshot of N levels (asks arrive far-to-best; sort yourself)."""

    dataType: str
    data: DepthData
    ts: int | None = None


class IncrDepthData(msgspec.Struct, gc=False):
    action: str = ""  # "all" (full book) | "update"
    lastUpdateId: int = 0
    time: int | None = None
    bids: list[list[Num]] = msgspec.field(default_factory=list)
    asks: list[list[Num]] = msgspec.field(default_factory=list)


class IncrDepthFrame(msgspec.Struct, gc=False):
    dataType: str
    data: IncrDepthData


class KlineItem(msgspec.Struct, gc=False):
    """``T`` is the bar *open* time; there is no closed flag (a bar is final when the next ``T`` arrives)."""

    o: Num = _EMPTY
    h: Num = _EMPTY
    l: Num = _EMPTY  # noqa: E741
    c: Num = _EMPTY
    v: Num = _EMPTY
    T: int = 0


class KlineFrame(msgspec.Struct, gc=False):
    dataType: str
    data: list[KlineItem] = msgspec.field(default_factory=list)
    s: str | None = None


class BookTickerData(msgspec.Struct, gc=False):
    s: str = ""
    b: Num = _EMPTY
    B: Num = _EMPTY
    a: Num = _EMPTY
    A: Num = _EMPTY
    u: int | None = None
    E: int | None = None
    T: int | None = None


class BookTickerFrame(msgspec.Struct, gc=False):
    dataType: str
    data: BookTickerData


class MarkPriceData(msgspec.Struct, gc=False):
    s: str = ""
    p: Num = _EMPTY
    E: int | None = None


class MarkPriceFrame(msgspec.Struct, gc=False):
    dataType: str
    data: MarkPriceData


class LastPriceData(msgspec.Struct, gc=False):
    s: str = ""
    c: Num = _EMPTY
    E: int | None = None


class LastPriceFrame(msgspec.Struct, gc=False):
    dataType: str
    data: LastPriceData


class UnknownMarketFrame(msgspec.Struct, gc=False):
    data_type: str
    raw: bytes


MarketFrame = (
    TradeFrame
    | DepthFrame
    | IncrDepthFrame
    | KlineFrame
    | BookTickerFrame
    | MarkPriceFrame
    | LastPriceFrame
    | UnknownMarketFrame
    | PingFrame
    | JsonPing
    | StreamAck
    | MalformedFrame
)

_MARKET_DECODERS: Final[dict[str, msgspec.json.Decoder[Any]]] = {
    "trade": msgspec.json.Decoder(TradeFrame, strict=False),
    "depth": msgspec.json.Decoder(DepthFrame, strict=False),
    "incrDepth": msgspec.json.Decoder(IncrDepthFrame, strict=False),
    "kline": msgspec.json.Decoder(KlineFrame, strict=False),
    "bookTicker": msgspec.json.Decoder(BookTickerFrame, strict=False),
    "markPrice": msgspec.json.Decoder(MarkPriceFrame, strict=False),
    "lastPrice": msgspec.json.Decoder(LastPriceFrame, strict=False),
}


def market_topic_kind(data_type: str) -> str | None:
    """``BTC-USDT@depth20@500ms`` -> ``depth``; ``BTC-USDT@kline_1m`` -> ``kline``; unknown -> None."""
    _, _, topic = data_type.partition("@")
    if not topic:
        return None
    head = topic.split("@", 1)[0]
    if head.startswith("kline_"):
        return "kline"
    if head.startswith("depth") and head[5:].isdigit():
        return "depth"
    return head if head in _MARKET_DECODERS else None


def decode_market_frame(
    frame: bytes | bytearray | memoryview | str, max_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> MarketFrame:
    """Decode one market-stream frame (gzip or plain). Never raises."""
    try:
        raw = decode_gzip_frame(frame, max_bytes)
    except ValueError as exc:
        return MalformedFrame(error=str(exc), raw=_head(frame))
    if is_ping(raw):
        return PingFrame()
    try:
        g = _GENERIC_DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError, UnicodeError) as exc:
        return MalformedFrame(error=f"invalid JSON: {exc!r}"[:200], raw=raw[:_RAW_KEPT])
    if g.ping is not None:
        return JsonPing(ping=g.ping, time=g.time)
    data_type = g.dataType if isinstance(g.dataType, str) else ""
    if not data_type or bytes(g.data) in (b"", b"null"):
        return _ack_or_malformed(g, raw, "no dataType/data")
    kind = market_topic_kind(data_type)
    if kind is None:
        return UnknownMarketFrame(data_type=data_type, raw=raw)
    try:
        result: MarketFrame = _MARKET_DECODERS[kind].decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return MalformedFrame(error=str(exc), raw=raw, event_type=data_type)
    return result
