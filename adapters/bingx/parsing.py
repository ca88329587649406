"""Pure parsing: BingX USDT-M payloads (msgspec Structs) -> NautilusTrader values, reports and event args.

No I/O. Decimal text goes through the exact integer path of :mod:`adapters.core.parse.decimal_parse` (shared
with Binance): no float anywhere on price/quantity/money.

Decisions (tested in tests/bingx/test_parsing.py)
-------------------------------------------------

Symbols: ``BTC-USDT`` <-> ``BTC-USDT-PERP.BINGX`` (raw symbol ``BTC-USDT``).

Order status (one map for REST and WS; REST spells ``CANCELLED``, WS ``CANCELED``):

=========================  =====================================================================
BingX                      Nautilus
=========================  =====================================================================
NEW, PENDING               ACCEPTED (REST shows PENDING for resting orders, WS shows NEW)
RUNNING                    ACCEPTED (TWAP in progress)
PARTIALLY_FILLED           PARTIALLY_FILLED
FILLED                     FILLED
CANCELED, CANCELLED        CANCELED (filled quantity kept)
EXPIRED                    EXPIRED, or CANCELED with ``treat_expired_as_canceled``
FAILED                     REJECTED
unknown (e.g. ``Unknown``) derived from quantities: filled==0 -> ACCEPTED, 0<filled<qty ->
                           PARTIALLY_FILLED, filled>=qty -> FILLED (warned once per value)
=========================  =====================================================================

Order type in: LIMIT->LIMIT, MARKET->MARKET, STOP/TRIGGER_LIMIT->STOP_LIMIT,
STOP_MARKET/TRIGGER_MARKET/TRIGGER_REVERSE_MARKET->STOP_MARKET, TAKE_PROFIT->LIMIT_IF_TOUCHED,
TAKE_PROFIT_MARKET->MARKET_IF_TOUCHED, TRAILING_STOP_MARKET/TRAILING_TP_SL->TRAILING_STOP_MARKET,
LIQUIDATION/unknown->MARKET. Out (:func:`to_bingx_order_type`): BingX's STOP*/TAKE_PROFIT* are position
stop-loss/take-profit orders, its TRIGGER_* are plain conditional orders; so a reduce-only Nautilus
STOP_MARKET/STOP_LIMIT/MARKET_IF_TOUCHED/LIMIT_IF_TOUCHED goes out as STOP_MARKET/STOP/TAKE_PROFIT_MARKET/
TAKE_PROFIT and a non-reduce-only one as TRIGGER_MARKET/TRIGGER_LIMIT.

TIF: GTC/IOC/FOK 1:1, ``PostOnly`` -> (GTC, post_only), empty/unknown -> GTC. Trigger (``workingType``):
MARK_PRICE->MARK_PRICE, CONTRACT_PRICE->LAST_PRICE, INDEX_PRICE->INDEX_PRICE, empty -> MARK_PRICE (the venue
default). Out: DEFAULT/LAST_PRICE->CONTRACT_PRICE.

Precision: contracts give ``pricePrecision``/``quantityPrecision`` as decimal places, so increments are
``10**-p`` and precisions are used as given. ``tradeMinQuantity`` is rounded *up* to the size increment if
finer; ``tradeMinUSDT`` becomes ``min_notional`` in the quote currency; ``margin_init`` = 1 / max leverage.

Fills: quantity/price from the LAST-FILL fields only (WS ``l``/``L``; fillHistory ``qty``; allFillOrders
``volume``). Cumulative ``z`` is never used as a fill quantity (it double counts partial fills): a WS event
without ``l``/``L`` yields no fill (:func:`parse_order_fill` returns None) and the fill must come from REST.
Trade id: WS ``t``, else ``td``, else synthesized ``<orderId>-<z>`` (cumulative qty is unique per fill of an
order and identical on a duplicate push). Commission: BingX's ``n``/``commission`` is negative for a cost;
Nautilus commission is positive for a cost, so the sign is flipped (exactly, on the string).

Timestamps: WS ``T``/``E`` and REST order times are UTC epoch ms. Fill REST times are strings:
``filledTime`` carries an explicit offset (``2023-12-16T20:58:36.000+0800``) and is converted exactly;
``filledTm`` (``2023-12-16T20:58:36Z``) is Beijing wall-clock time mislabelled ``Z`` - the docs' own sample
shows both with the same wall time for a query window ending 12:58:50 UTC - so it is read as UTC+8. A
``filledTime`` without an offset is read as Beijing time too.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_UP, Decimal
from typing import Any, Final, TypedDict, Unpack

import msgspec
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
from nautilus_trader.model.objects import AccountBalance, Currency, Money, Price, Quantity
from nautilus_trader.model.orders import Order as NautilusOrder

from adapters.bingx.schemas_base import Num as Num  # re-exported: importable from here before issue 15
from adapters.bingx.schemas_base import flag as flag
from adapters.bingx.schemas_base import num as num
from adapters.bingx.schemas_base import to_int as to_int
from adapters.bingx.schemas_rest import (
    BalanceItem,
    Contract,
    FillHistoryItem,
    FillOrderItem,
    Order,
    Position,
)
from adapters.bingx.schemas_user import (
    AccountUpdateData,
    OrderUpdateData,
    PositionUpdate,
)
from adapters.core.base.timestamps import (
    NANOS_PER_MS,
    NANOS_PER_SECOND,
    NANOS_PER_US,
    SECONDS_PER_DAY,
    ms_to_ns,
)
from adapters.core.orders.order_fill import OrderFill as OrderFill
from adapters.core.orders.order_fill import order_fill_to_fill_report
from adapters.core.orders.order_status import resolve_order_status
from adapters.core.orders.position_report import position_status_report
from adapters.core.orders.status_report import optional_price, order_status_report
from adapters.core.parse.decimal_parse import (
    account_balance,
    increment_from_decimals,
    is_nonzero,
    money_from_decimal,
    parse_currency,
    parse_money,
    parse_price,
    parse_quantity,
    to_decimal,
)
from adapters.core.parse.instrument_ids import PERP_SUFFIX as PERP_SUFFIX
from adapters.core.parse.instrument_ids import PerpInstrumentIds, strip_perp_suffix
from adapters.core.parse.instrument_ids import make_position_id as _position_id
from adapters.core.parse.venue_vocabulary import VenueVocabulary
from adapters.core.parse.wire_values import check_decimal_text, safe_identifier

_log = logging.getLogger(__name__)

BINGX_VENUE: Final = Venue("BINGX")
DEFAULT_MAKER_FEE: Final = Decimal("0.0002")
DEFAULT_TAKER_FEE: Final = Decimal("0.0005")
BEIJING: Final = timezone(timedelta(hours=8))
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# --------------------------------------------------------------------------------------------------
# Enum maps
# --------------------------------------------------------------------------------------------------

ORDER_SIDE: Final = {"BUY": OrderSide.BUY, "SELL": OrderSide.SELL}

ORDER_TYPE: Final = {
    "LIMIT": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP": OrderType.STOP_LIMIT,
    "TRIGGER_LIMIT": OrderType.STOP_LIMIT,
    "STOP_MARKET": OrderType.STOP_MARKET,
    "TRIGGER_MARKET": OrderType.STOP_MARKET,
    "TRIGGER_REVERSE_MARKET": OrderType.STOP_MARKET,
    "TAKE_PROFIT": OrderType.LIMIT_IF_TOUCHED,
    "TAKE_PROFIT_MARKET": OrderType.MARKET_IF_TOUCHED,
    "TRAILING_STOP_MARKET": OrderType.TRAILING_STOP_MARKET,
    "TRAILING_TP_SL": OrderType.TRAILING_STOP_MARKET,
    "LIQUIDATION": OrderType.MARKET,
}

# value: (TimeInForce, post_only)
TIME_IN_FORCE: Final = {
    "GTC": (TimeInForce.GTC, False),
    "IOC": (TimeInForce.IOC, False),
    "FOK": (TimeInForce.FOK, False),
    "POSTONLY": (TimeInForce.GTC, True),
}

ORDER_STATUS: Final = {
    "NEW": OrderStatus.ACCEPTED,
    "PENDING": OrderStatus.ACCEPTED,
    "RUNNING": OrderStatus.ACCEPTED,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "CANCELLED": OrderStatus.CANCELED,
    "EXPIRED": OrderStatus.EXPIRED,
    "FAILED": OrderStatus.REJECTED,
}

TRIGGER_TYPE: Final = {
    "MARK_PRICE": TriggerType.MARK_PRICE,
    "CONTRACT_PRICE": TriggerType.LAST_PRICE,
    "INDEX_PRICE": TriggerType.INDEX_PRICE,
}

POSITION_SIDE: Final = {"LONG": PositionSide.LONG, "SHORT": PositionSide.SHORT, "BOTH": PositionSide.FLAT}

EXEC_NEW: Final = "NEW"
EXEC_TRADE: Final = "TRADE"
EXEC_CANCELED: Final = "CANCELED"
EXEC_CALCULATED: Final = "CALCULATED"
EXEC_EXPIRED: Final = "EXPIRED"

_MARKET_LIKE: Final = frozenset(
    {OrderType.MARKET, OrderType.STOP_MARKET, OrderType.MARKET_IF_TOUCHED, OrderType.TRAILING_STOP_MARKET}
)

# BingX spells its enum values in mixed case across endpoints (``PostOnly``, ``Maker``): look up upper-cased.
_vocab = VenueVocabulary("BingX", _log)
_warn_unknown = _vocab.warn_unknown


def parse_order_side(value: str) -> OrderSide:
    return _vocab.lookup(ORDER_SIDE, value.upper(), "order side", OrderSide.NO_ORDER_SIDE, value)


def parse_order_type(value: str | None) -> OrderType:
    return _vocab.lookup(ORDER_TYPE, (value or "").upper(), "order type", OrderType.MARKET, str(value))


def parse_time_in_force(value: str | None) -> tuple[TimeInForce, bool]:
    """``(time_in_force, post_only)``; empty -> GTC."""
    if not value:
        return TimeInForce.GTC, False
    return _vocab.lookup(TIME_IN_FORCE, value.upper(), "time in force", (TimeInForce.GTC, False), value)


def parse_trigger_type(value: str | None) -> TriggerType:
    if not value:
        return TriggerType.MARK_PRICE
    return _vocab.lookup(TRIGGER_TYPE, value.upper(), "working type", TriggerType.MARK_PRICE, value)


def parse_order_status(
    value: str | None, quantity: Decimal, filled: Decimal, treat_expired_as_canceled: bool = False
) -> OrderStatus:
    status = ORDER_STATUS.get((value or "").upper())
    if status is None:
        _warn_unknown("order status", str(value))
    return resolve_order_status(status, quantity, filled, treat_expired_as_canceled)


def parse_liquidity_side(role: str | None) -> LiquiditySide:
    r = (role or "").lower()
    if r == "maker":
        return LiquiditySide.MAKER
    if r == "taker":
        return LiquiditySide.TAKER
    return LiquiditySide.NO_LIQUIDITY_SIDE


# -- outbound ------------------------------------------------------------------------------------

_OUT_TYPE: Final = {
    (OrderType.MARKET, False): "MARKET",
    (OrderType.MARKET, True): "MARKET",
    (OrderType.LIMIT, False): "LIMIT",
    (OrderType.LIMIT, True): "LIMIT",
    (OrderType.STOP_MARKET, False): "TRIGGER_MARKET",
    (OrderType.STOP_MARKET, True): "STOP_MARKET",
    (OrderType.STOP_LIMIT, False): "TRIGGER_LIMIT",
    (OrderType.STOP_LIMIT, True): "STOP",
    (OrderType.MARKET_IF_TOUCHED, False): "TRIGGER_MARKET",
    (OrderType.MARKET_IF_TOUCHED, True): "TAKE_PROFIT_MARKET",
    (OrderType.LIMIT_IF_TOUCHED, False): "TRIGGER_LIMIT",
    (OrderType.LIMIT_IF_TOUCHED, True): "TAKE_PROFIT",
    (OrderType.TRAILING_STOP_MARKET, False): "TRAILING_STOP_MARKET",
    (OrderType.TRAILING_STOP_MARKET, True): "TRAILING_STOP_MARKET",
}


def to_bingx_order_type(order_type: OrderType, reduce_only: bool) -> str:
    """Nautilus order type -> BingX ``type`` (ValueError if unsupported)."""
    out = _OUT_TYPE.get((order_type, reduce_only))
    if out is None:
        raise ValueError(f"order type {order_type!r} is not supported by BingX")
    return out


def to_bingx_time_in_force(tif: TimeInForce, post_only: bool) -> str:
    if post_only:
        return "PostOnly"
    if tif == TimeInForce.GTC:
        return "GTC"
    if tif == TimeInForce.IOC:
        return "IOC"
    if tif == TimeInForce.FOK:
        return "FOK"
    raise ValueError(f"time in force {tif!r} is not supported by BingX")


def to_bingx_working_type(trigger_type: TriggerType) -> str:
    if trigger_type in (TriggerType.DEFAULT, TriggerType.LAST_PRICE, TriggerType.NO_TRIGGER):
        return "CONTRACT_PRICE"
    if trigger_type == TriggerType.MARK_PRICE:
        return "MARK_PRICE"
    if trigger_type == TriggerType.INDEX_PRICE:
        return "INDEX_PRICE"
    raise ValueError(f"trigger type {trigger_type!r} is not supported by BingX")


def to_bingx_position_side(order_side: OrderSide, reduce_only: bool, hedge_mode: bool) -> str:
    """One-way: BOTH. Hedge: opening BUY/closing SELL -> LONG, opening SELL/closing BUY -> SHORT."""
    if not hedge_mode:
        return "BOTH"
    is_buy = order_side == OrderSide.BUY
    return "LONG" if is_buy != reduce_only else "SHORT"


# --------------------------------------------------------------------------------------------------
# Outbound: request parameters (the REST client sends them; :func:`new_order_args` below maps a
# NautilusTrader order to the arguments of :func:`place_order_params`)
# --------------------------------------------------------------------------------------------------

MAX_CLIENT_ORDER_ID_LEN: Final = 40
# No float: money is never formatted through one (the REST client refuses it too).
ParamValue = str | int | bool | Decimal | None


def normalize_client_order_id(value: str) -> str:
    """BingX stores client order ids lowercased (1-40 chars): send them so, and echoes compare equal."""
    if not 1 <= len(value) <= MAX_CLIENT_ORDER_ID_LEN:
        raise ValueError(f"clientOrderId must be 1-{MAX_CLIENT_ORDER_ID_LEN} characters, was {len(value)}")
    return value.lower()


def json_param(value: Any) -> str | None:
    """A parameter whose value is JSON text (``takeProfit``, ``batchOrders``, id lists); None is absent."""
    if value is None:
        return None
    return msgspec.json.encode(value).decode()


class PlaceOrderArgs(TypedDict, total=False):
    """The optional arguments of a new order (:func:`place_order_params`)."""

    position_side: str
    quantity: str | Decimal | None
    price: str | Decimal | None
    stop_price: str | Decimal | None
    price_rate: str | Decimal | None
    activation_price: str | Decimal | None
    working_type: str | None
    time_in_force: str | None
    reduce_only: bool | None
    close_position: bool | None
    client_order_id: str | None
    stop_guaranteed: str | None
    take_profit: Mapping[str, Any] | None
    stop_loss: Mapping[str, Any] | None


def place_order_params(
    symbol: str, side: str, order_type: str, **args: Unpack[PlaceOrderArgs]
) -> dict[str, ParamValue]:
    """A new order: ``POST /openApi/swap/v2/trade/order`` params (``positionSide`` BOTH unless given)."""
    unknown = args.keys() - PlaceOrderArgs.__optional_keys__
    if unknown:
        raise TypeError(f"place_order() got unexpected keyword argument(s) {sorted(unknown)}")
    client_order_id = args.get("client_order_id")
    return {
        "symbol": symbol,
        "side": side,
        "positionSide": args.get("position_side", "BOTH"),
        "type": order_type,
        "quantity": args.get("quantity"),
        "price": args.get("price"),
        "stopPrice": args.get("stop_price"),
        "priceRate": args.get("price_rate"),
        "activationPrice": args.get("activation_price"),
        "workingType": args.get("working_type"),
        "timeInForce": args.get("time_in_force"),
        "reduceOnly": args.get("reduce_only"),
        "closePosition": args.get("close_position"),
        "clientOrderId": normalize_client_order_id(client_order_id) if client_order_id else None,
        "stopGuaranteed": args.get("stop_guaranteed"),
        "takeProfit": json_param(args.get("take_profit")),
        "stopLoss": json_param(args.get("stop_loss")),
    }


class OrderHistoryQuery(TypedDict, total=False):
    """The optional arguments of an order-history query (:func:`order_history_params`)."""

    order_id: int | None
    start_time: int | None
    end_time: int | None
    limit: int


def order_history_params(symbol: str | None, **query: Unpack[OrderHistoryQuery]) -> dict[str, ParamValue]:
    """``allOrders`` / ``fullOrder`` params (``limit`` 500 unless given); ``order_id`` asks for the orders
    after it."""
    unknown = query.keys() - OrderHistoryQuery.__optional_keys__
    if unknown:
        raise TypeError(f"order history query got unexpected keyword argument(s) {sorted(unknown)}")
    return {
        "symbol": symbol,
        "orderId": query.get("order_id"),
        "startTime": query.get("start_time"),
        "endTime": query.get("end_time"),
        "limit": query.get("limit", 500),
    }


def order_ref_params(symbol: str, order_id: int | None, client_order_id: str | None) -> dict[str, ParamValue]:
    """One order by venue id, else by client id (lowercased, as BingX stores it): cancel and query."""
    if order_id is None and not client_order_id:
        raise ValueError("order_id or client_order_id required")
    return {
        "symbol": symbol,
        "orderId": order_id,
        "clientOrderId": client_order_id.lower() if client_order_id and order_id is None else None,
    }


CONDITIONAL_TYPES: Final = frozenset(
    {
        OrderType.STOP_MARKET,
        OrderType.STOP_LIMIT,
        OrderType.MARKET_IF_TOUCHED,
        OrderType.LIMIT_IF_TOUCHED,
        OrderType.TRAILING_STOP_MARKET,
    }
)
_WIRE_SIDE: Final = {OrderSide.BUY: "BUY", OrderSide.SELL: "SELL"}


def new_order_args(
    order: NautilusOrder,
    params: dict[str, Any] | None,
    *,
    cid: str,
    hedge: bool,
    use_reduce_only: bool,
    quantity: Decimal | None = None,
    price: Price | None = None,
    trigger_price: Price | None = None,
) -> dict[str, Any]:
    """The ``place_order`` arguments of ``order`` under the venue client id ``cid`` (a replacement
    gives its own quantity, price and trigger). ValueError: BingX cannot place it."""
    reduce_only = bool(order.is_reduce_only)
    position_side = (
        str(params["position_side"]).upper()
        if params and params.get("position_side")
        else to_bingx_position_side(order.side, reduce_only, hedge)
    )
    qty = quantity if quantity is not None else order.quantity.as_decimal()
    out: dict[str, Any] = {
        "symbol": venue_symbol(order.instrument_id),
        "side": _WIRE_SIDE[order.side],
        "position_side": position_side,
        "quantity": f"{qty:f}",
        "client_order_id": cid,
    }
    if reduce_only and use_reduce_only and not hedge:
        out["reduce_only"] = True
    ot = order.order_type
    if ot == OrderType.MARKET:
        out["order_type"] = "MARKET"
        return out
    if ot == OrderType.LIMIT:
        out["order_type"] = "LIMIT"
        out["price"] = str(price or order.price)
        out["time_in_force"] = to_bingx_time_in_force(order.time_in_force, order.is_post_only)
        return out
    if ot not in CONDITIONAL_TYPES:
        raise ValueError(f"order type {ot.name}")
    out["order_type"] = to_bingx_order_type(ot, reduce_only)
    out["working_type"] = to_bingx_working_type(order.trigger_type)
    if ot == OrderType.TRAILING_STOP_MARKET:
        if order.trailing_offset_type != TrailingOffsetType.BASIS_POINTS:
            raise ValueError("trailing stops take a rate: use BASIS_POINTS offsets")
        out["price_rate"] = f"{Decimal(str(order.trailing_offset)) / 10_000:f}"
        activation = getattr(order, "activation_price", None) or trigger_price or order.trigger_price
        if activation is not None:
            out["activation_price"] = str(activation)
        return out
    out["stop_price"] = str(trigger_price or order.trigger_price)
    if order.has_price:
        out["price"] = str(price or order.price)
        if order.time_in_force != TimeInForce.GTC or order.is_post_only:
            out["time_in_force"] = to_bingx_time_in_force(order.time_in_force, order.is_post_only)
    return out


# --------------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------------

_IIDS: Final = PerpInstrumentIds(BINGX_VENUE)


def format_instrument_id(symbol: str, venue: Venue = BINGX_VENUE) -> InstrumentId:
    """``BTC-USDT`` -> ``BTC-USDT-PERP.BINGX``."""
    return _IIDS.get(symbol, venue)


def venue_symbol(instrument_id: InstrumentId) -> str:
    """Inverse of :func:`format_instrument_id`: ``BTC-USDT-PERP.BINGX`` -> ``BTC-USDT``."""
    return strip_perp_suffix(instrument_id)


def make_position_id(instrument_id: InstrumentId, position_side: str | None) -> PositionId:
    """Venue position id ``<instrument_id>-<LONG|SHORT|BOTH>`` (BingX spells sides in either case)."""
    return _position_id(instrument_id, position_side.upper() if position_side else None)


def parse_client_order_id(value: str | None) -> ClientOrderId | None:
    """The venue echoes our id lowercased; ``""`` means none. Map back via a lowercase-keyed table.
    An id NautilusTrader cannot hold (BingX accepts Chinese client ids from other tools) is
    dropped: the report still reaches the engine, which then names the order itself."""
    valid = safe_identifier(value)
    return ClientOrderId(valid) if valid else None


# --------------------------------------------------------------------------------------------------
# Small exact helpers
# --------------------------------------------------------------------------------------------------


def negate(s: str | None) -> str | None:
    """Exact sign flip of a decimal string (``"-0.05"`` -> ``"0.05"``, ``"0.1"`` -> ``"-0.1"``)."""
    if not s:
        return None
    check_decimal_text(s, "commission")  # "--0.1" or "+1" must not become a believable amount
    if s[0] == "-":
        return s[1:]
    return s if not is_nonzero(s) else f"-{s}"


def commission_money(value: str | None, currency: Currency) -> Money:
    """BingX fee (negative = cost) -> Nautilus commission (positive = cost)."""
    return parse_money(negate(value), currency)


def _abs(s: str) -> str:
    return s[1:] if s.startswith("-") else s


_ms_to_ns = ms_to_ns


def _dt_to_ns(dt: datetime) -> int:
    delta = dt - _EPOCH
    seconds = delta.days * SECONDS_PER_DAY + delta.seconds
    return seconds * NANOS_PER_SECOND + delta.microseconds * NANOS_PER_US


def parse_fill_time_ns(filled_time: str | None, filled_tm: str | None = None) -> int | None:
    """UTC ns from REST fill time strings (see module doc: ``filledTm``'s ``Z`` is really UTC+8)."""
    try:
        if filled_time:
            dt = datetime.fromisoformat(filled_time.strip())
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=BEIJING)
            return _dt_to_ns(dt)
        if filled_tm:
            text = filled_tm.strip()
            if text.endswith(("Z", "z")):
                text = text[:-1]
            dt = datetime.fromisoformat(text)
            return _dt_to_ns(dt.replace(tzinfo=BEIJING))
    except ValueError:
        _warn_unknown("fill time", f"{filled_time!r}/{filled_tm!r}")
    return None


