"""Pure parsing: Binance USD-M payloads (msgspec Structs) -> NautilusTrader values, reports and events args,
and the outbound mapping of order requests (one builder for REST and the WS trading API).

No I/O here. Every function takes already-decoded Structs plus the precision/currency context it needs.

Decisions (documented here, tested in tests/binance_futures/test_parsing.py)
---------------------------------------------------------------------------

Order status (one map for REST and WS, unlike the reference which has four slightly different ones):

=====================  ==========================================================================
Binance                Nautilus
=====================  ==========================================================================
NEW, PENDING_NEW       ACCEPTED
PARTIALLY_FILLED       PARTIALLY_FILLED
FILLED                 FILLED
NEW_ADL, NEW_INSURANCE FILLED (liquidation/ADL executions; the venue sends them fully executed)
CANCELED               CANCELED
PENDING_CANCEL         PENDING_CANCEL (the order may still fill; the engine keeps it open)
REJECTED               REJECTED
EXPIRED                EXPIRED, or CANCELED with ``treat_expired_as_canceled``
EXPIRED_IN_MATCH       same as EXPIRED (STP expiry)
unknown                derived from quantities: filled==0 -> ACCEPTED, 0<filled<qty ->
                       PARTIALLY_FILLED, filled>=qty -> FILLED (logged once per value)
=====================  ==========================================================================

Algo status: NEW/TRIGGERING -> ACCEPTED; TRIGGERED -> TRIGGERED; FINISHED -> FILLED when executed qty >=
quantity, else CANCELED (filled qty kept); CANCELED -> CANCELED; EXPIRED -> EXPIRED (or CANCELED with the
flag, applied consistently, unlike the reference); REJECTED -> REJECTED; unknown -> ACCEPTED (logged).

Order type: LIMIT->LIMIT, MARKET->MARKET, STOP->STOP_LIMIT, STOP_MARKET->STOP_MARKET,
TAKE_PROFIT->LIMIT_IF_TOUCHED, TAKE_PROFIT_MARKET->MARKET_IF_TOUCHED,
TRAILING_STOP_MARKET->TRAILING_STOP_MARKET,
LIQUIDATION/ADL/unknown->MARKET.  TIF: GTC, IOC, FOK, GTD map 1:1; GTX -> GTC + post_only; RPI -> GTC +
post_only (RPI orders are maker-only); unknown -> GTC.  Trigger: CONTRACT_PRICE -> LAST_PRICE,
MARK_PRICE -> MARK_PRICE.

Precision: an instrument's precision is the precision of its increment *normalized* (tick "0.10" -> 0.1 ->
precision 1; the reference adapter gives 2). ``CryptoPerpetual`` demands precision == increment precision
and a tick of 0.1 has one significant decimal, so 1 is the correct precision; prices the venue pads to
``pricePrecision`` ("7100.50") are still exact at precision 1.

Quantity/Price/Money construction on the fill path goes through an exact integer path (``_raw``, now
:func:`adapters.core.parse.decimal_parse.raw_value`, shared with BingX): the
decimal string's digits scaled to NautilusTrader's fixed-point raw value, no float and no Decimal.
Earlier measurements that led there: ``Price(float(s), prec)`` is exact when the string has at most
``prec`` decimals (after stripping trailing zeros) and at most 15 significant digits (an IEEE double
round-trips 15 digits and Nautilus rounds to ``prec``). That path costs ~0.46 µs vs ~3.5 µs for
``Price.from_str`` and ~1.2 µs for ``Price(Decimal(s), prec)`` (which goes through float anyway).
Anything else takes the exact string path (``from_str`` on the zero-stripped string, keeping extra
precision rather than rounding money).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final, NamedTuple, TypedDict, Unpack

import msgspec
import pandas as pd
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.reports import FillReport, OrderStatusReport, PositionStatusReport
from nautilus_trader.model.enums import (
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
    TrailingOffsetType,
    TriggerType,
)
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    PositionId,
    Symbol,
    TradeId,
    Venue,
    VenueOrderId,
)
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.objects import AccountBalance, Currency, MarginBalance, Price, Quantity
from nautilus_trader.model.orders import Order as NautilusOrder

from adapters.binance_futures.schemas_rest import (
    AccountInfo,
    AlgoOrder,
    Balance,
    Order,
    PositionRisk,
    SymbolInfo,
    UserTrade,
)
from adapters.binance_futures.schemas_user import (
    AccountUpdateData,
    AlgoUpdateData,
    OrderUpdateData,
)
from adapters.core.base.timestamps import NANOS_PER_MS, ms_to_ns
from adapters.core.net.rest_client import ParamValue
from adapters.core.orders.order_fill import OrderFill as OrderFill
from adapters.core.orders.order_fill import order_fill_to_fill_report
from adapters.core.orders.order_status import resolve_order_status
from adapters.core.orders.position_report import position_status_report
from adapters.core.orders.status_report import optional_price, order_status_report
from adapters.core.parse.decimal_parse import (
    account_balance,
    increment_precision,
    is_nonzero,
    money_from_decimal,
    parse_currency,
    parse_money,
    parse_price,
    parse_quantity,
    raw_value,
    to_decimal,
)
from adapters.core.parse.instrument_ids import PerpInstrumentIds, strip_perp_suffix
from adapters.core.parse.instrument_ids import make_position_id as make_position_id
from adapters.core.parse.venue_vocabulary import VenueVocabulary
from adapters.core.parse.wire_values import safe_identifier

_log = logging.getLogger(__name__)

BINANCE_VENUE: Final = Venue("BINANCE")
DEFAULT_MAKER_FEE: Final = Decimal("0.0002")
DEFAULT_TAKER_FEE: Final = Decimal("0.0005")

# --------------------------------------------------------------------------------------------------
# Enum maps
# --------------------------------------------------------------------------------------------------

ORDER_SIDE: Final = {"BUY": OrderSide.BUY, "SELL": OrderSide.SELL}

ORDER_TYPE: Final = {
    "LIMIT": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP": OrderType.STOP_LIMIT,
    "STOP_MARKET": OrderType.STOP_MARKET,
    "TAKE_PROFIT": OrderType.LIMIT_IF_TOUCHED,
    "TAKE_PROFIT_MARKET": OrderType.MARKET_IF_TOUCHED,
    "TRAILING_STOP_MARKET": OrderType.TRAILING_STOP_MARKET,
    "LIQUIDATION": OrderType.MARKET,
    "ADL": OrderType.MARKET,
}

# value: (TimeInForce, post_only)
TIME_IN_FORCE: Final = {
    "GTC": (TimeInForce.GTC, False),
    "IOC": (TimeInForce.IOC, False),
    "FOK": (TimeInForce.FOK, False),
    "GTD": (TimeInForce.GTD, False),
    "GTX": (TimeInForce.GTC, True),
    "RPI": (TimeInForce.GTC, True),
}

ORDER_STATUS: Final = {
    "NEW": OrderStatus.ACCEPTED,
    "PENDING_NEW": OrderStatus.ACCEPTED,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "NEW_ADL": OrderStatus.FILLED,
    "NEW_INSURANCE": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "PENDING_CANCEL": OrderStatus.PENDING_CANCEL,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}

ALGO_STATUS: Final = {
    "NEW": OrderStatus.ACCEPTED,
    "TRIGGERING": OrderStatus.ACCEPTED,
    "TRIGGERED": OrderStatus.TRIGGERED,
    "CANCELED": OrderStatus.CANCELED,
    "EXPIRED": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
    # FINISHED handled by quantity
}

TRIGGER_TYPE: Final = {"CONTRACT_PRICE": TriggerType.LAST_PRICE, "MARK_PRICE": TriggerType.MARK_PRICE}

POSITION_SIDE: Final = {"LONG": PositionSide.LONG, "SHORT": PositionSide.SHORT, "BOTH": PositionSide.FLAT}

# Execution types of ORDER_TRADE_UPDATE ``x``
EXEC_NEW: Final = "NEW"
EXEC_TRADE: Final = "TRADE"
EXEC_CANCELED: Final = "CANCELED"
EXEC_EXPIRED: Final = "EXPIRED"
EXEC_CALCULATED: Final = "CALCULATED"
EXEC_AMENDMENT: Final = "AMENDMENT"
EXEC_TYPES: Final = frozenset(
    {EXEC_NEW, EXEC_TRADE, EXEC_CANCELED, EXEC_EXPIRED, EXEC_CALCULATED, EXEC_AMENDMENT}
)

_CONDITIONAL_TYPES: Final = frozenset(
    {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}
)
ALGO_ORDER_TYPES: Final = _CONDITIONAL_TYPES

_vocab = VenueVocabulary("Binance", _log)
_warn_unknown = _vocab.warn_unknown


def parse_order_side(value: str) -> OrderSide:
    return _vocab.lookup(ORDER_SIDE, value, "order side", OrderSide.NO_ORDER_SIDE)


def parse_order_type(value: str | None) -> OrderType:
    return _vocab.lookup(ORDER_TYPE, value or "", "order type", OrderType.MARKET, str(value))


def parse_time_in_force(value: str | None) -> tuple[TimeInForce, bool]:
    """Return ``(time_in_force, post_only)``."""
    return _vocab.lookup(TIME_IN_FORCE, value or "", "time in force", (TimeInForce.GTC, False), str(value))


def parse_trigger_type(value: str | None) -> TriggerType:
    if not value:
        return TriggerType.LAST_PRICE
    return _vocab.lookup(TRIGGER_TYPE, value, "working type", TriggerType.LAST_PRICE)


def parse_order_status(
    value: str, quantity: Decimal, filled: Decimal, treat_expired_as_canceled: bool = False
) -> OrderStatus:
    status = ORDER_STATUS.get(value)
    if status is None:
        _warn_unknown("order status", value)
    return resolve_order_status(status, quantity, filled, treat_expired_as_canceled)


def parse_algo_status(
    value: str, quantity: Decimal, executed: Decimal, treat_expired_as_canceled: bool = False
) -> OrderStatus:
    if value == "FINISHED":
        return OrderStatus.FILLED if executed > 0 and executed >= quantity else OrderStatus.CANCELED
    status = ALGO_STATUS.get(value)
    if status is None:
        _warn_unknown("algo status", value)
        return OrderStatus.ACCEPTED
    if status == OrderStatus.EXPIRED and treat_expired_as_canceled:
        return OrderStatus.CANCELED
    return status


def parse_liquidity_side(is_maker: bool) -> LiquiditySide:
    return LiquiditySide.MAKER if is_maker else LiquiditySide.TAKER


def is_algo_order_type(binance_type: str) -> bool:
    """Conditional types that must go through ``/fapi/v1/algoOrder`` since 2025-12-09 (else -4120)."""
    return binance_type in _CONDITIONAL_TYPES


# --------------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------------


def _instrument_name(symbol: str) -> str:
    # Dated contracts (``BTCUSDT_250627``) keep their symbol; perpetuals get ``-PERP``.
    return symbol if "_" in symbol else f"{symbol}-PERP"


_IIDS: Final = PerpInstrumentIds(BINANCE_VENUE, _instrument_name)


def format_instrument_id(symbol: str, venue: Venue = BINANCE_VENUE) -> InstrumentId:
    """``BTCUSDT`` -> ``BTCUSDT-PERP.BINANCE``. Dated contracts (``BTCUSDT_250627``) keep their symbol."""
    return _IIDS.get(symbol, venue)


def venue_symbol(instrument_id: InstrumentId) -> str:
    """Inverse of :func:`format_instrument_id`: ``BTCUSDT-PERP.BINANCE`` -> ``BTCUSDT``."""
    return strip_perp_suffix(instrument_id)


LIQUIDATION_PREFIX: Final = "autoclose-"
ADL_PREFIX: Final = "adl_autoclose"
SETTLEMENT_PREFIXES: Final = ("settlement_autoclose-", "delivery_autoclose-")


def is_liquidation(client_order_id: str) -> bool:
    return client_order_id.startswith(LIQUIDATION_PREFIX)


def is_adl(client_order_id: str) -> bool:
    return client_order_id.startswith(ADL_PREFIX)


def is_settlement(client_order_id: str) -> bool:
    return client_order_id.startswith(SETTLEMENT_PREFIXES)


def is_exchange_generated(client_order_id: str) -> bool:
    """Liquidation (``autoclose-``), ADL (``adl_autoclose``) or settlement/delivery (``*_autoclose-``)."""
    return client_order_id.startswith((LIQUIDATION_PREFIX, ADL_PREFIX, *SETTLEMENT_PREFIXES))


def parse_client_order_id(value: str | None) -> ClientOrderId | None:
    """Pass-through: the id we sent is echoed verbatim (no broker-prefix encoding in this adapter).
    An id NautilusTrader cannot hold (non-ASCII, NUL, whitespace: an external order from another
    tool) is dropped: the report still reaches the engine, which then names the order itself."""
    valid = safe_identifier(value)
    return ClientOrderId(valid) if valid else None


# --------------------------------------------------------------------------------------------------
# Exact Price / Quantity / Money from decimal strings
# --------------------------------------------------------------------------------------------------


# The exact integer path lives in adapters.core.parse.decimal_parse (shared with BingX); re-exported here.
_raw = raw_value
_dec = to_decimal
_nonzero = is_nonzero


_ms_to_ns = ms_to_ns


# --------------------------------------------------------------------------------------------------
# ORDER_TRADE_UPDATE hot path
# --------------------------------------------------------------------------------------------------


_tuple_new = tuple.__new__
_MAKER: Final = LiquiditySide.MAKER
_TAKER: Final = LiquiditySide.TAKER


def parse_order_fill(
    o: OrderUpdateData,
    price_precision: int,
    size_precision: int,
    quote_currency: Currency,
    venue_position_id: PositionId | None = None,
) -> OrderFill:
    """ORDER_TRADE_UPDATE (x=TRADE/CALCULATED) -> args for ``generate_order_filled``.

    Hot path: built with ``tuple.__new__`` (a NamedTuple's Python-level ``__new__`` costs ~0.9 µs here).
    """
    n_asset = o.commission_asset
    if not n_asset or n_asset == quote_currency.code:
        commission_ccy = quote_currency
    else:
        commission_ccy = parse_currency(n_asset)
    side = ORDER_SIDE.get(o.side)
    if side is None:
        side = parse_order_side(o.side)
    order_type = ORDER_TYPE.get(o.order_type)
    if order_type is None:
        order_type = parse_order_type(o.order_type)
    return _tuple_new(
        OrderFill,
        (
            VenueOrderId(str(o.order_id)),
            venue_position_id,
            TradeId(str(o.trade_id)),
            side,
            order_type,
            parse_quantity(o.last_filled_qty, size_precision),
            parse_price(o.last_filled_price, price_precision, field="last fill price", positive=True),
            quote_currency,
            parse_money(o.commission, commission_ccy),
            _MAKER if o.is_maker else _TAKER,
            o.trade_time * NANOS_PER_MS,
        ),
    )


def is_fill(o: OrderUpdateData) -> bool:
    """A real execution: TRADE, or CALCULATED (liquidation/ADL) with non-zero last qty."""
    return (o.execution_type == EXEC_TRADE or o.execution_type == EXEC_CALCULATED) and _nonzero(
        o.last_filled_qty
    )


def order_update_to_fill_report(
    o: OrderUpdateData,
    account_id: AccountId,
    instrument_id: InstrumentId,
    price_precision: int,
    size_precision: int,
    quote_currency: Currency,
    ts_init: int,
    venue_position_id: PositionId | None = None,
) -> FillReport:
    fill = parse_order_fill(o, price_precision, size_precision, quote_currency, venue_position_id)
    return order_fill_to_fill_report(
        fill, account_id, instrument_id, ts_init, parse_client_order_id(o.client_order_id), venue_position_id
    )


def order_update_to_status_report(
    o: OrderUpdateData,
    account_id: AccountId,
    instrument_id: InstrumentId,
    price_precision: int,
    size_precision: int,
    ts_event: int,
    ts_init: int,
    treat_expired_as_canceled: bool = False,
    venue_position_id: PositionId | None = None,
) -> OrderStatusReport:
    """ORDER_TRADE_UPDATE (untracked/external order) -> ``OrderStatusReport``."""
    qty_s = o.original_qty if _nonzero(o.original_qty) else o.cum_filled_qty
    quantity_d = _dec(qty_s)
    filled_d = _dec(o.cum_filled_qty)
    tif, post_only = parse_time_in_force(o.time_in_force)
    order_type = parse_order_type(o.order_type)
    trigger = _stop_trigger(
        order_type, o.stop_price, o.activation_price, o.working_type, o.callback_rate, price_precision
    )
    return order_status_report(
        account_id,
        instrument_id,
        str(o.order_id),
        parse_order_side(o.side),
        order_type,
        tif,
        parse_order_status(o.order_status, quantity_d, filled_d, treat_expired_as_canceled),
        quantity=qty_s,
        filled_qty=o.cum_filled_qty,
        size_precision=size_precision,
        price_precision=price_precision,
        price=o.original_price,
        trigger_price=trigger.price,
        trigger_type=trigger.type,
        trailing_offset=trigger.trailing_offset,
        trailing_offset_type=trigger.trailing_offset_type,
        avg_px=o.avg_price,
        post_only=post_only,
        reduce_only=o.is_reduce_only,
        ts_accepted=ts_event,
        ts_last=ts_event,
        ts_init=ts_init,
        client_order_id=parse_client_order_id(o.client_order_id),
        venue_position_id=venue_position_id,
    )


class _Trigger(NamedTuple):
    price: Price | None
    type: TriggerType
    trailing_offset: Decimal | None
    trailing_offset_type: TrailingOffsetType


_NO_TRIGGER: Final = _Trigger(None, TriggerType.NO_TRIGGER, None, TrailingOffsetType.NO_TRAILING_OFFSET)


def _stop_trigger(
    order_type: OrderType,
    stop_price: str | None,
    activation_price: str | None,
    working_type: str | None,
    callback_rate: str | None,
    price_precision: int,
) -> _Trigger:
    """Trigger of a regular (non-algo) order, REST or stream: a trailing stop triggers at ``stopPrice``,
    else at its activation price, with its callback rate (percent) as a basis-points offset; any other
    order has a trigger when ``stopPrice`` is set."""
    if order_type == OrderType.TRAILING_STOP_MARKET:
        trigger_s = stop_price if _nonzero(stop_price) else activation_price
        trigger_price = optional_price(trigger_s, price_precision)
        trigger_type = parse_trigger_type(working_type)
        trailing = _dec(callback_rate) * 100 if _nonzero(callback_rate) else None
        return _Trigger(
            trigger_price,
            trigger_type,
            trailing,
            TrailingOffsetType.NO_TRAILING_OFFSET if trailing is None else TrailingOffsetType.BASIS_POINTS,
        )
    if _nonzero(stop_price):
        return _Trigger(
            optional_price(stop_price, price_precision),
            parse_trigger_type(working_type),
            None,
            TrailingOffsetType.NO_TRAILING_OFFSET,
        )
    return _NO_TRIGGER


# --------------------------------------------------------------------------------------------------
# REST -> reports
# --------------------------------------------------------------------------------------------------


def order_to_status_report(
    order: Order,
    account_id: AccountId,
    instrument_id: InstrumentId,
    price_precision: int,
    size_precision: int,
    ts_init: int,
    treat_expired_as_canceled: bool = False,
    venue_position_id: PositionId | None = None,
) -> OrderStatusReport:
    """REST order (order/openOrders/allOrders) -> ``OrderStatusReport``.

    Raises ValueError for an order with zero quantity and zero fill (e.g. ``closePosition`` orders), which a
    report cannot represent (``quantity`` must be > 0).
    """
    qty_s = order.origQty if _nonzero(order.origQty) else order.executedQty
    if not _nonzero(qty_s):
        raise ValueError(f"order {order.orderId} has zero quantity (closePosition?); no report possible")
    quantity_d = _dec(qty_s)
    filled_d = _dec(order.executedQty)
    tif, post_only = parse_time_in_force(order.timeInForce)
    binance_type = order.origType or order.type
    order_type = parse_order_type(binance_type)
    trigger = _stop_trigger(
        order_type, order.stopPrice, order.activatePrice, order.workingType, order.priceRate, price_precision
    )
    ts_accepted = _ms_to_ns(order.time, ts_init)
    expire_time = None
    if tif == TimeInForce.GTD and order.goodTillDate:
        expire_time = pd.Timestamp(order.goodTillDate, unit="ms", tz="UTC")
    return order_status_report(
        account_id,
        instrument_id,
        str(order.orderId),
        parse_order_side(order.side),
        order_type,
        tif,
        parse_order_status(order.status, quantity_d, filled_d, treat_expired_as_canceled),
        quantity=qty_s,
        filled_qty=order.executedQty or "0",
        size_precision=size_precision,
        price_precision=price_precision,
        price=order.price,
        trigger_price=trigger.price,
        trigger_type=trigger.type,
        trailing_offset=trigger.trailing_offset,
        trailing_offset_type=trigger.trailing_offset_type,
        avg_px=order.avgPrice,
        post_only=post_only,
        reduce_only=order.reduceOnly,
        ts_accepted=ts_accepted,
        ts_last=_ms_to_ns(order.updateTime, ts_accepted),
        ts_init=ts_init,
        client_order_id=parse_client_order_id(order.clientOrderId),
        venue_position_id=venue_position_id,
        expire_time=expire_time,
    )


def algo_order_to_status_report(
    algo: AlgoOrder,
    account_id: AccountId,
    instrument_id: InstrumentId,
    price_precision: int,
    size_precision: int,
    ts_init: int,
    treat_expired_as_canceled: bool = False,
    venue_position_id: PositionId | None = None,
) -> OrderStatusReport:
    """REST algo order -> ``OrderStatusReport``.

    Venue order id: ``actualOrderId`` once triggered, else ``algoId``.
    """
    qty_s = algo.quantity if _nonzero(algo.quantity) else algo.executedQty
    if not qty_s or not _nonzero(qty_s):
        raise ValueError(f"algo order {algo.algoId} has zero quantity (closePosition?); no report possible")
    quantity_d = _dec(qty_s)
    executed_d = _dec(algo.executedQty)
    binance_type = algo.algo_order_type
    order_type = parse_order_type(binance_type)
    tif, post_only = parse_time_in_force(algo.timeInForce)
    trigger_s = algo.triggerPrice if _nonzero(algo.triggerPrice) else algo.activatePrice
    trigger_price = optional_price(trigger_s, price_precision)
    trailing_offset = None
    trailing_offset_type = TrailingOffsetType.NO_TRAILING_OFFSET
    if order_type == OrderType.TRAILING_STOP_MARKET and _nonzero(algo.callbackRate):
        trailing_offset = _dec(algo.callbackRate) * 100
        trailing_offset_type = TrailingOffsetType.BASIS_POINTS
    status = parse_algo_status(algo.algoStatus, quantity_d, executed_d, treat_expired_as_canceled)
    ts_accepted = _ms_to_ns(algo.createTime, ts_init)
    venue_id = algo.actual_order_id or str(algo.algoId)
    return order_status_report(
        account_id,
        instrument_id,
        venue_id,
        parse_order_side(algo.side),
        order_type,
        tif,
        status,
        quantity=qty_s,
        filled_qty=algo.executedQty or "0",
        size_precision=size_precision,
        price_precision=price_precision,
        price=algo.price,
        trigger_price=trigger_price,
        trigger_type=parse_trigger_type(algo.workingType)
        if trigger_price is not None
        else TriggerType.NO_TRIGGER,
        trailing_offset=trailing_offset,
        trailing_offset_type=trailing_offset_type,
        avg_px=algo.actualPrice,
        post_only=post_only,
        reduce_only=bool(algo.reduceOnly),
        ts_accepted=ts_accepted,
        ts_last=_ms_to_ns(algo.updateTime, ts_accepted),
        ts_init=ts_init,
        client_order_id=parse_client_order_id(algo.clientAlgoId),
        venue_position_id=venue_position_id,
        ts_triggered=_ms_to_ns(algo.triggerTime, 0) if status == OrderStatus.TRIGGERED else None,
    )


def algo_update_to_status_report(
    a: AlgoUpdateData,
    account_id: AccountId,
    instrument_id: InstrumentId,
    price_precision: int,
    size_precision: int,
    ts_event: int,
    ts_init: int,
    treat_expired_as_canceled: bool = False,
    venue_position_id: PositionId | None = None,
) -> OrderStatusReport:
    """ALGO_UPDATE -> ``OrderStatusReport`` (same rules as the REST algo report)."""
    algo = AlgoOrder(
        algoId=a.algo_id,
        symbol=a.symbol,
        side=a.side,
        clientAlgoId=a.client_algo_id,
        orderType=a.order_type,
        positionSide=a.position_side or "BOTH",
        timeInForce=a.time_in_force or "GTC",
        quantity=a.quantity,
        executedQty=a.executed_qty,
        algoStatus=a.algo_status,
        actualOrderId=a.actual_order_id,
        actualPrice=a.avg_price,
        triggerPrice=a.trigger_price,
        price=a.price,
        workingType=a.working_type,
        reduceOnly=a.is_reduce_only,
        callbackRate=a.callback_rate,
        activatePrice=a.activation_price,
        createTime=ts_event // NANOS_PER_MS,
        updateTime=ts_event // NANOS_PER_MS,
        triggerTime=a.trigger_time,
    )
    return algo_order_to_status_report(
        algo,
        account_id,
        instrument_id,
        price_precision,
        size_precision,
        ts_init,
        treat_expired_as_canceled,
        venue_position_id,
    )


def user_trade_to_fill_report(
    trade: UserTrade,
    account_id: AccountId,
    instrument_id: InstrumentId,
    price_precision: int,
    size_precision: int,
    ts_init: int,
    client_order_id: ClientOrderId | None = None,
    venue_position_id: PositionId | None = None,
) -> FillReport:
    """``GET /fapi/v1/userTrades`` item -> ``FillReport``."""
    return FillReport(
        account_id=account_id,
        instrument_id=instrument_id,
        venue_order_id=VenueOrderId(str(trade.orderId)),
        trade_id=TradeId(str(trade.id)),
        order_side=parse_order_side(trade.side),
        last_qty=parse_quantity(trade.qty, size_precision),
        last_px=parse_price(trade.price, price_precision, field="last fill price", positive=True),
        commission=parse_money(trade.commission, parse_currency(trade.commissionAsset or "USDT")),
        liquidity_side=parse_liquidity_side(trade.maker),
        report_id=UUID4(),
        ts_event=_ms_to_ns(trade.time, ts_init),
        ts_init=ts_init,
        client_order_id=client_order_id,
        venue_position_id=venue_position_id,
    )


def position_to_status_report(
    position: PositionRisk,
    account_id: AccountId,
    instrument_id: InstrumentId,
    size_precision: int,
    ts_init: int,
    venue_position_id: PositionId | None = None,
) -> PositionStatusReport:
    """``positionRisk`` item -> ``PositionStatusReport`` (side from the sign of ``positionAmt``)."""
    amount = _dec(position.positionAmt)
    if amount > 0:
        side = PositionSide.LONG
    elif amount < 0:
        side = PositionSide.SHORT
    else:
        side = PositionSide.FLAT
    return position_status_report(
        account_id,
        instrument_id,
        side,
        position.positionAmt,
        position.entryPrice,
        size_precision,
        _ms_to_ns(position.updateTime, ts_init),
        ts_init,
        venue_position_id,
    )


# --------------------------------------------------------------------------------------------------
# Account
# --------------------------------------------------------------------------------------------------


_balance = account_balance


def account_info_to_balances(
    info: AccountInfo, asset_map: dict[str, str] | None = None
) -> tuple[list[AccountBalance], list[MarginBalance]]:
    """``GET /fapi/v2|v3/account`` -> (balances, margins). Assets with all-zero balances are skipped.

    ``asset_map`` renames venue assets (e.g. ``{"BNFCR": "USDT"}``); default keeps codes as sent.
    """
    balances: list[AccountBalance] = []
    margins: list[MarginBalance] = []
    for asset in info.assets:
        code = (asset_map or {}).get(asset.asset, asset.asset)
        ccy = parse_currency(code)
        if _dec(asset.walletBalance) == 0 and _dec(asset.availableBalance) == 0:
            continue
        balances.append(_balance(ccy, asset.walletBalance, asset.availableBalance))
        init = _dec(asset.initialMargin)
        maint = _dec(asset.maintMargin)
        if init != 0 or maint != 0:
            margins.append(
                MarginBalance(
                    initial=money_from_decimal(init, ccy), maintenance=money_from_decimal(maint, ccy)
                )
            )
    return balances, margins


def balances_to_account_balances(
    items: list[Balance], asset_map: dict[str, str] | None = None
) -> list[AccountBalance]:
    """``GET /fapi/v2|v3/balance`` -> balances (skipping all-zero assets)."""
    out: list[AccountBalance] = []
    for b in items:
        if _dec(b.balance) == 0 and _dec(b.availableBalance) == 0:
            continue
        ccy = parse_currency((asset_map or {}).get(b.asset, b.asset))
        out.append(_balance(ccy, b.balance, b.availableBalance))
    return out


def account_update_to_balances(
    data: AccountUpdateData, asset_map: dict[str, str] | None = None
) -> list[AccountBalance]:
    """ACCOUNT_UPDATE ``B`` (changed assets only) -> balances: total = ``wb``, free = ``cw``."""
    out: list[AccountBalance] = []
    for b in data.balances:
        ccy = parse_currency((asset_map or {}).get(b.asset, b.asset))
        out.append(_balance(ccy, b.wallet_balance, b.cross_wallet_balance))
    return out


# --------------------------------------------------------------------------------------------------
# exchangeInfo -> CryptoPerpetual
# --------------------------------------------------------------------------------------------------


def symbol_to_perpetual(
    sym: SymbolInfo,
    ts_init: int,
    maker_fee: Decimal | None = None,
    taker_fee: Decimal | None = None,
    venue: Venue = BINANCE_VENUE,
) -> CryptoPerpetual:
    """exchangeInfo PERPETUAL symbol -> ``CryptoPerpetual`` (ValueError for other contract types)."""
    if sym.contractType != "PERPETUAL":
        raise ValueError(f"{sym.symbol} is not a perpetual (contractType={sym.contractType!r})")
    price_filter = sym.filter("PRICE_FILTER")
    lot_filter = sym.filter("LOT_SIZE")
    if price_filter is None or not price_filter.tickSize:
        raise ValueError(f"{sym.symbol} has no PRICE_FILTER.tickSize")
    if lot_filter is None or not lot_filter.stepSize:
        raise ValueError(f"{sym.symbol} has no LOT_SIZE.stepSize")
    price_precision, tick = increment_precision(price_filter.tickSize)
    size_precision, step = increment_precision(lot_filter.stepSize)
    quote = parse_currency(sym.quoteAsset)
    settlement = parse_currency(sym.marginAsset or sym.quoteAsset)
    notional_filter = sym.filter("MIN_NOTIONAL")

    def _qty_or_none(s: str | None) -> Quantity | None:
        return parse_quantity(s, size_precision) if s and _nonzero(s) else None

    def _px_or_none(s: str | None) -> Price | None:
        return parse_price(s, price_precision) if s and _nonzero(s) else None

    margin_init = _dec(sym.requiredMarginPercent) / 100 if sym.requiredMarginPercent else None
    margin_maint = _dec(sym.maintMarginPercent) / 100 if sym.maintMarginPercent else None
    info: dict[str, Any] = msgspec.to_builtins(sym)
    return CryptoPerpetual(
        instrument_id=format_instrument_id(sym.symbol, venue),
        raw_symbol=Symbol(sym.symbol),
        base_currency=parse_currency(sym.baseAsset),
        quote_currency=quote,
        settlement_currency=settlement,
        is_inverse=False,
        price_precision=price_precision,
        size_precision=size_precision,
        price_increment=Price.from_str(tick),
        size_increment=Quantity.from_str(step),
        ts_event=ts_init,
        ts_init=ts_init,
        max_quantity=_qty_or_none(lot_filter.maxQty),
        min_quantity=_qty_or_none(lot_filter.minQty),
        min_notional=(
            money_from_decimal(_dec(notional_filter.notional), quote)
            if notional_filter is not None and _nonzero(notional_filter.notional)
            else None
        ),
        max_price=_px_or_none(price_filter.maxPrice),
        min_price=_px_or_none(price_filter.minPrice),
        margin_init=margin_init,
        margin_maint=margin_maint,
        maker_fee=maker_fee if maker_fee is not None else DEFAULT_MAKER_FEE,
        taker_fee=taker_fee if taker_fee is not None else DEFAULT_TAKER_FEE,
        info=info,
    )


# --------------------------------------------------------------------------------------------------
# Outbound: order requests. One mapping for ``POST /fapi/v1/order`` and ``order.place`` (and the algo,
# modify, cancel and query requests): the REST client and the WS trading client send these params.
# Keys are in the order they are sent (REST signs the query string as sent); None values are dropped
# by the transports.
# --------------------------------------------------------------------------------------------------


class NewOrderArgs(TypedDict, total=False):
    """The optional arguments of a new regular order (:func:`new_order_params`)."""

    quantity: str | Decimal | None
    price: str | Decimal | None
    time_in_force: str | None
    reduce_only: bool | None
    position_side: str | None
    new_client_order_id: str | None
    stop_price: str | Decimal | None
    close_position: bool | None
    activation_price: str | Decimal | None
    callback_rate: str | Decimal | None
    working_type: str | None
    price_protect: bool | None
    price_match: str | None
    self_trade_prevention_mode: str | None
    good_till_date: int | None
    new_order_resp_type: str | None


class NewAlgoOrderArgs(TypedDict, total=False):
    """The optional arguments of a new conditional (algo) order (:func:`new_algo_order_params`)."""

    quantity: str | Decimal | None
    price: str | Decimal | None
    trigger_price: str | Decimal | None
    time_in_force: str | None
    working_type: str | None
    position_side: str | None
    reduce_only: bool | None
    close_position: bool | None
    price_protect: bool | None
    price_match: str | None
    activate_price: str | Decimal | None
    callback_rate: str | Decimal | None
    client_algo_id: str | None
    self_trade_prevention_mode: str | None
    good_till_date: int | None


def _check_args(request: str, args: Mapping[str, object], allowed: frozenset[str]) -> None:
    unknown = args.keys() - allowed
    if unknown:
        raise TypeError(f"{request}() got unexpected keyword argument(s) {sorted(unknown)}")


def new_order_params(
    symbol: str, side: str, order_type: str, **args: Unpack[NewOrderArgs]
) -> dict[str, ParamValue]:
    """A new regular order: ``POST /fapi/v1/order`` / ``order.place`` params."""
    _check_args("new_order", args, NewOrderArgs.__optional_keys__)
    return {
        "symbol": symbol,
        "side": side,
        "type": order_type,
        "positionSide": args.get("position_side"),
        "timeInForce": args.get("time_in_force"),
        "quantity": args.get("quantity"),
        "reduceOnly": args.get("reduce_only"),
        "price": args.get("price"),
        "newClientOrderId": args.get("new_client_order_id"),
        "stopPrice": args.get("stop_price"),
        "closePosition": args.get("close_position"),
        "activationPrice": args.get("activation_price"),
        "callbackRate": args.get("callback_rate"),
        "workingType": args.get("working_type"),
        "priceProtect": args.get("price_protect"),
        "priceMatch": args.get("price_match"),
        "selfTradePreventionMode": args.get("self_trade_prevention_mode"),
        "goodTillDate": args.get("good_till_date"),
        "newOrderRespType": args.get("new_order_resp_type"),
    }


def new_algo_order_params(
    symbol: str, side: str, order_type: str, **args: Unpack[NewAlgoOrderArgs]
) -> dict[str, ParamValue]:
    """A new conditional order: ``POST /fapi/v1/algoOrder`` / ``algoOrder.place`` params."""
    _check_args("new_algo_order", args, NewAlgoOrderArgs.__optional_keys__)
    return {
        "algoType": "CONDITIONAL",
        "symbol": symbol,
        "side": side,
        "positionSide": args.get("position_side"),
        "type": order_type,
        "timeInForce": args.get("time_in_force"),
        "quantity": args.get("quantity"),
        "price": args.get("price"),
        "triggerPrice": args.get("trigger_price"),
        "workingType": args.get("working_type"),
        "priceMatch": args.get("price_match"),
        "closePosition": args.get("close_position"),
        "priceProtect": args.get("price_protect"),
        "reduceOnly": args.get("reduce_only"),
        "activatePrice": args.get("activate_price"),
        "callbackRate": args.get("callback_rate"),
        "clientAlgoId": args.get("client_algo_id"),
        "selfTradePreventionMode": args.get("self_trade_prevention_mode"),
        "goodTillDate": args.get("good_till_date"),
    }


class ModifyOrderArgs(TypedDict, total=False):
    """Which order an amend is for, and its optional price match (:func:`modify_order_params`)."""

    order_id: int | None
    orig_client_order_id: str | None
    price_match: str | None


def modify_order_params(
    symbol: str, side: str, quantity: str | Decimal, price: str | Decimal, **args: Unpack[ModifyOrderArgs]
) -> dict[str, ParamValue]:
    """An amend: ``PUT /fapi/v1/order`` / ``order.modify`` params."""
    _check_args("modify_order", args, ModifyOrderArgs.__optional_keys__)
    return {
        "symbol": symbol,
        "orderId": args.get("order_id"),
        "origClientOrderId": args.get("orig_client_order_id"),
        "side": side,
        "quantity": quantity,
        "price": price,
        "priceMatch": args.get("price_match"),
    }


def order_ref_params(
    symbol: str, order_id: int | None = None, orig_client_order_id: str | None = None
) -> dict[str, ParamValue]:
    """One order by venue or client id: cancel (``DELETE /fapi/v1/order``, ``order.cancel``) and query
    (``GET /fapi/v1/order``, ``order.status``) params."""
    return {"symbol": symbol, "orderId": order_id, "origClientOrderId": orig_client_order_id}


def algo_ref_params(algo_id: int | None = None, client_algo_id: str | None = None) -> dict[str, ParamValue]:
    """One conditional order by algo or client algo id (``/fapi/v1/algoOrder``, ``algoOrder.*``)."""
    return {"algoId": algo_id, "clientAlgoId": client_algo_id}


# --------------------------------------------------------------------------------------------------
# Outbound: a NautilusTrader order -> the arguments of its placement request (new_order /
# new_algo_order above). What depends on the client's configuration (hedge mode, use_reduce_only)
# comes in as ``position_side`` and ``reduce_only``.
# --------------------------------------------------------------------------------------------------

# Conditional order types: placed as algo orders (``/fapi/v1/algoOrder``, ``algoOrder.place``).
ALGO_ORDER_TYPE: Final = {
    OrderType.STOP_MARKET: "STOP_MARKET",
    OrderType.STOP_LIMIT: "STOP",
    OrderType.MARKET_IF_TOUCHED: "TAKE_PROFIT_MARKET",
    OrderType.LIMIT_IF_TOUCHED: "TAKE_PROFIT",
    OrderType.TRAILING_STOP_MARKET: "TRAILING_STOP_MARKET",
}
WIRE_TIME_IN_FORCE: Final = {
    TimeInForce.GTC: "GTC",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
    TimeInForce.GTD: "GTD",
}
WIRE_ORDER_SIDE: Final = {OrderSide.BUY: "BUY", OrderSide.SELL: "SELL"}


def order_position_side(order: NautilusOrder, params: dict[str, Any] | None, *, hedge: bool) -> str | None:
    """``positionSide`` of an order: the command's ``position_side`` param, else in hedge mode the side
    the order opens or reduces (BUY opening -> LONG, SELL reducing -> LONG), else none (one-way mode)."""
    if params and params.get("position_side"):
        return str(params["position_side"])
    if not hedge:
        return None
    opening_long = (order.side == OrderSide.BUY) != order.is_reduce_only
    return "LONG" if opening_long else "SHORT"


def wire_time_in_force(order: NautilusOrder) -> str:
    """GTX for post-only, else the order's time in force (GTC when Binance has no such one)."""
    if order.is_post_only:
        return "GTX"
    return WIRE_TIME_IN_FORCE.get(order.time_in_force, "GTC")


def _placement_args(order: NautilusOrder, position_side: str | None, reduce_only: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "symbol": venue_symbol(order.instrument_id),
        "side": WIRE_ORDER_SIDE[order.side],
        "quantity": str(order.quantity),
        "position_side": position_side,
    }
    if reduce_only:
        out["reduce_only"] = True
    return out


def new_order_args(order: NautilusOrder, *, position_side: str | None, reduce_only: bool) -> dict[str, Any]:
    """A MARKET or LIMIT order -> the arguments of ``new_order`` (ValueError for any other type)."""
    out = _placement_args(order, position_side, reduce_only)
    out["new_client_order_id"] = order.client_order_id.value
    if order.order_type == OrderType.MARKET:
        out["order_type"] = "MARKET"
    elif order.order_type == OrderType.LIMIT:
        out["order_type"] = "LIMIT"
        out["price"] = str(order.price)
        out["time_in_force"] = wire_time_in_force(order)
        if order.time_in_force == TimeInForce.GTD and order.expire_time_ns:
            out["good_till_date"] = order.expire_time_ns // NANOS_PER_MS
    else:
        raise ValueError(f"order type {order.order_type} is not a regular order")
    return out


def new_algo_order_args(
    order: NautilusOrder, *, position_side: str | None, reduce_only: bool
) -> dict[str, Any]:
    """A conditional order (:data:`ALGO_ORDER_TYPE`) -> the arguments of ``new_algo_order``. A trailing
    stop takes a callback rate: ValueError for offsets other than basis points."""
    out = _placement_args(order, position_side, reduce_only)
    out["order_type"] = ALGO_ORDER_TYPE[order.order_type]
    out["client_algo_id"] = order.client_order_id.value
    out["working_type"] = "MARK_PRICE" if order.trigger_type == TriggerType.MARK_PRICE else "CONTRACT_PRICE"
    if order.order_type == OrderType.TRAILING_STOP_MARKET:
        if order.trailing_offset_type != TrailingOffsetType.BASIS_POINTS:
            raise ValueError("Binance trailing stops take a callback rate: use BASIS_POINTS offsets")
        out["callback_rate"] = str(Decimal(str(order.trailing_offset)) / 100)
        activation = getattr(order, "activation_price", None) or order.trigger_price
        if activation is not None:
            out["activate_price"] = str(activation)
    else:
        out["trigger_price"] = str(order.trigger_price)
    if order.has_price:
        out["price"] = str(order.price)
        out["time_in_force"] = wire_time_in_force(order)
    if order.time_in_force == TimeInForce.GTD and order.expire_time_ns:
        out["good_till_date"] = order.expire_time_ns // NANOS_PER_MS
    return out
