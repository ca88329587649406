"""msgspec models and decoders for BingX USDT-M perpetual REST payloads.

Their lenient fields (:data:`~adapters.bingx.schemas_base.DecimalText`, ``IntId``, ``Flag``) are normalised
at decode time by :mod:`adapters.bingx.schemas_base` (BingX sends numbers, strings and ``""`` for the same
field). Unknown fields are ignored, optional fields default and accept ``null``, enums stay ``str``. Both
``clientOrderId`` and ``clientOrderID`` are read (:attr:`Order.client_order_id`).

Every successful REST response is the envelope ``{"code": 0, "msg": "", "data": ...}``; see
:func:`decode_envelope`. The listenKey endpoints answer bare JSON (``{"listenKey": ...}``).
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from adapters.bingx.schemas_base import DecimalText, Flag, IntId, LenientStruct, flag, float_text

T = TypeVar("T")


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
    "Envelope",
    "FailedOrder",
    "FillHistoryData",
    "FillHistoryItem",
    "FillOrderItem",
    "FillOrdersData",
    "LeverageInfo",
    "LeverageSet",
    "ListenKeyResponse",
    "Order",
    "OrderData",
    "OrdersData",
    "Position",
    "PositionSideDual",
    "ServerTime",
    "decode_data",
    "decode_envelope",
    "decoder",
]