# --------------------------------------------------------------------------------------------------
# contracts -> CryptoPerpetual
# --------------------------------------------------------------------------------------------------


def contract_to_perpetual(
    contract: Contract,
    ts_init: int,
    maker_fee: Decimal | None = None,
    taker_fee: Decimal | None = None,
    venue: Venue = BINGX_VENUE,
) -> CryptoPerpetual:
    """Contracts item -> ``CryptoPerpetual`` (fees: explicit > contract fields > defaults)."""
    if not contract.asset or not contract.currency:
        raise ValueError(f"{contract.symbol} has no asset/currency")
    price_precision = contract.pricePrecision
    size_precision = contract.quantityPrecision
    if price_precision < 0 or size_precision < 0:
        raise ValueError(f"{contract.symbol} has negative precision")
    tick = increment_from_decimals(price_precision)
    step = increment_from_decimals(size_precision)
    quote = parse_currency(contract.currency)
    min_qty_s = contract.tradeMinQuantity
    min_quantity = None
    if min_qty_s is not None and is_nonzero(min_qty_s):
        q = Decimal(min_qty_s).quantize(Decimal(step), rounding=ROUND_UP)
        min_quantity = Quantity.from_str(f"{q:f}")
    min_usdt = contract.tradeMinUSDT
    min_notional = money_from_decimal(Decimal(min_usdt), quote) if min_usdt and is_nonzero(min_usdt) else None
    max_lev = max(contract.maxLongLeverage or 0, contract.maxShortLeverage or 0)
    margin_init = Decimal(1) / Decimal(max_lev) if max_lev > 0 else Decimal(0)
    maker = maker_fee if maker_fee is not None else _fee(contract.makerFeeRate, DEFAULT_MAKER_FEE)
    taker = taker_fee if taker_fee is not None else _fee(contract.takerFeeRate, DEFAULT_TAKER_FEE)
    info: dict[str, Any] = msgspec.structs.asdict(contract)
    return CryptoPerpetual(
        instrument_id=format_instrument_id(contract.symbol, venue),
        raw_symbol=Symbol(contract.symbol),
        base_currency=parse_currency(contract.asset),
        quote_currency=quote,
        settlement_currency=quote,
        is_inverse=False,
        price_precision=price_precision,
        size_precision=size_precision,
        price_increment=Price.from_str(tick),
        size_increment=Quantity.from_str(step),
        ts_event=ts_init,
        ts_init=ts_init,
        min_quantity=min_quantity,
        min_notional=min_notional,
        margin_init=margin_init,
        margin_maint=Decimal(0),
        maker_fee=maker,
        taker_fee=taker,
        info=info,
    )


