"""msgspec models and decoders for BingX USDT-M perpetual REST payloads.

Tolerance rules (BingX is inconsistent about JSON types; see notes §1.3):

* Decimal values (prices, quantities, fees) are typed :data:`Num` (``msgspec.Raw``): BingX sends them as
  strings (``"0.0001"``), as JSON numbers (contracts ``tradeMinQuantity: 0.0001``, positions
  ``liquidationPrice: 294.16914617776246``, place-order ``price: 0``) and as ``""`` for "not set". The raw
  JSON text is turned into an exact decimal string by :func:`num` - never through float.
* Order ids are int64 above 2^53 and arrive as numbers or strings: ``int`` fields decoded with
  ``strict=False`` accept both, exactly. Secondary ids that may be ``""`` are ``int | str | None`` and read
  through :func:`to_int`.
* Flags arrive as JSON bools or ``"true"``/``"false"``/``""``: ``bool | str | None``, read through
  :func:`flag`.
* Unknown fields are ignored, optional fields default and accept ``null``, enums stay ``str``.
* Both ``clientOrderId`` and ``clientOrderID`` are read (:attr:`Order.client_order_id`).

Every successful REST response is the envelope ``{"code": 0, "msg": "", "data": ...}``; see
:func:`decode_envelope`. The listenKey endpoints answer bare JSON (``{"listenKey": ...}``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final, TypeVar

import msgspec

Num = msgspec.Raw
"""Raw JSON text of a decimal value (string, number, ``""`` or ``null``); read with :func:`num`."""

_EMPTY: Final = msgspec.Raw(b'""')
_PLAIN_DECIMAL: Final = b"0123456789.-"

T = TypeVar("T")


def num(value: msgspec.Raw | str | float | None) -> str | None:
    """Exact decimal text of a :data:`Num` field, or None for ``""``/``null``/missing.

    JSON numbers keep their textual digits (``0.0001`` -> ``"0.0001"``); a JSON number's exponent
    is expanded through Decimal (``1e-5`` -> ``"0.00001"``: that is JSON number syntax, the value is
    exact). A JSON *string* is returned as sent: the strict decimal grammar at the boundary
    (:mod:`adapters.core.parse.wire_values`) then rejects ``" 0.1"``, ``"1e5"`` or ``"+1"`` instead of this
    function quietly reading them. Plain ``str`` is accepted too (for code that builds models);
    ``int`` is accepted, ``float`` is refused (its text is not the venue's).
    """
    if type(value) is msgspec.Raw:
        # Hot path (every user-stream decimal): a JSON string of digits, '.' and '-' only holds no
        # escape and no control character, so its text is the bytes between the quotes; anything
        # else takes the general path below.
        raw = bytes(value)
        if len(raw) >= 2 and raw[0] == 34 and raw[-1] == 34:  # '"'
            inner = raw[1:-1]
            if not inner.translate(None, _PLAIN_DECIMAL):
                return inner.decode("ascii") or None
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        raise TypeError("refusing float for a decimal value; pass the venue's text")
    if isinstance(value, bool):
        return str(value)  # not a number: rejected downstream
    b = bytes(value)
    if not b or b == b"null":
        return None
    if b[:1] == b'"':
        try:
            text = msgspec.json.decode(b, type=str)
        except msgspec.DecodeError:
            return b.decode("utf-8", "backslashreplace")
        return text or None
    s = b.decode("ascii", "backslashreplace")
    if ("e" in s or "E" in s) and s not in ("true", "false"):
        try:
            return format(Decimal(s), "f")
        except ArithmeticError:
            return s
    return s


def num_or(value: msgspec.Raw | str | None, default: str = "0") -> str:
    s = num(value)
    return default if s is None else s


def to_int(value: int | str | None) -> int | None:
    """int from an int or an ASCII decimal-digit string (``""``/None/garbage -> None). Never through
    float; never from padded text or non-ASCII digits (``int("١٢٣")`` would read 123)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    body = value[1:] if value[:1] == "-" else value
    if body.isascii() and body.isdigit():
        return int(value)
    return None


def flag(value: bool | str | int | None) -> bool:
    """Bool from ``true``/``"true"``/``"TRUE"``/``1``; anything else (``""``, None, ``"false"``) is False."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return False


# --------------------------------------------------------------------------------------------------
# Envelope
# --------------------------------------------------------------------------------------------------


class Envelope(msgspec.Struct, gc=False):
    """``{"code": 0, "msg": "", "data": ...}`` (extra keys such as ``timestamp``/``debugMsg`` ignored)."""

    code: int | None = None
    # Any: a non-string message (seen in fuzzing) must not hide the code next to it.
    msg: Any = None
    data: msgspec.Raw = msgspec.Raw()


class ListenKeyResponse(msgspec.Struct, gc=False):
    """Bare ``{"listenKey": ...}``; tolerates an enveloped variant."""

    listenKey: str | None = None
    code: int | None = None
    msg: str | None = None
    data: msgspec.Raw = msgspec.Raw()


class ServerTime(msgspec.Struct, gc=False):
    serverTime: int


# --------------------------------------------------------------------------------------------------
# Contracts
# --------------------------------------------------------------------------------------------------


class Contract(msgspec.Struct, gc=False):
    """``GET /openApi/swap/v2/quote/contracts`` item."""

    symbol: str
    pricePrecision: int
    quantityPrecision: int
    contractId: int | str | None = None
    asset: str = ""
    currency: str = "USDT"
    size: Num = _EMPTY
    feeRate: Num = _EMPTY
    makerFeeRate: Num = _EMPTY
    takerFeeRate: Num = _EMPTY
    tradeMinLimit: Num = _EMPTY
    tradeMinQuantity: Num = _EMPTY
    tradeMinUSDT: Num = _EMPTY
    maxLongLeverage: int | None = None
    maxShortLeverage: int | None = None
    status: int = 1
    apiStateOpen: bool | str | None = None
    apiStateClose: bool | str | None = None
    brokerState: bool | str | None = None
    ensureTrigger: bool | str | None = None
    triggerFeeRate: Num = _EMPTY
    displayName: str | None = None
    launchTime: int | None = None
    maintainTime: int | None = None
    offTime: int | None = None

    @property
    def api_open_allowed(self) -> bool:
        return self.apiStateOpen is None or flag(self.apiStateOpen)

    @property
    def api_close_allowed(self) -> bool:
        return self.apiStateClose is None or flag(self.apiStateClose)


# --------------------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------------------


class Order(msgspec.Struct, gc=False, kw_only=True):
    """Order object of place / cancel / query / openOrders / allOrders / fullOrder (and batch items)."""

    orderId: int
    symbol: str
    side: str = ""
    positionSide: str = "BOTH"
    type: str = ""
    status: str | None = None
    origQty: Num = _EMPTY
    quantity: Num = _EMPTY  # place-order responses carry ``quantity`` instead of ``origQty``
    price: Num = _EMPTY
    executedQty: Num = _EMPTY
    avgPrice: Num = _EMPTY
    cumQuote: Num = _EMPTY
    stopPrice: Num = _EMPTY
    profit: Num = _EMPTY
    commission: Num = _EMPTY
    time: int | None = None
    updateTime: int | None = None
    clientOrderId: str | None = None
    clientOrderID: str | None = None
    workingType: str | None = None
    timeInForce: str | None = None
    reduceOnly: bool | str | None = None
    closePosition: bool | str | None = None
    postOnly: bool | str | None = None
    priceRate: Num = _EMPTY
    activationPrice: Num = _EMPTY
    actPrice: Num = _EMPTY
    trailingStopRate: Num = _EMPTY
    trailingStopDistance: Num = _EMPTY
    stopGuaranteed: bool | str | None = None
    leverage: str | int | None = None
    positionID: int | str | None = None
    positionId: int | str | None = None
    triggerOrderId: int | str | None = None
    orderType: str | None = None

    @property
    def client_order_id(self) -> str | None:
        """Either spelling; ``""`` means none."""
        return self.clientOrderId or self.clientOrderID or None

    @property
    def quantity_s(self) -> str | None:
        q = num(self.origQty)
        return q if q is not None else num(self.quantity)


class OrderData(msgspec.Struct, gc=False):
    order: Order


class OrdersData(msgspec.Struct, gc=False):
    orders: list[Order] | None = None


class FailedOrder(msgspec.Struct, gc=False):
    orderId: int | str | None = None
    clientOrderId: str | None = None
    errorCode: int | None = None
    errorMessage: str | None = None


class CancelBatchResult(msgspec.Struct, gc=False):
    """Batch cancel / cancel-all: ``{"success": [order...], "failed": [{orderId, errorCode, ...}]}``."""

    success: list[Order] | None = None
    failed: list[FailedOrder] | None = None


# --------------------------------------------------------------------------------------------------
# Fills
# --------------------------------------------------------------------------------------------------


class FillHistoryItem(msgspec.Struct, gc=False):
    """``GET /openApi/swap/v2/trade/fillHistory`` item (has a trade id).

    ``qty`` is the fill quantity in coin (a 2026 live capture: qty 0.0615 x price 76445.4 = quoteQty
    4701.3921); the docs' sample ``volume``/``qty`` values are inconsistent, so ``qty`` wins and ``volume``
    is only a fallback.
    """

    orderId: int
    symbol: str = ""
    tradeId: int | str | None = None
    qty: Num = _EMPTY
    volume: Num = _EMPTY
    price: Num = _EMPTY
    quoteQty: Num = _EMPTY
    commission: Num = _EMPTY
    commissionAsset: str | None = None
    filledTime: str | None = None
    filledTm: str | None = None
    side: str = ""
    positionSide: str | None = None
    role: str | None = None
    realisedPNL: Num = _EMPTY


class FillHistoryData(msgspec.Struct, gc=False):
    fill_history_orders: list[FillHistoryItem] | None = None
    total: int | None = None


class FillOrderItem(msgspec.Struct, gc=False):
    """``GET /openApi/swap/v2/trade/allFillOrders`` item (no trade id; ``volume`` is the fill quantity)."""

    orderId: int
    symbol: str = ""
    volume: Num = _EMPTY
    price: Num = _EMPTY
    amount: Num = _EMPTY
    commission: Num = _EMPTY
    currency: str | None = None
    filledTime: str | None = None
    filledTm: str | None = None
    side: str = ""
    type: str | None = None
    positionSide: str | None = None
    workingType: str | None = None
    clientOrderId: str | None = None
    clientOrderID: str | None = None
    liquidatedPrice: Num = _EMPTY
    liquidatedMarginRatio: Num = _EMPTY
    onlyOnePosition: bool | str | None = None

    @property
    def client_order_id(self) -> str | None:
        return self.clientOrderId or self.clientOrderID or None


class FillOrdersData(msgspec.Struct, gc=False):
    fill_orders: list[FillOrderItem] | None = None


# --------------------------------------------------------------------------------------------------
# Account
# --------------------------------------------------------------------------------------------------


class BalanceItem(msgspec.Struct, gc=False):
    """``GET /openApi/swap/v3/user/balance`` item (one per margin asset)."""

    asset: str
    balance: Num = _EMPTY
    equity: Num = _EMPTY
    unrealizedProfit: Num = _EMPTY
    realisedProfit: Num = _EMPTY
    availableMargin: Num = _EMPTY
    usedMargin: Num = _EMPTY
    freezedMargin: Num = _EMPTY
    userId: str | int | None = None
    shortUid: str | int | None = None


class Position(msgspec.Struct, gc=False):
    """``GET /openApi/swap/v2/user/positions`` item. ``positionAmt`` is positive for hedge SHORT too."""

    symbol: str
    positionSide: str = "BOTH"
    positionAmt: Num = _EMPTY
    availableAmt: Num = _EMPTY
    avgPrice: Num = _EMPTY
    positionId: int | str | None = None
    currency: str | None = None
    isolated: bool | str | None = None
    initialMargin: Num = _EMPTY
    margin: Num = _EMPTY
    leverage: int | str | None = None
    unrealizedProfit: Num = _EMPTY
    realisedProfit: Num = _EMPTY
    liquidationPrice: Num = _EMPTY
    markPrice: Num = _EMPTY
    positionValue: Num = _EMPTY
    onlyOnePosition: bool | str | None = None
    updateTime: int | None = None


class LeverageInfo(msgspec.Struct, gc=False):
    """``GET /openApi/swap/v2/trade/leverage``."""

    longLeverage: int | None = None
    shortLeverage: int | None = None
    maxLongLeverage: int | None = None
    maxShortLeverage: int | None = None
    availableLongVol: Num = _EMPTY
    availableShortVol: Num = _EMPTY


class LeverageSet(msgspec.Struct, gc=False):
    """``POST /openApi/swap/v2/trade/leverage``."""

    leverage: int | None = None
    symbol: str | None = None


class PositionSideDual(msgspec.Struct, gc=False):
    dualSidePosition: bool | str | None = None


class CommissionRate(msgspec.Struct, gc=False):
    takerCommissionRate: Num = _EMPTY
    makerCommissionRate: Num = _EMPTY


class CommissionData(msgspec.Struct, gc=False):
    commission: CommissionRate


# --------------------------------------------------------------------------------------------------
# Decoders
# --------------------------------------------------------------------------------------------------

_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder(tp: type[T] | Any) -> msgspec.json.Decoder[Any]:
    """Cached lax decoder (numeric strings accepted where ints are expected)."""
    dec = _DECODERS.get(tp)
    if dec is None:
        dec = msgspec.json.Decoder(tp, strict=False)
        _DECODERS[tp] = dec
    return dec


def decode_envelope(body: bytes) -> Envelope:
    """Decode the envelope only (``data`` stays raw). Raises ``msgspec.DecodeError``/``ValidationError``."""
    return decoder(Envelope).decode(body)


def decode_data(data: msgspec.Raw | None, tp: type[T] | Any) -> Any:
    """Decode an envelope's ``data`` into ``tp`` (``null``/missing decodes as ``null``)."""
    return decoder(tp).decode(data if data is not None and len(data) else b"null")


__all__ = [
    "BalanceItem",
    "CancelBatchResult",
    "CommissionData",
    "CommissionRate",
    "Contract",
    "Envelope",
    "FailedOrder",
    "FillHistoryData",
    "FillHistoryItem",
    "FillOrderItem",
    "FillOrdersData",
    "LeverageInfo",
    "LeverageSet",
    "ListenKeyResponse",
    "Num",
    "Order",
    "OrderData",
    "OrdersData",
    "Position",
    "PositionSideDual",
    "ServerTime",
    "decode_data",
    "decode_envelope",
    "decoder",
    "flag",
    "num",
    "num_or",
    "to_int",
]
