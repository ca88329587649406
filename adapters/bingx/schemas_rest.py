"""msgspec models and decoders for BingX USDT-M perpetual REST payloads.

Tolerance rules (BingX is inconsistent about JSON types; see notes §1.3):

* All of it is normalised once, at decode time, inside this module (:class:`LenientStruct`): code outside
  the schema modules sees plain ``str | None`` / ``int | None`` / ``bool | None`` and never calls
  :func:`num` / :func:`to_int` / :func:`flag` (issue 15).
* Decimal values (prices, quantities, fees) are typed :data:`DecimalText`: BingX sends them as strings
  (``"0.0001"``), as JSON numbers (contracts ``tradeMinQuantity: 0.0001``, positions
  ``liquidationPrice: 294.16914617776246``, place-order ``price: 0``) and as ``""`` for "not set". They
  become exact decimal text (a JSON number's own digits through the decoders' ``float_hook``
  :func:`float_text` - never through float), ``""``/``null`` become None. A JSON string is kept as sent:
  the strict decimal grammar at the boundary (:mod:`adapters.core.parse.wire_values`) rejects ``" 0.1"``,
  ``"1e5"``, ``true`` or ``[1]``, naming the field. :data:`Num` (``msgspec.Raw``) and :func:`num` remain
  for code that holds raw JSON text.
* Order ids are int64 above 2^53 and arrive as numbers or strings: ``int`` fields decoded with
  ``strict=False`` accept both, exactly. Secondary ids that may be ``""`` are :data:`IntId`, read with
  :func:`to_int` (``""``/garbage -> None).
* Flags arrive as JSON bools or ``"true"``/``"false"``/``""``: :data:`Flag`, read with :func:`flag`
  (``""`` -> False; absent stays None).
* Unknown fields are ignored, optional fields default and accept ``null``, enums stay ``str``.
* Both ``clientOrderId`` and ``clientOrderID`` are read (:attr:`Order.client_order_id`).

Every successful REST response is the envelope ``{"code": 0, "msg": "", "data": ...}``; see
:func:`decode_envelope`. The listenKey endpoints answer bare JSON (``{"listenKey": ...}``).
"""

from __future__ import annotations

import inspect
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, TypeVar

import msgspec

Num = msgspec.Raw
"""Raw JSON text of a decimal value (string, number, ``""`` or ``null``); read with :func:`num`."""

_EMPTY: Final = msgspec.Raw(b'""')
_PLAIN_DECIMAL: Final = b"0123456789.-"
# A JSON number's exponent is expanded to plain digits only within this range: ``1e999999999`` would
# otherwise become a gigabyte string. Outside it the text is returned as sent (``"1e999999999"``), which
# the strict decimal grammar at the boundary then rejects, naming the field.
_MAX_EXPANDED_EXPONENT: Final = 1000

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
            d = Decimal(s)
        except ArithmeticError:
            return s
        if d.is_finite() and -_MAX_EXPANDED_EXPONENT <= d.adjusted() <= _MAX_EXPANDED_EXPONENT:
            return format(d, "f")
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


def flag_or_none(value: bool | str | int | None) -> bool | None:
    """:func:`flag`, but an absent flag (``null``/missing) stays None (``""`` is a present, false flag)."""
    return None if value is None else flag(value)


# --------------------------------------------------------------------------------------------------
# Lenient fields, normalised at decode time
# --------------------------------------------------------------------------------------------------

if TYPE_CHECKING:
    DecimalText = str | None
    """A decimal value as exact text (``"0.0001"``), or None for ``""``/``null``/missing."""
    IntId = int | None
    """An id or time as int, or None for ``""``/``null``/missing/non-digit text."""
    Flag = bool | None
    """A flag as bool (``""`` is False), or None for ``null``/missing."""
else:
    # What msgspec decodes; :class:`LenientStruct` turns it into the type above right after decoding.
    # ``Any``: a JSON string arrives as ``str`` (decoded natively, already final unless ``""``), an integer
    # as ``int``, a non-integer number as its exact text through :func:`float_text` (the decoders'
    # ``float_hook``), anything else as a Python value that :func:`decimal_text` turns into rejected text.
    DecimalText = Any
    IntId = int | str | None
    Flag = bool | str | None


def float_text(text: str) -> str:
    """``float_hook`` of the BingX decoders: a JSON number's exact text (never a float); an exponent is
    expanded (``1e-5`` -> ``"0.00001"``) within a bounded range, as :func:`num` does."""
    if "e" in text or "E" in text:
        try:
            d = Decimal(text)
        except ArithmeticError:
            return text
        if d.is_finite() and -_MAX_EXPANDED_EXPONENT <= d.adjusted() <= _MAX_EXPANDED_EXPONENT:
            return format(d, "f")
    return text