def _fee(s: str | None, default: Decimal) -> Decimal:
    return Decimal(s) if s is not None else default


# --------------------------------------------------------------------------------------------------
# REST orders -> OrderStatusReport
# --------------------------------------------------------------------------------------------------


def _trailing(
    order_type: OrderType, price_rate: str | None, distance: str | None
) -> tuple[Decimal | None, TrailingOffsetType]:
    if order_type != OrderType.TRAILING_STOP_MARKET:
        return None, TrailingOffsetType.NO_TRAILING_OFFSET
    if price_rate and is_nonzero(price_rate):
        return Decimal(price_rate) * 10_000, TrailingOffsetType.BASIS_POINTS
    if distance and is_nonzero(distance):
        return Decimal(distance), TrailingOffsetType.PRICE
    return None, TrailingOffsetType.NO_TRAILING_OFFSET


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
    """REST order (order / openOrders / allOrders / fullOrder / cancel) -> ``OrderStatusReport``.

    ValueError for an order with zero quantity and zero fill (``closePosition`` orders), which a report
    cannot represent.
    """
    filled_s = order.executedQty or "0"
    qty_s = order.quantity_s
    if not qty_s or not is_nonzero(qty_s):
        qty_s = filled_s
    if not is_nonzero(qty_s):
        raise ValueError(f"order {order.orderId} has zero quantity (closePosition?); no report possible")
    quantity_d = Decimal(qty_s)
    filled_d = to_decimal(filled_s)
    tif, post_only = parse_time_in_force(order.timeInForce)
    post_only = post_only or order.postOnly is True
    order_type = parse_order_type(order.type)
    price_s = order.price
    stop_s = order.stopPrice
    trailing_offset, trailing_type = _trailing(order_type, order.priceRate, price_s)
    trigger_price = None
    trigger_type = TriggerType.NO_TRIGGER
    if order_type == OrderType.TRAILING_STOP_MARKET:
        trigger_price = optional_price(order.activationPrice or order.actPrice or stop_s, price_precision)
        trigger_type = parse_trigger_type(order.workingType)
        price_s = None  # ``price`` is the trailing distance here
    elif stop_s and is_nonzero(stop_s):
        trigger_price = parse_price(stop_s, price_precision)
        trigger_type = parse_trigger_type(order.workingType)
    ts_accepted = _ms_to_ns(order.time, ts_init)
    return order_status_report(
        account_id,
        instrument_id,
        str(order.orderId),
        parse_order_side(order.side),
        order_type,
        tif,
        parse_order_status(order.status, quantity_d, filled_d, treat_expired_as_canceled),
        quantity=_abs(qty_s),
        filled_qty=_abs(filled_s),
        size_precision=size_precision,
        price_precision=price_precision,
        price=price_s,
        trigger_price=trigger_price,
        trigger_type=trigger_type,
        trailing_offset=trailing_offset,
        trailing_offset_type=trailing_type,
        avg_px=order.avgPrice,
        post_only=post_only,
        reduce_only=order.reduceOnly is True,
        ts_accepted=ts_accepted,
        ts_last=_ms_to_ns(order.updateTime, ts_accepted),
        ts_init=ts_init,
        client_order_id=parse_client_order_id(order.client_order_id),
        venue_position_id=venue_position_id,
    )


