"""Frame decoding for the Binance USD-M Futures user-data stream, plus REST decoders.

``decode_user_frame(raw)`` decodes each frame exactly once into the right Struct:

1. a byte-level peek at the first key detects the combined-stream wrapper ``{"stream": ..., "data": ...}``;
2. one msgspec decode into the tagged union :data:`UserDataEvent` (tag ``"e"``), wrapped or not;
3. only if that fails (unknown ``"e"``, error/control frame, malformed JSON) a cheap generic decode classifies
   the frame as :class:`UnknownEvent`, :class:`StreamError`, :class:`ControlResponse` or
   :class:`MalformedFrame`. It never raises.

Decoders are non-strict (``strict=False``): numeric strings are accepted where ints are expected (``"E"`` has
been seen as a string on the wire).
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from adapters.binance_futures.schemas_rest import (
    AccountInfo,
    AlgoCancelResponse,
    AlgoOrder,
    Balance,
    BinanceErrorBody,
    CodeMsgResponse,
    CommissionRate,
    EmptyResponse,
    ExchangeInfo,
    LeverageResponse,
    ListenKeyResponse,
    Order,
    PositionRisk,
    PositionSideDual,
    ServerTime,
    UserTrade,
)
from adapters.binance_futures.schemas_user import (
    KNOWN_EVENT_TYPES,
    AccountConfigUpdate,
    AccountUpdate,
    AlgoUpdate,
    AlgoUpdateData,
    ControlResponse,
    DecodedFrame,
    ListenKeyExpired,
    MalformedFrame,
    MarginCall,
    OrderTradeUpdate,
    OrderUpdateData,
    StreamError,
    TradeLite,
    UnknownEvent,
    UserDataEvent,
)

__all__ = [
    "KNOWN_EVENT_TYPES",
    "AccountConfigUpdate",
    "AccountInfo",
    "AccountUpdate",
    "AlgoCancelResponse",
    "AlgoOrder",
    "AlgoUpdate",
    "AlgoUpdateData",
    "Balance",
    "BinanceErrorBody",
    "CodeMsgResponse",
    "CommissionRate",
    "ControlResponse",
    "DecodedFrame",
    "EmptyResponse",
    "ExchangeInfo",
    "LeverageResponse",
    "ListenKeyExpired",
    "ListenKeyResponse",
    "MalformedFrame",
    "MarginCall",
    "Order",
    "OrderTradeUpdate",
    "OrderUpdateData",
    "PositionRisk",
    "PositionSideDual",
    "ServerTime",
    "StreamError",
    "TradeLite",
    "UnknownEvent",
    "UserDataEvent",
    "UserTrade",
    "decode_http",
    "decode_user_frame",
    "http_decoder",
]


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


# --------------------------------------------------------------------------------------------------
# REST decoders (one cached Decoder per response type)
# --------------------------------------------------------------------------------------------------

T = TypeVar("T")

_HTTP_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def http_decoder(tp: type[T] | Any) -> msgspec.json.Decoder[Any]:
    dec = _HTTP_DECODERS.get(tp)
    if dec is None:
        dec = msgspec.json.Decoder(tp, strict=False)
        _HTTP_DECODERS[tp] = dec
    return dec


def decode_http(raw: bytes, tp: type[T] | Any) -> Any:
    """Decode a REST body into ``tp`` (raises ``msgspec.ValidationError`` / ``DecodeError``)."""
    return http_decoder(tp).decode(raw)


_ = (
    AccountInfo,
    AlgoCancelResponse,
    AlgoOrder,
    Balance,
    BinanceErrorBody,
    CodeMsgResponse,
    CommissionRate,
    EmptyResponse,
    ExchangeInfo,
    LeverageResponse,
    ListenKeyResponse,
    Order,
    PositionRisk,
    PositionSideDual,
    ServerTime,
    UserTrade,
)