def decimal_text(value: Any) -> str | None:
    """Normaliser of a :data:`DecimalText` field that is not already a non-empty ``str``.

    ``""``/None -> None; an int -> its digits; a :data:`Num` (``msgspec.Raw``) -> :func:`num`; a float is
    refused (TypeError: its text is not the venue's; the BingX decoders never produce one); a bool, list or
    object -> its JSON text, which the strict decimal grammar downstream rejects, naming the field.
    """
    if value is None or value == "":
        return None
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[no-any-return]
    if cls is int:
        return str(value)
    if cls is msgspec.Raw or isinstance(value, str):
        return num(value)
    if isinstance(value, float):
        raise TypeError("refusing float for a decimal value; decode with the BingX decoders (float_hook)")
    return msgspec.json.encode(value).decode("utf-8", "backslashreplace")


# Generated per-field code: the common case (a present, well-typed value) costs one type test, no call.
_NORMALISE: Final[dict[str, str]] = {
    "DecimalText": "    v = self.{0}\n    if v is not None and (v.__class__ is not str or not v):\n"
    "        self.{0} = decimal_text(v)\n",
    "IntId": "    v = self.{0}\n    if v is not None and v.__class__ is not int:\n"
    "        self.{0} = to_int(v)\n",
    "Flag": "    v = self.{0}\n    if v is not None and v.__class__ is not bool:\n"
    "        self.{0} = flag(v)\n",
}