# --------------------------------------------------------------------------------------------------
# REST fills -> FillReport
# --------------------------------------------------------------------------------------------------


def fill_history_to_fill_report(
    item: FillHistoryItem,
    account_id: AccountId,
    instrument_id: InstrumentId,
    price_precision: int,
    size_precision: int,
    ts_init: int,
    client_order_id: ClientOrderId | None = None,
    venue_position_id: PositionId | None = None,
    default_commission_currency: str = "USDT",
) -> FillReport:
    """``fillHistory`` item -> ``FillReport`` (trade id ``tradeId``; qty from ``qty``, else ``volume``)."""
    qty_s = item.qty or item.volume
    price_s = item.price
    if not qty_s or not price_s:
        raise ValueError(f"fill of order {item.orderId} lacks qty/price")
    trade_id = item.tradeId
    if trade_id is None:
        raise ValueError(f"fill of order {item.orderId} lacks a tradeId")
    ts = parse_fill_time_ns(item.filledTime, item.filledTm)
    ccy = parse_currency(item.commissionAsset or default_commission_currency)
    return FillReport(
        account_id=account_id,
        instrument_id=instrument_id,
        venue_order_id=VenueOrderId(str(item.orderId)),
        trade_id=TradeId(str(trade_id)),
        order_side=parse_order_side(item.side),
        last_qty=parse_quantity(_abs(qty_s), size_precision),
        last_px=parse_price(price_s, price_precision, field="last fill price", positive=True),
        commission=commission_money(item.commission, ccy),
        liquidity_side=parse_liquidity_side(item.role),
        report_id=UUID4(),
        ts_event=ts if ts is not None else ts_init,
        ts_init=ts_init,
        client_order_id=client_order_id,
        venue_position_id=venue_position_id,
    )


