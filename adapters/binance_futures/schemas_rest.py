"""msgspec models for Binance USD-M Futures REST responses.

Same rules as the stream models: extra fields ignored, optional fields default to None and accept null,
enums as ``str``, prices/quantities as exact strings, camelCase wire names kept as attribute names so the
models read like the Binance docs.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec


class BinanceErrorBody(msgspec.Struct, gc=False):
    code: int
    msg: str = ""


class ListenKeyResponse(msgspec.Struct, gc=False):
    listenKey: str


class ServerTime(msgspec.Struct, gc=False):
    serverTime: int


class EmptyResponse(msgspec.Struct, gc=False):
    """``{}`` (listen-key keepalive/close) or anything else we do not need."""


class CodeMsgResponse(msgspec.Struct, gc=False):
    """e.g. cancel-all ``{"code": 200, "msg": "The operation of cancel all open order is done."}``."""

    code: int | str | None = None
    msg: str | None = None


# --------------------------------------------------------------------------------------------------
# exchangeInfo
# --------------------------------------------------------------------------------------------------


class SymbolFilter(msgspec.Struct, gc=False):
    filterType: str
    minPrice: str | None = None
    maxPrice: str | None = None
    tickSize: str | None = None
    minQty: str | None = None
    maxQty: str | None = None
    stepSize: str | None = None
    limit: int | None = None
    notional: str | None = None
    multiplierUp: str | None = None
    multiplierDown: str | None = None
    multiplierDecimal: str | int | None = None


class RateLimit(msgspec.Struct, gc=False):
    rateLimitType: str
    interval: str
    intervalNum: int
    limit: int


class SymbolInfo(msgspec.Struct, gc=False):
    symbol: str
    status: str = "TRADING"
    contractType: str = ""
    pair: str | None = None
    deliveryDate: int | None = None
    onboardDate: int | None = None
    maintMarginPercent: str | None = None
    requiredMarginPercent: str | None = None
    baseAsset: str = ""
    quoteAsset: str = ""
    marginAsset: str = ""
    pricePrecision: int | None = None
    quantityPrecision: int | None = None
    baseAssetPrecision: int | None = None
    quotePrecision: int | None = None
    underlyingType: str | None = None
    triggerProtect: str | None = None
    liquidationFee: str | None = None
    marketTakeBound: str | None = None
    filters: list[SymbolFilter] = msgspec.field(default_factory=list)
    orderTypes: list[str] = msgspec.field(default_factory=list)
    timeInForce: list[str] = msgspec.field(default_factory=list)

    def filter(self, filter_type: str) -> SymbolFilter | None:
        for f in self.filters:
            if f.filterType == filter_type:
                return f
        return None


class ExchangeInfo(msgspec.Struct, gc=False):
    symbols: list[SymbolInfo]
    timezone: str | None = None
    serverTime: int | None = None
    rateLimits: list[RateLimit] = msgspec.field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# Orders, trades
# --------------------------------------------------------------------------------------------------


class Order(msgspec.Struct, gc=False):
    """``/fapi/v1/order`` (POST/PUT/DELETE/GET), ``openOrders``, ``allOrders`` items."""

    orderId: int
    symbol: str
    status: str
    clientOrderId: str
    side: str
    type: str
    origQty: str = "0"
    executedQty: str = "0"
    price: str = "0"
    avgPrice: str = "0"
    cumQuote: str | None = None
    timeInForce: str = "GTC"
    reduceOnly: bool = False
    closePosition: bool = False
    positionSide: str = "BOTH"
    stopPrice: str | None = None
    workingType: str | None = None
    priceProtect: bool = False
    origType: str | None = None
    priceMatch: str | None = None
    selfTradePreventionMode: str | None = None
    goodTillDate: int | None = None
    activatePrice: str | None = None
    priceRate: str | None = None
    time: int | None = None
    updateTime: int | None = None


class UserTrade(msgspec.Struct, gc=False):
    symbol: str
    id: int
    orderId: int
    side: str
    price: str
    qty: str
    commission: str = "0"
    commissionAsset: str = ""
    time: int = 0
    realizedPnl: str | None = None
    marginAsset: str | None = None
    quoteQty: str | None = None
    positionSide: str = "BOTH"
    buyer: bool = False
    maker: bool = False


class AlgoOrder(msgspec.Struct, gc=False):
    """``/fapi/v1/algoOrder`` responses and ``openAlgoOrders`` / ``allAlgoOrders`` items.

    Binance documents ``orderType``; real ``openAlgoOrders`` payloads carry ``type``; both are accepted.
    """

    algoId: int
    symbol: str
    side: str
    clientAlgoId: str = ""
    algoType: str = "CONDITIONAL"
    orderType: str | None = None
    type: str | None = None
    positionSide: str = "BOTH"
    timeInForce: str = "GTC"
    quantity: str | None = None
    executedQty: str | None = None
    algoStatus: str = "NEW"
    actualOrderId: str | int | None = None
    actualPrice: str | None = None
    triggerPrice: str | None = None
    price: str | None = None
    icebergQuantity: str | None = None
    tpTriggerPrice: str | None = None
    tpPrice: str | None = None
    slTriggerPrice: str | None = None
    slPrice: str | None = None
    tpOrderType: str | None = None
    selfTradePreventionMode: str | None = None
    workingType: str | None = None
    priceMatch: str | None = None
    closePosition: bool | None = None
    priceProtect: bool | None = None
    reduceOnly: bool | None = None
    activatePrice: str | None = None
    callbackRate: str | None = None
    createTime: int | None = None
    updateTime: int | None = None
    triggerTime: int | None = None
    goodTillDate: int | None = None

    @property
    def algo_order_type(self) -> str:
        return self.orderType or self.type or "UNKNOWN"

    @property
    def actual_order_id(self) -> str | None:
        value = self.actualOrderId
        if value is None or value == "" or value == 0:
            return None
        return str(value)


class AlgoCancelResponse(msgspec.Struct, gc=False):
    algoId: int | None = None
    clientAlgoId: str | None = None
    code: int | str | None = None
    msg: str | None = None


# --------------------------------------------------------------------------------------------------
# Account, balance, positions
# --------------------------------------------------------------------------------------------------


class AccountAsset(msgspec.Struct, gc=False):
    asset: str
    walletBalance: str = "0"
    unrealizedProfit: str = "0"
    marginBalance: str = "0"
    maintMargin: str = "0"
    initialMargin: str = "0"
    positionInitialMargin: str = "0"
    openOrderInitialMargin: str = "0"
    crossWalletBalance: str | None = None
    crossUnPnl: str | None = None
    availableBalance: str = "0"
    maxWithdrawAmount: str | None = None
    marginAvailable: bool | None = None
    updateTime: int | None = None


class AccountPosition(msgspec.Struct, gc=False):
    symbol: str
    positionSide: str = "BOTH"
    positionAmt: str = "0"
    initialMargin: str = "0"
    maintMargin: str = "0"
    unrealizedProfit: str = "0"
    positionInitialMargin: str | None = None
    openOrderInitialMargin: str | None = None
    leverage: str | int | None = None
    isolated: bool | None = None
    entryPrice: str | None = None
    breakEvenPrice: str | None = None
    maxNotional: str | None = None
    bidNotional: str | None = None
    askNotional: str | None = None
    isolatedMargin: str | None = None
    isolatedWallet: str | None = None
    notional: str | None = None
    updateTime: int | None = None


class AccountInfo(msgspec.Struct, gc=False):
    """``GET /fapi/v2/account`` and ``GET /fapi/v3/account`` (superset)."""

    assets: list[AccountAsset] = msgspec.field(default_factory=list)
    positions: list[AccountPosition] = msgspec.field(default_factory=list)
    feeTier: int | None = None
    canTrade: bool | None = None
    canDeposit: bool | None = None
    canWithdraw: bool | None = None
    multiAssetsMargin: bool | None = None
    updateTime: int | None = None
    totalInitialMargin: str | None = None
    totalMaintMargin: str | None = None
    totalWalletBalance: str | None = None
    totalUnrealizedProfit: str | None = None
    totalMarginBalance: str | None = None
    totalPositionInitialMargin: str | None = None
    totalOpenOrderInitialMargin: str | None = None
    totalCrossWalletBalance: str | None = None
    totalCrossUnPnl: str | None = None
    availableBalance: str | None = None
    maxWithdrawAmount: str | None = None


class Balance(msgspec.Struct, gc=False):
    asset: str
    balance: str = "0"
    accountAlias: str | None = None
    crossWalletBalance: str | None = None
    crossUnPnl: str | None = None
    availableBalance: str = "0"
    maxWithdrawAmount: str | None = None
    marginAvailable: bool | None = None
    updateTime: int | None = None


class PositionRisk(msgspec.Struct, gc=False):
    """``GET /fapi/v2/positionRisk`` and ``/fapi/v3/positionRisk`` (superset)."""

    symbol: str
    positionAmt: str = "0"
    positionSide: str = "BOTH"
    entryPrice: str | None = None
    breakEvenPrice: str | None = None
    markPrice: str | None = None
    unRealizedProfit: str | None = None
    liquidationPrice: str | None = None
    leverage: str | int | None = None
    maxNotionalValue: str | None = None
    marginType: str | None = None
    marginAsset: str | None = None
    isolatedMargin: str | None = None
    isAutoAddMargin: str | bool | None = None
    notional: str | None = None
    isolatedWallet: str | None = None
    initialMargin: str | None = None
    maintMargin: str | None = None
    adl: int | None = None
    updateTime: int | None = None


class PositionSideDual(msgspec.Struct, gc=False):
    dualSidePosition: bool


class LeverageResponse(msgspec.Struct, gc=False):
    leverage: int
    symbol: str
    maxNotionalValue: str | None = None


class CommissionRate(msgspec.Struct, gc=False):
    symbol: str
    makerCommissionRate: str
    takerCommissionRate: str


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