class LenientStruct(msgspec.Struct):
    """Base of the models with :data:`DecimalText` / :data:`IntId` / :data:`Flag` fields.

    BingX sends those values as JSON numbers, strings or ``""``. Each subclass gets a generated
    ``__post_init__`` (run by msgspec right after a decode, and on construction) that normalises them once
    with :func:`decimal_text` / :func:`to_int` / :func:`flag`, so code outside the schema modules sees plain
    ``str | None`` / ``int | None`` / ``bool | None``. The normalisers never raise on venue input and never
    invent a value: a malformed decimal stays text (rejected, naming the field, by the strict decimal
    grammar downstream), a malformed id is None (absent), as :func:`to_int` always read it, an absent flag
    stays None. They are idempotent, so re-normalising an already plain value is harmless.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        normalise: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for name, annotation in inspect.get_annotations(klass).items():
                code = _NORMALISE.get(annotation) if isinstance(annotation, str) else None
                if code is not None:
                    normalise[name] = code.format(name)
                else:
                    normalise.pop(name, None)
        if not normalise:
            return
        namespace: dict[str, Any] = {"decimal_text": decimal_text, "to_int": to_int, "flag": flag}
        exec(f"def __post_init__(self):\n{''.join(normalise.values())}", namespace)
        cls.__post_init__ = namespace["__post_init__"]  # type: ignore[attr-defined]


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


class Contract(LenientStruct, gc=False):
    """``GET /openApi/swap/v2/quote/contracts`` item."""

    symbol: str
    pricePrecision: int
    quantityPrecision: int
    contractId: int | str | None = None
    asset: str = ""
    currency: str = "USDT"
    size: DecimalText = None
    feeRate: DecimalText = None
    makerFeeRate: DecimalText = None
    takerFeeRate: DecimalText = None
    tradeMinLimit: DecimalText = None
    tradeMinQuantity: DecimalText = None
    tradeMinUSDT: DecimalText = None
    maxLongLeverage: int | None = None
    maxShortLeverage: int | None = None
    status: int = 1
    apiStateOpen: bool | str | None = None
    apiStateClose: bool | str | None = None
    brokerState: bool | str | None = None
    ensureTrigger: bool | str | None = None
    triggerFeeRate: DecimalText = None
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


class Order(LenientStruct, gc=False, kw_only=True):
    """Order object of place / cancel / query / openOrders / allOrders / fullOrder (and batch items)."""

    orderId: int
    symbol: str
    side: str = ""
    positionSide: str = "BOTH"
    type: str = ""
    status: str | None = None
    origQty: DecimalText = None
    quantity: DecimalText = None  # place-order responses carry ``quantity`` instead of ``origQty``
    price: DecimalText = None
    executedQty: DecimalText = None
    avgPrice: DecimalText = None
    cumQuote: DecimalText = None
    stopPrice: DecimalText = None
    profit: DecimalText = None
    commission: DecimalText = None
    time: int | None = None
    updateTime: int | None = None
    clientOrderId: str | None = None
    clientOrderID: str | None = None
    workingType: str | None = None
    timeInForce: str | None = None
    reduceOnly: Flag = None
    closePosition: Flag = None
    postOnly: Flag = None
    priceRate: DecimalText = None
    activationPrice: DecimalText = None
    actPrice: DecimalText = None
    trailingStopRate: DecimalText = None
    trailingStopDistance: DecimalText = None
    stopGuaranteed: Flag = None
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
        return self.origQty if self.origQty is not None else self.quantity


class OrderData(msgspec.Struct, gc=False):
    order: Order


class OrdersData(msgspec.Struct, gc=False):
    orders: list[Order] | None = None


class FailedOrder(LenientStruct, gc=False):
    orderId: IntId = None
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


class FillHistoryItem(LenientStruct, gc=False):
    """``GET /openApi/swap/v2/trade/fillHistory`` item (has a trade id).

    ``qty`` is the fill quantity in coin (a 2026 live capture: qty 0.0615 x price 76445.4 = quoteQty
    4701.3921); the docs' sample ``volume``/``qty`` values are inconsistent, so ``qty`` wins and ``volume``
    is only a fallback.
    """

    orderId: int
    symbol: str = ""
    tradeId: IntId = None
    qty: DecimalText = None
    volume: DecimalText = None
    price: DecimalText = None
    quoteQty: DecimalText = None
    commission: DecimalText = None
    commissionAsset: str | None = None
    filledTime: str | None = None
    filledTm: str | None = None
    side: str = ""
    positionSide: str | None = None
    role: str | None = None
    realisedPNL: DecimalText = None


class FillHistoryData(msgspec.Struct, gc=False):
    fill_history_orders: list[FillHistoryItem] | None = None
    total: int | None = None


class FillOrderItem(LenientStruct, gc=False):
    """``GET /openApi/swap/v2/trade/allFillOrders`` item (no trade id; ``volume`` is the fill quantity)."""

    orderId: int
    symbol: str = ""
    volume: DecimalText = None
    price: DecimalText = None
    amount: DecimalText = None
    commission: DecimalText = None
    currency: str | None = None
    filledTime: str | None = None
    filledTm: str | None = None
    side: str = ""
    type: str | None = None
    positionSide: str | None = None
    workingType: str | None = None
    clientOrderId: str | None = None
    clientOrderID: str | None = None
    liquidatedPrice: DecimalText = None
    liquidatedMarginRatio: DecimalText = None
    onlyOnePosition: bool | str | None = None

    @property
    def client_order_id(self) -> str | None:
        return self.clientOrderId or self.clientOrderID or None


class FillOrdersData(msgspec.Struct, gc=False):
    fill_orders: list[FillOrderItem] | None = None


# --------------------------------------------------------------------------------------------------
# Account
# --------------------------------------------------------------------------------------------------


class BalanceItem(LenientStruct, gc=False):
    """``GET /openApi/swap/v3/user/balance`` item (one per margin asset)."""

    asset: str
    balance: DecimalText = None
    equity: DecimalText = None
    unrealizedProfit: DecimalText = None
    realisedProfit: DecimalText = None
    availableMargin: DecimalText = None
    usedMargin: DecimalText = None
    freezedMargin: DecimalText = None
    userId: str | int | None = None
    shortUid: str | int | None = None


class Position(LenientStruct, gc=False):
    """``GET /openApi/swap/v2/user/positions`` item. ``positionAmt`` is positive for hedge SHORT too."""

    symbol: str
    positionSide: str = "BOTH"
    positionAmt: DecimalText = None
    availableAmt: DecimalText = None
    avgPrice: DecimalText = None
    positionId: int | str | None = None
    currency: str | None = None
    isolated: bool | str | None = None
    initialMargin: DecimalText = None
    margin: DecimalText = None
    leverage: int | str | None = None
    unrealizedProfit: DecimalText = None
    realisedProfit: DecimalText = None
    liquidationPrice: DecimalText = None
    markPrice: DecimalText = None
    positionValue: DecimalText = None
    onlyOnePosition: bool | str | None = None
    updateTime: int | None = None


class LeverageInfo(LenientStruct, gc=False):
    """``GET /openApi/swap/v2/trade/leverage``."""

    longLeverage: int | None = None
    shortLeverage: int | None = None
    maxLongLeverage: int | None = None
    maxShortLeverage: int | None = None
    availableLongVol: DecimalText = None
    availableShortVol: DecimalText = None


class LeverageSet(msgspec.Struct, gc=False):
    """``POST /openApi/swap/v2/trade/leverage``."""

    leverage: int | None = None
    symbol: str | None = None


class PositionSideDual(LenientStruct, gc=False):
    dualSidePosition: Flag = None


class CommissionRate(LenientStruct, gc=False):
    takerCommissionRate: DecimalText = None
    makerCommissionRate: DecimalText = None


class CommissionData(msgspec.Struct, gc=False):
    commission: CommissionRate


# --------------------------------------------------------------------------------------------------
# Decoders
# --------------------------------------------------------------------------------------------------

_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder(tp: type[T] | Any) -> msgspec.json.Decoder[Any]:
    """Cached lax decoder (numeric strings accepted where ints are expected; JSON numbers in
    :data:`DecimalText` fields read as their exact text through :func:`float_text`)."""
    dec = _DECODERS.get(tp)
    if dec is None:
        dec = msgspec.json.Decoder(tp, strict=False, float_hook=float_text)
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
    "DecimalText",
    "Envelope",
    "FailedOrder",
    "FillHistoryData",
    "FillHistoryItem",
    "FillOrderItem",
    "FillOrdersData",
    "Flag",
    "IntId",
    "LenientStruct",
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
    "decimal_text",
    "decode_data",
    "decode_envelope",
    "decoder",
    "flag",
    "flag_or_none",
    "float_text",
    "num",
    "num_or",
    "to_int",
]