MAX_TRADE_ID_LEN: Final = 36  # NautilusTrader TradeId limit


def bounded_trade_id(value: str) -> str:
    """``value`` if it fits a ``TradeId``, else a stable 32-hex-digit digest of it (also for text a
    ``TradeId`` cannot hold: its parts came from the wire)."""
    if len(value) <= MAX_TRADE_ID_LEN and safe_identifier(value) is not None:
        return value
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def synthesized_fill_trade_id(item: FillOrderItem) -> str:
    """allFillOrders has no trade id: ``<orderId>-<fill time ms>-<volume>-<price>`` (stable for the same
    row), digested when longer than a ``TradeId`` allows."""
    ts = parse_fill_time_ns(item.filledTime, item.filledTm)
    ms = ts // NANOS_PER_MS if ts is not None else 0
    return bounded_trade_id(f"{item.orderId}-{ms}-{item.volume or '0'}-{item.price or '0'}")


def fill_order_to_fill_report(
    item: FillOrderItem,
    account_id: AccountId,
    instrument_id: InstrumentId,
    price_precision: int,
    size_precision: int,
    ts_init: int,
    client_order_id: ClientOrderId | None = None,
    venue_position_id: PositionId | None = None,
) -> FillReport:
    """``allFillOrders`` item -> ``FillReport`` (synthesized trade id; liquidity side unknown)."""
    qty_s = item.volume
    price_s = item.price
    if not qty_s or not price_s:
        raise ValueError(f"fill of order {item.orderId} lacks volume/price")
    ts = parse_fill_time_ns(item.filledTime, item.filledTm)
    cid = client_order_id or parse_client_order_id(item.client_order_id)
    return FillReport(
        account_id=account_id,
        instrument_id=instrument_id,
        venue_order_id=VenueOrderId(str(item.orderId)),
        trade_id=TradeId(synthesized_fill_trade_id(item)),
        order_side=parse_order_side(item.side),
        last_qty=parse_quantity(_abs(qty_s), size_precision),
        last_px=parse_price(price_s, price_precision, field="last fill price", positive=True),
        commission=commission_money(item.commission, parse_currency(item.currency or "USDT")),
        liquidity_side=LiquiditySide.NO_LIQUIDITY_SIDE,
        report_id=UUID4(),
        ts_event=ts if ts is not None else ts_init,
        ts_init=ts_init,
        client_order_id=cid,
        venue_position_id=venue_position_id,
    )


