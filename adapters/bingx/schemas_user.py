"""msgspec models for BingX user-data-stream events, and their frame decoder (decode only).

:func:`decode_user_frame` takes the *decompressed* payload (or the raw binary frame - it gunzips when the
gzip magic is present) and never raises: unknown events become ``UnknownEvent``, subscription
acks/errors ``StreamAck``, garbage ``MalformedFrame`` (the transport and control frames, shared with the
market topics, are in :mod:`adapters.bingx.stream_frames`).

User events are tagged on ``"e"``: ``ORDER_TRADE_UPDATE`` (also accepted as ``TRADE_UPDATE``, which the 2025
docs sample shows), ``ACCOUNT_UPDATE``, ``ACCOUNT_CONFIG_UPDATE``, ``SNAPSHOT`` (``ac`` config body and/or
``a`` account body) and ``listenKeyExpired``. Decimal values are
:data:`~adapters.bingx.schemas_base.DecimalText` (exact text from a string or number, normalised at decode
time); order ids are ints from numbers or strings.
"""

from __future__ import annotations

from typing import Final

import msgspec
from msgspec import field

from adapters.bingx.schemas_base import DecimalText, Flag, IntId, LenientStruct, float_text
from adapters.bingx.stream_frames import (
    GENERIC_DECODER,
    GZIP_MAGIC,
    RAW_KEPT,
    GenericFrame,
    JsonPing,
    MalformedFrame,
    PingFrame,
    StreamAck,
    UnknownEvent,
    ack_or_malformed,
    decode_gzip_frame,
    frame_head,
    is_ping,
)
from adapters.core.parse.inflate import DEFAULT_MAX_FRAME_BYTES, inflate_gzip

# --------------------------------------------------------------------------------------------------
# User data stream
# --------------------------------------------------------------------------------------------------


class OrderUpdateData(LenientStruct, gc=False, kw_only=True):
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
    original_qty: DecimalText = field(name="q", default=None)
    original_price: DecimalText = field(name="p", default=None)
    stop_price: DecimalText = field(name="sp", default=None)
    avg_price: DecimalText = field(name="ap", default=None)
    execution_type: str = field(name="x", default="")
    order_status: str = field(name="X", default="")
    commission_asset: str | None = field(name="N", default=None)
    commission: DecimalText = field(name="n", default=None)  # negative = cost
    trade_time: int = field(name="T", default=0)
    trade_id: IntId = field(name="t", default=None)
    trade_id_alt: IntId = field(name="td", default=None)
    trade_value: DecimalText = field(name="tv", default=None)
    last_filled_qty: DecimalText = field(name="l", default=None)
    last_filled_price: DecimalText = field(name="L", default=None)
    last_filled_amount: DecimalText = field(name="Y", default=None)
    cum_filled_qty: DecimalText = field(name="z", default=None)
    cum_filled_amount: DecimalText = field(name="Z", default=None)
    working_type: str | None = field(name="wt", default=None)
    position_side: str | None = field(name="ps", default=None)
    realized_profit: DecimalText = field(name="rp", default=None)
    reduce_only: Flag = field(name="ro", default=None)
    stop_guaranteed: Flag = field(name="sg", default=None)
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


class BalanceUpdate(LenientStruct, gc=False, kw_only=True):
    asset: str = field(name="a")
    wallet_balance: DecimalText = field(name="wb", default=None)
    cross_wallet_balance: DecimalText = field(name="cw", default=None)
    balance_change: DecimalText = field(name="bc", default=None)
    locked: DecimalText = field(name="lk", default=None)


class PositionUpdate(LenientStruct, gc=False, kw_only=True):
    symbol: str = field(name="s")
    position_amount: DecimalText = field(name="pa", default=None)
    entry_price: DecimalText = field(name="ep", default=None)
    unrealized_pnl: DecimalText = field(name="up", default=None)
    margin_type: str | None = field(name="mt", default=None)
    isolated_wallet: DecimalText = field(name="iw", default=None)
    position_side: str = field(name="ps", default="BOTH")
    realized_pnl: DecimalText = field(name="cr", default=None)


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


_USER_DECODER = msgspec.json.Decoder(UserDataEvent, strict=False, float_hook=float_text)


def _control(
    raw: bytes, error: str
) -> PingFrame | JsonPing | StreamAck | UnknownEvent | MalformedFrame | GenericFrame:
    """Classify a frame that is not a known event. Returns the generic decode for market dispatch."""
    try:
        g = GENERIC_DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return MalformedFrame(error=str(exc), raw=raw)
    if g.ping is not None:
        return JsonPing(ping=g.ping, time=g.time)
    if isinstance(g.e, str):
        if g.e in KNOWN_USER_EVENTS:
            return MalformedFrame(error=error, raw=raw, event_type=g.e)
        return UnknownEvent(event_type=g.e, raw=raw)
    return g


def decode_user_frame(
    frame: bytes | bytearray | memoryview | str, max_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> UserFrame:
    """Decode one user-stream frame (gzip or plain). Never raises."""
    try:
        # What every venue frame is (a gzip binary message), without decode_gzip_frame's conversions.
        if frame.__class__ is bytes and frame.startswith(GZIP_MAGIC):  # type: ignore[union-attr]
            raw = inflate_gzip(frame, max_bytes)  # type: ignore[arg-type]
        else:
            raw = decode_gzip_frame(frame, max_bytes)
    except ValueError as exc:
        return MalformedFrame(error=str(exc), raw=frame_head(frame))
    if not raw.startswith(b"{") and is_ping(raw):  # a JSON object is never the heartbeat
        return PingFrame()
    try:
        return _USER_DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        error = str(exc)
    except (msgspec.DecodeError, RecursionError, UnicodeError) as exc:
        return MalformedFrame(error=f"invalid JSON: {exc!r}"[:200], raw=raw[:RAW_KEPT])
    result = _control(raw, error)
    if isinstance(result, GenericFrame):
        return ack_or_malformed(result, raw, error)
    return result
