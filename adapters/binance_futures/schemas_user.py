"""msgspec models for Binance USD-M Futures user-data-stream events, and their frame decoder.

``decode_user_frame(raw)`` decodes each frame exactly once into the right Struct:

1. a byte-level peek at the first key detects the combined-stream wrapper ``{"stream": ..., "data": ...}``;
2. one msgspec decode into the tagged union :data:`UserDataEvent` (tag ``"e"``), wrapped or not;
3. only if that fails (unknown ``"e"``, error/control frame, malformed JSON) a cheap generic decode classifies
   the frame as :class:`UnknownEvent`, :class:`StreamError`, :class:`ControlResponse` or
   :class:`MalformedFrame`. It never raises.

Design rules:

* every event Struct is tagged on ``"e"`` so one ``Decoder(UserDataEvent)`` decodes a frame exactly once into
  the right type (msgspec finds the tag wherever it sits in the object);
* decoders are non-strict (``strict=False``): numeric strings are accepted where ints are expected (``"E"``
  has been seen as a string on the wire);
* unknown extra fields are ignored (msgspec default), optional fields default to None/"0" and accept ``null``;
* venue enums (exec type, status, order type, TIF, ...) are plain ``str`` and mapped in :mod:`parsing` with
  fallbacks, so a new enum value never fails a decode;
* prices/quantities stay strings (exact decimal text); ids and times are ints.

Field names follow Binance's one/two-letter keys through ``msgspec.field(name=...)`` so the code reads well.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import field

# --------------------------------------------------------------------------------------------------
# ORDER_TRADE_UPDATE
# --------------------------------------------------------------------------------------------------


class OrderUpdateData(msgspec.Struct, gc=False, kw_only=True):
    """The ``o`` object of ORDER_TRADE_UPDATE."""

    symbol: str = field(name="s")
    client_order_id: str = field(name="c")
    side: str = field(name="S")
    order_type: str = field(name="o")
    time_in_force: str = field(name="f", default="GTC")
    original_qty: str = field(name="q")
    original_price: str = field(name="p", default="0")
    avg_price: str = field(name="ap", default="0")
    stop_price: str | None = field(name="sp", default=None)
    execution_type: str = field(name="x")
    order_status: str = field(name="X")
    order_id: int = field(name="i")
    # Required: Binance sends them on every execution (``"0"``/``0`` when nothing filled); a frame
    # without them is malformed, never a fill at price 0, time 0 or trade id 0.
    last_filled_qty: str = field(name="l")
    cum_filled_qty: str = field(name="z")
    last_filled_price: str = field(name="L")
    commission_asset: str | None = field(name="N", default=None)
    commission: str | None = field(name="n", default=None)
    trade_time: int = field(name="T")
    trade_id: int = field(name="t")
    bids_notional: str | None = field(name="b", default=None)
    asks_notional: str | None = field(name="a", default=None)
    is_maker: bool = field(name="m", default=False)
    is_reduce_only: bool = field(name="R", default=False)
    working_type: str | None = field(name="wt", default=None)
    original_order_type: str | None = field(name="ot", default=None)
    position_side: str | None = field(name="ps", default=None)
    close_position: bool | None = field(name="cp", default=None)
    activation_price: str | None = field(name="AP", default=None)
    callback_rate: str | None = field(name="cr", default=None)
    price_protect: bool | None = field(name="pP", default=None)
    strategy_id: int | None = field(name="si", default=None)
    strategy_sub_id: int | None = field(name="ss", default=None)
    realized_profit: str | None = field(name="rp", default=None)
    stp_mode: str | None = field(name="V", default=None)
    price_match: str | None = field(name="pm", default=None)
    good_till_date: int | None = field(name="gtd", default=None)
    expiry_reason: int | None = field(name="er", default=None)
    # Seen on captures (null or a ms timestamp); meaning undocumented, kept for completeness.
    working_time: int | None = field(name="W", default=None)


class OrderTradeUpdate(msgspec.Struct, tag_field="e", tag="ORDER_TRADE_UPDATE", gc=False, kw_only=True):
    event_time: int = field(name="E")
    transaction_time: int = field(name="T", default=0)
    order: OrderUpdateData = field(name="o")
    # Portfolio-margin variants carry these.
    business_unit: str | None = field(name="fs", default=None)


# --------------------------------------------------------------------------------------------------
# TRADE_LITE
# --------------------------------------------------------------------------------------------------


class TradeLite(msgspec.Struct, tag_field="e", tag="TRADE_LITE", gc=False, kw_only=True):
    event_time: int = field(name="E")
    transaction_time: int = field(name="T", default=0)
    symbol: str = field(name="s")
    original_qty: str = field(name="q", default="0")
    original_price: str = field(name="p", default="0")
    is_maker: bool = field(name="m", default=False)
    client_order_id: str = field(name="c")
    side: str = field(name="S")
    last_filled_price: str = field(name="L")
    last_filled_qty: str = field(name="l")
    trade_id: int = field(name="t")
    order_id: int = field(name="i")


# --------------------------------------------------------------------------------------------------
# ALGO_UPDATE
# --------------------------------------------------------------------------------------------------


class AlgoUpdateData(msgspec.Struct, gc=False, kw_only=True):
    client_algo_id: str = field(name="caid")
    algo_id: int = field(name="aid")
    algo_type: str = field(name="at", default="CONDITIONAL")
    order_type: str = field(name="o")
    symbol: str = field(name="s")
    side: str = field(name="S")
    position_side: str | None = field(name="ps", default=None)
    time_in_force: str | None = field(name="f", default=None)
    quantity: str | None = field(name="q", default=None)
    algo_status: str = field(name="X")
    actual_order_id: str | None = field(name="ai", default=None)
    avg_price: str | None = field(name="ap", default=None)
    executed_qty: str | None = field(name="aq", default=None)
    actual_order_type: str | None = field(name="act", default=None)
    trigger_price: str | None = field(name="tp", default=None)
    price: str | None = field(name="p", default=None)
    stp_mode: str | None = field(name="V", default=None)
    working_type: str | None = field(name="wt", default=None)
    price_match: str | None = field(name="pm", default=None)
    close_position: bool | None = field(name="cp", default=None)
    price_protect: bool | None = field(name="pP", default=None)
    is_reduce_only: bool | None = field(name="R", default=None)
    trigger_time: int | None = field(name="tt", default=None)
    good_till_date: int | None = field(name="gtd", default=None)
    reject_reason: str | None = field(name="rm", default=None)
    callback_rate: str | None = field(name="cr", default=None)
    activation_price: str | None = field(name="AP", default=None)
    # "ia" (live since 2026-08-21): a trailing stop's NEW with ia=false, then another NEW with
    # ia=true once its activation price is reached. Any type is taken (only ``True`` counts): a
    # field we merely observe must never make the whole order update undecodable.
    activated: Any = field(name="ia", default=None)


class AlgoUpdate(msgspec.Struct, tag_field="e", tag="ALGO_UPDATE", gc=False, kw_only=True):
    # Binance's docs label T "Event Time" and E "Transaction Time" for this event; we keep the wire names.
    event_time: int = field(name="E")
    transaction_time: int = field(name="T", default=0)
    o: AlgoUpdateData | None = None
    ao: AlgoUpdateData | None = None  # alias seen on some payloads

    @property
    def algo(self) -> AlgoUpdateData:
        data = self.o if self.o is not None else self.ao
        if data is None:
            raise ValueError("ALGO_UPDATE without 'o'/'ao' payload")
        return data


# --------------------------------------------------------------------------------------------------
# ACCOUNT_UPDATE
# --------------------------------------------------------------------------------------------------


class AccountUpdateBalance(msgspec.Struct, gc=False, kw_only=True):
    asset: str = field(name="a")
    wallet_balance: str = field(name="wb")
    cross_wallet_balance: str | None = field(name="cw", default=None)
    balance_change: str | None = field(name="bc", default=None)


class AccountUpdatePosition(msgspec.Struct, gc=False, kw_only=True):
    symbol: str = field(name="s")
    position_amount: str = field(name="pa")
    entry_price: str = field(name="ep", default="0")
    breakeven_price: str | None = field(name="bep", default=None)
    accumulated_realized: str | None = field(name="cr", default=None)
    unrealized_pnl: str = field(name="up", default="0")
    margin_type: str | None = field(name="mt", default=None)
    isolated_wallet: str | None = field(name="iw", default=None)
    position_side: str = field(name="ps", default="BOTH")
    margin_asset: str | None = field(name="ma", default=None)


class AccountUpdateData(msgspec.Struct, gc=False, kw_only=True):
    reason: str = field(name="m", default="UNKNOWN")
    balances: list[AccountUpdateBalance] = field(name="B", default_factory=list)
    positions: list[AccountUpdatePosition] = field(name="P", default_factory=list)


class AccountUpdate(msgspec.Struct, tag_field="e", tag="ACCOUNT_UPDATE", gc=False, kw_only=True):
    event_time: int = field(name="E")
    transaction_time: int = field(name="T", default=0)
    data: AccountUpdateData = field(name="a")


# --------------------------------------------------------------------------------------------------
# ACCOUNT_CONFIG_UPDATE
# --------------------------------------------------------------------------------------------------


class AccountConfigLeverage(msgspec.Struct, gc=False, kw_only=True):
    symbol: str = field(name="s")
    leverage: int = field(name="l")


class AccountConfigAssetMode(msgspec.Struct, gc=False, kw_only=True):
    multi_assets_mode: bool | None = field(name="j", default=None)


class AccountConfigUpdate(msgspec.Struct, tag_field="e", tag="ACCOUNT_CONFIG_UPDATE", gc=False, kw_only=True):
    event_time: int = field(name="E")
    transaction_time: int = field(name="T", default=0)
    leverage: AccountConfigLeverage | None = field(name="ac", default=None)
    asset_mode: AccountConfigAssetMode | None = field(name="ai", default=None)


# --------------------------------------------------------------------------------------------------
# MARGIN_CALL
# --------------------------------------------------------------------------------------------------


class MarginCallPosition(msgspec.Struct, gc=False, kw_only=True):
    symbol: str = field(name="s")
    position_side: str | None = field(name="ps", default=None)
    position_amount: str | None = field(name="pa", default=None)
    margin_type: str | None = field(name="mt", default=None)
    isolated_wallet: str | None = field(name="iw", default=None)
    mark_price: str | None = field(name="mp", default=None)
    unrealized_pnl: str | None = field(name="up", default=None)
    maintenance_margin: str | None = field(name="mm", default=None)


class MarginCall(msgspec.Struct, tag_field="e", tag="MARGIN_CALL", gc=False, kw_only=True):
    event_time: int = field(name="E")
    cross_wallet_balance: str | None = field(name="cw", default=None)
    positions: list[MarginCallPosition] = field(name="p", default_factory=list)


# --------------------------------------------------------------------------------------------------
# listenKeyExpired
# --------------------------------------------------------------------------------------------------


class ListenKeyExpired(msgspec.Struct, tag_field="e", tag="listenKeyExpired", gc=False, kw_only=True):
    # Observed live with E as a string; accept both.
    event_time: int | str | None = field(name="E", default=None)
    listen_key: str | None = field(name="listenKey", default=None)

    @property
    def event_time_ms(self) -> int | None:
        value = self.event_time
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return None


# --------------------------------------------------------------------------------------------------
# Non-event frames produced by the decoder (never raise on a frame)
# --------------------------------------------------------------------------------------------------


class UnknownEvent(msgspec.Struct, gc=False, kw_only=True):
    """A well-formed frame with an ``"e"`` we do not model (market data, new Binance events)."""

    event_type: str
    raw: bytes


class MalformedFrame(msgspec.Struct, gc=False, kw_only=True):
    """Invalid JSON, or a known event type whose required fields are missing / mistyped."""

    event_type: str | None
    error: str
    raw: bytes


class StreamError(msgspec.Struct, gc=False, kw_only=True):
    """``{"code": ..., "msg": ...}`` error frame on the stream."""

    code: int
    msg: str


class ControlResponse(msgspec.Struct, gc=False, kw_only=True):
    """Subscription/control response ``{"result": ..., "id": ...}``."""

    id: int | str | None
    result: object


UserDataEvent = (
    OrderTradeUpdate
    | TradeLite
    | AlgoUpdate
    | AccountUpdate
    | AccountConfigUpdate
    | MarginCall
    | ListenKeyExpired
)

KNOWN_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "ORDER_TRADE_UPDATE",
        "TRADE_LITE",
        "ALGO_UPDATE",
        "ACCOUNT_UPDATE",
        "ACCOUNT_CONFIG_UPDATE",
        "MARGIN_CALL",
        "listenKeyExpired",
    }
)

DecodedFrame = UserDataEvent | UnknownEvent | MalformedFrame | StreamError | ControlResponse


# --------------------------------------------------------------------------------------------------
# The user-frame decoder
# --------------------------------------------------------------------------------------------------


class _Wrapped(msgspec.Struct, gc=False):
    data: UserDataEvent
    stream: str | None = None


class _Generic(msgspec.Struct, gc=False):
    e: Any = None
    code: Any = None
    msg: Any = None
    id: Any = None
    result: Any = None


class _GenericWrapped(msgspec.Struct, gc=False):
    data: _Generic | None = None
    stream: str | None = None


_EVENT_DECODER = msgspec.json.Decoder(UserDataEvent, strict=False)
_WRAPPED_DECODER = msgspec.json.Decoder(_Wrapped, strict=False)
_GENERIC_DECODER = msgspec.json.Decoder(_Generic)
_GENERIC_WRAPPED_DECODER = msgspec.json.Decoder(_GenericWrapped)


def _is_wrapped(raw: bytes) -> bool:
    """Peek at the first key: combined streams start with ``"stream"`` (or ``"data"``)."""
    i = raw.find(b'"', 0, 64)
    if i < 0:
        return False
    return raw.startswith(b'stream"', i + 1) or raw.startswith(b'data"', i + 1)


_BARE_TEXT, _BARE_KEY = '{"e"', b'{"e"'
_WRAPPED_TEXT, _WRAPPED_KEY = '{"stream"', b'{"stream"'
_FAST_ERRORS = (msgspec.ValidationError, msgspec.DecodeError, RecursionError, UnicodeError)


def decode_user_frame(raw: bytes | str) -> DecodedFrame:
    """Decode one user-data frame (bare or combined-stream wrapped). Never raises."""
    # Fast path: a compact frame of a known event decodes in one typed pass (text too, without
    # re-encoding it); anything else, or any error, takes the full path below, which classifies it.
    text = type(raw) is str
    try:
        if raw.startswith(_BARE_TEXT if text else _BARE_KEY):  # type: ignore[arg-type]
            return _EVENT_DECODER.decode(raw)
        if raw.startswith(_WRAPPED_TEXT if text else _WRAPPED_KEY):  # type: ignore[arg-type]
            return _WRAPPED_DECODER.decode(raw).data
    except _FAST_ERRORS:
        pass
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    # Fast path: compact bare event frames (what /ws and /private/ws send) start with {"e".
    wrapped = False if raw.startswith(b'{"e"') else _is_wrapped(raw)
    try:
        if wrapped:
            return _WRAPPED_DECODER.decode(raw).data
        return _EVENT_DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        return _classify(raw, wrapped, str(exc))
    except (msgspec.DecodeError, RecursionError) as exc:  # JSON nested beyond the decoder's depth
        return MalformedFrame(event_type=None, error=f"invalid JSON: {exc!r}"[:200], raw=raw)


def _classify(raw: bytes, wrapped: bool, error: str) -> DecodedFrame:
    try:
        if wrapped:
            outer = _GENERIC_WRAPPED_DECODER.decode(raw)
            generic = outer.data if outer.data is not None else _Generic()
        else:
            generic = _GENERIC_DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
        return MalformedFrame(event_type=None, error=str(exc)[:200], raw=raw)
    e = generic.e
    if isinstance(e, str):
        if e in KNOWN_EVENT_TYPES:
            return MalformedFrame(event_type=e, error=error, raw=raw)
        return UnknownEvent(event_type=e, raw=raw)
    if isinstance(generic.code, int) and not isinstance(generic.code, bool):
        return StreamError(code=generic.code, msg=str(generic.msg or ""))
    if generic.id is not None or generic.result is not None:
        ident = generic.id if isinstance(generic.id, int | str) else None
        return ControlResponse(id=ident, result=generic.result)
    return MalformedFrame(event_type=None, error=error, raw=raw)