# --------------------------------------------------------------------------------------------------
# Positions and balances
# --------------------------------------------------------------------------------------------------


def _position_side(position_side: str | None, amount: Decimal) -> PositionSide:
    """Hedge LONG/SHORT from ``positionSide`` (amounts are positive for SHORT); one-way BOTH from the sign."""
    if amount == 0:
        return PositionSide.FLAT
    ps = (position_side or "BOTH").upper()
    if ps == "LONG":
        return PositionSide.LONG
    if ps == "SHORT":
        return PositionSide.SHORT
    return PositionSide.LONG if amount > 0 else PositionSide.SHORT


def position_to_status_report(
    position: Position,
    account_id: AccountId,
    instrument_id: InstrumentId,
    size_precision: int,
    ts_init: int,
    venue_position_id: PositionId | None = None,
) -> PositionStatusReport:
    amt_s = position.positionAmt or "0"
    return position_status_report(
        account_id,
        instrument_id,
        _position_side(position.positionSide, to_decimal(amt_s)),
        amt_s,
        position.avgPrice,
        size_precision,
        _ms_to_ns(position.updateTime, ts_init),
        ts_init,
        venue_position_id,
    )


def position_update_to_status_report(
    p: PositionUpdate,
    account_id: AccountId,
    instrument_id: InstrumentId,
    size_precision: int,
    ts_event: int,
    ts_init: int,
    venue_position_id: PositionId | None = None,
) -> PositionStatusReport:
    """ACCOUNT_UPDATE ``P`` item -> ``PositionStatusReport`` (same side rules as REST)."""
    amt_s = p.position_amount or "0"
    return position_status_report(
        account_id,
        instrument_id,
        _position_side(p.position_side, to_decimal(amt_s)),
        amt_s,
        p.entry_price,
        size_precision,
        ts_event,
        ts_init,
        venue_position_id,
    )


def balances_to_account_balances(items: list[BalanceItem]) -> list[AccountBalance]:
    """v3 balance -> balances: total = ``balance`` (wallet), free = ``availableMargin``; all-zero skipped."""
    out: list[AccountBalance] = []
    for b in items:
        total = b.balance
        free = b.availableMargin
        if not is_nonzero(total) and not is_nonzero(free):
            continue
        out.append(account_balance(parse_currency(b.asset), total, free))
    return out


def account_update_to_balances(data: AccountUpdateData) -> list[AccountBalance]:
    """ACCOUNT_UPDATE ``B`` (changed assets only): total = ``wb``, free = ``cw`` (total when absent)."""
    out: list[AccountBalance] = []
    for b in data.balances or []:
        out.append(account_balance(parse_currency(b.asset), b.wallet_balance, b.cross_wallet_balance))
    return out


# --------------------------------------------------------------------------------------------------
# ORDER_TRADE_UPDATE
# --------------------------------------------------------------------------------------------------


def has_last_fill(o: OrderUpdateData) -> bool:
    """Both last-fill fields present and the quantity non-zero."""
    return is_nonzero(o.last_filled_qty) and o.last_filled_price is not None


def is_fill(o: OrderUpdateData) -> bool:
    """An execution (``x`` TRADE or CALCULATED) - with or without last-fill fields."""
    x = o.execution_type.upper()
    return x in (EXEC_TRADE, EXEC_CALCULATED)


def fill_trade_id(o: OrderUpdateData) -> str:
    """``t``, else ``td``, else ``<orderId>-<z>`` (see module doc)."""
    for tid in (o.trade_id, o.trade_id_alt):
        if tid:
            return str(tid)
    return bounded_trade_id(f"{o.order_id}-{o.cum_filled_qty or '0'}")


def _ws_liquidity(o: OrderUpdateData, order_type: OrderType) -> LiquiditySide:
    if o.is_maker is not None:
        return LiquiditySide.MAKER if o.is_maker else LiquiditySide.TAKER
    if order_type in _MARKET_LIKE:
        return LiquiditySide.TAKER
    return LiquiditySide.NO_LIQUIDITY_SIDE


def parse_order_fill(
    o: OrderUpdateData,
    price_precision: int,
    size_precision: int,
    quote_currency: Currency,
    venue_position_id: PositionId | None = None,
    ts_event_fallback: int = 0,
) -> OrderFill | None:
    """ORDER_TRADE_UPDATE execution -> fill args, or None when the event has no last-fill fields
    (``l``/``L``): the caller must then take the fill from REST, never from cumulative ``z``."""
    if not is_fill(o) or not has_last_fill(o):
        return None
    qty_s = o.last_filled_qty
    px_s = o.last_filled_price
    assert qty_s is not None and px_s is not None
    asset = o.commission_asset
    ccy = quote_currency if not asset or asset == quote_currency.code else parse_currency(asset)
    order_type = parse_order_type(o.order_type)
    return OrderFill(
        VenueOrderId(str(o.order_id)),
        venue_position_id,
        TradeId(fill_trade_id(o)),
        parse_order_side(o.side),
        order_type,
        # A stream fill quantity is never signed: a negative one is hostile, not a short.
        parse_quantity(qty_s, size_precision, field="last fill quantity"),
        parse_price(px_s, price_precision, field="last fill price", positive=True),
        quote_currency,
        commission_money(o.commission, ccy),
        _ws_liquidity(o, order_type),
        o.trade_time * NANOS_PER_MS if o.trade_time else ts_event_fallback,
    )


def order_update_to_fill_report(
    o: OrderUpdateData,
    account_id: AccountId,
    instrument_id: InstrumentId,
    price_precision: int,
    size_precision: int,
    quote_currency: Currency,
    ts_event: int,
    ts_init: int,
    venue_position_id: PositionId | None = None,
) -> FillReport | None:
    fill = parse_order_fill(o, price_precision, size_precision, quote_currency, venue_position_id, ts_event)
    if fill is None:
        return None
    return order_fill_to_fill_report(
        fill, account_id, instrument_id, ts_init, parse_client_order_id(o.client_order_id), venue_position_id
    )


def parse_update_status(o: OrderUpdateData, treat_expired_as_canceled: bool = False) -> OrderStatus:
    """Nautilus status of an ORDER_TRADE_UPDATE (quantities used only for unknown status values)."""
    return parse_order_status(
        o.order_status,
        to_decimal(o.original_qty),
        to_decimal(o.cum_filled_qty),
        treat_expired_as_canceled,
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
    filled_s = o.cum_filled_qty or "0"
    qty_s = o.original_qty
    if not qty_s or not is_nonzero(qty_s):
        qty_s = filled_s
    if not is_nonzero(qty_s):
        raise ValueError(f"order {o.order_id} has zero quantity; no report possible")
    order_type = parse_order_type(o.order_type)
    tif, post_only = parse_time_in_force(o.time_in_force)
    stop_s = o.stop_price
    price_s = o.original_price
    trigger_price = None
    trigger_type = TriggerType.NO_TRIGGER
    if stop_s and is_nonzero(stop_s):
        trigger_price = parse_price(stop_s, price_precision)
        trigger_type = parse_trigger_type(o.working_type)
    return order_status_report(
        account_id,
        instrument_id,
        str(o.order_id),
        parse_order_side(o.side),
        order_type,
        tif,
        parse_update_status(o, treat_expired_as_canceled),
        quantity=_abs(qty_s),
        filled_qty=_abs(filled_s),
        size_precision=size_precision,
        price_precision=price_precision,
        # A market order's ``p`` is not a limit price.
        price=None if order_type in _MARKET_LIKE else price_s,
        trigger_price=trigger_price,
        trigger_type=trigger_type,
        avg_px=o.avg_price,
        post_only=post_only,
        reduce_only=o.reduce_only is True,
        ts_accepted=_ms_to_ns(o.order_time, ts_event),
        ts_last=ts_event,
        ts_init=ts_init,
        client_order_id=parse_client_order_id(o.client_order_id),
        venue_position_id=venue_position_id,
    )
