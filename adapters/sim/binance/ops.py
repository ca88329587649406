"""Binance order operations shared by REST and the WebSocket API: parameter decoding, engine
calls and the translation of refusals into Binance codes."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from adapters.sim.binance import errors, wire
from adapters.sim.binance.errors import BinanceError
from adapters.sim.model import (
    AlgoRequest,
    ExecType,
    Order,
    OrderEvent,
    OrderRequest,
    OrderType,
    PositionSide,
    Side,
    SymbolSpec,
    TimeInForce,
    VenueReject,
    WorkingType,
)
from adapters.sim.params import Params as ParamsBase

if TYPE_CHECKING:
    from adapters.sim.binance.app import BinanceVenue

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")

CONDITIONAL_TYPES = frozenset(
    {
        OrderType.STOP,
        OrderType.STOP_MARKET,
        OrderType.TAKE_PROFIT,
        OrderType.TAKE_PROFIT_MARKET,
        OrderType.TRAILING_STOP_MARKET,
    }
)
_CLIENT_ID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_DECIMAL_RE = re.compile(r"^-?([0-9]{1,20})(\.[0-9]{1,20})?$")
_SCIENTIFIC_RE = re.compile(r"^-?[0-9]{1,20}(\.[0-9]{1,20})?[eE][-+]?[0-9]{1,3}$")
STP_MODES = ("NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH")
PRICE_MATCH = (
    "NONE",
    "OPPONENT",
    "OPPONENT_5",
    "OPPONENT_10",
    "OPPONENT_20",
    "QUEUE",
    "QUEUE_5",
    "QUEUE_10",
    "QUEUE_20",
)


class Params(ParamsBase):
    """Request parameters as strings (REST form values, or WS-API JSON values stringified)."""

    def missing(self, name: str) -> BinanceError:
        return errors.mandatory(name)

    def not_integer(self, name: str) -> BinanceError:
        return BinanceError(
            -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]+$'."
        )

    def not_flag(self, name: str) -> BinanceError:
        return errors.invalid_param(name)

    def dec(self, name: str, required: bool = False) -> Decimal | None:
        raw = self.req(name) if required else self.get(name)
        if raw is None:
            return None
        if not _DECIMAL_RE.match(raw):
            illegal = BinanceError(
                -1100,
                f"Illegal characters found in parameter '{name}'; legal range is "
                "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
            )
            # Tolerate 1e-05 style from float-formatting clients; not the rest of what Decimal()
            # reads ("1_000", " 1", "NaN").
            if not _SCIENTIFIC_RE.match(raw):
                raise illegal
            try:
                value = Decimal(raw)
            except InvalidOperation:
                raise illegal from None
            # NaN, Infinity and 1e999999 are not numbers the venue reads (the engine would fail).
            if not value.is_finite() or not -20 <= value.adjusted() <= 20:
                raise illegal
            return value
        return Decimal(raw)

    def enum(self, name: str, cls: type[_E], code: int, msg: str, required: bool = False) -> _E | None:
        raw = self.req(name) if required else self.get(name)
        if raw is None:
            return None
        try:
            return cls(raw.upper())
        except ValueError:
            raise BinanceError(code, msg) from None

    def symbol(self, venue: BinanceVenue, required: bool = True) -> str | None:
        raw = self.req("symbol") if required else self.get("symbol")
        if raw is None:
            return None
        symbol = raw.upper()
        if symbol not in venue.specs:
            raise BinanceError(errors.BAD_SYMBOL, "Invalid symbol.")
        return symbol

    def client_id(self, name: str) -> str | None:
        raw = self.get(name)
        if raw is not None and not _CLIENT_ID_RE.match(raw):
            raise BinanceError(
                -1100,
                f"Illegal characters found in parameter '{name}'; legal range is "
                "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
            )
        return raw


def side_of(p: Params) -> Side:
    side = p.enum("side", Side, -1117, "Invalid side.", required=True)
    assert side is not None
    return side


def call(
    fn: Callable[[], _T],
    context: str,
    spec: SymbolSpec | None = None,
    *,
    price: Decimal | None = None,
    quantity: Decimal | None = None,
) -> _T:
    try:
        return fn()
    except VenueReject as reject:
        raise errors.from_reject(reject, context, spec=spec, price=price, quantity=quantity) from None


def _price_match(venue: BinanceVenue, symbol: str, side: Side, mode: str) -> Decimal:
    book = venue.market.books.get(symbol)
    depth = int(mode.rsplit("_", 1)[1]) if "_" in mode else 1
    opponent = mode.startswith("OPPONENT")
    use_asks = (side is Side.BUY) == opponent
    if book is not None:
        bids, asks = book.top(depth)
        rows = asks if use_asks else bids
        if rows:
            return rows[-1][0]
    return venue.engine.last_price(symbol)


def _extras(p: Params) -> wire.OrderExtras:
    stp = (p.get("selfTradePreventionMode") or wire.DEFAULT_STP).upper()
    if stp not in STP_MODES:
        raise errors.invalid_param("selfTradePreventionMode")
    pm = (p.get("priceMatch") or "NONE").upper()
    if pm not in PRICE_MATCH:
        raise errors.invalid_param("priceMatch")
    return wire.OrderExtras(stp=stp, price_match=pm, price_protect=bool(p.flag("priceProtect")))


# --- regular orders ----------------------------------------------------------------------------


def place_order(
    venue: BinanceVenue, account_id: str, p: Params, *, default_resp: str = "ACK"
) -> dict[str, Any]:
    symbol = p.symbol(venue)
    assert symbol is not None
    spec = venue.specs[symbol]
    side = side_of(p)
    otype = p.enum("type", OrderType, -1116, "Invalid orderType.", required=True)
    assert otype is not None
    if otype in CONDITIONAL_TYPES:
        raise BinanceError(
            -4120,
            "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
        )
    if otype not in (OrderType.LIMIT, OrderType.MARKET):
        raise BinanceError(-1116, "Invalid orderType.")
    position_side = p.enum("positionSide", PositionSide, -4006, "Invalid position side.") or PositionSide.BOTH
    extras = _extras(p)
    quantity = p.dec("quantity", required=True)
    assert quantity is not None
    price = p.dec("price")
    tif = p.enum("timeInForce", TimeInForce, -1115, "Invalid timeInForce.")
    if otype is OrderType.LIMIT:
        if extras.price_match != "NONE":
            price = _price_match(venue, symbol, side, extras.price_match)
        elif price is None:
            raise errors.mandatory("price")
        if tif is None:
            raise errors.mandatory("timeInForce")
    elif price is not None:
        raise BinanceError(-1106, "Parameter 'price' sent when not required.")
    gtd = p.integer("goodTillDate")
    resp_type = (p.get("newOrderRespType") or default_resp).upper()
    if resp_type not in ("ACK", "RESULT"):
        raise errors.invalid_param("newOrderRespType")
    request = OrderRequest(
        symbol=symbol,
        side=side,
        type=otype,
        quantity=quantity,
        price=price,
        time_in_force=tif or TimeInForce.GTC,
        position_side=position_side,
        reduce_only=bool(p.flag("reduceOnly")),
        client_order_id=p.client_id("newClientOrderId"),
        good_till_date_ms=gtd,
    )
    with venue.capturing(extras) as captured:
        order = call(
            lambda: venue.engine.place_order(account_id, request),
            errors.CTX_PLACE,
            spec,
            price=price,
            quantity=quantity,
        )
    if resp_type == "ACK":
        # ACK reports the order as accepted, before matching (as Binance's ACK does).
        for ev in captured:
            if ev.exec_type is ExecType.NEW and ev.order.order_id == order.order_id:
                order = ev.order
                break
    return wire.order_json(order, spec, venue.extras_for(order.order_id), action=True)


def _order_ref(p: Params) -> tuple[int | None, str | None]:
    order_id = p.integer("orderId")
    client_id = p.get("origClientOrderId")
    if order_id is None and client_id is None:
        raise BinanceError(
            errors.MANDATORY_PARAM,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        )
    return order_id, client_id


def cancel_order(venue: BinanceVenue, account_id: str, p: Params) -> dict[str, Any]:
    symbol = p.symbol(venue)
    assert symbol is not None
    order_id, client_id = _order_ref(p)
    order = call(
        lambda: venue.engine.cancel_order(account_id, symbol, order_id=order_id, client_order_id=client_id),
        errors.CTX_CANCEL,
    )
    return wire.order_json(order, venue.specs[symbol], venue.extras_for(order.order_id), action=True)


def modify_order(venue: BinanceVenue, account_id: str, p: Params) -> dict[str, Any]:
    symbol = p.symbol(venue)
    assert symbol is not None
    spec = venue.specs[symbol]
    order_id, client_id = _order_ref(p)
    side = side_of(p)
    quantity = p.dec("quantity", required=True)
    pm = (p.get("priceMatch") or "NONE").upper()
    if pm not in PRICE_MATCH:
        raise errors.invalid_param("priceMatch")
    price = _price_match(venue, symbol, side, pm) if pm != "NONE" else p.dec("price", required=True)
    assert quantity is not None and price is not None
    order = call(
        lambda: venue.engine.modify_order(
            account_id,
            symbol,
            order_id=order_id,
            client_order_id=client_id,
            side=side,
            quantity=quantity,
            price=price,
        ),
        errors.CTX_MODIFY,
        spec,
        price=price,
        quantity=quantity,
    )
    return wire.order_json(order, spec, venue.extras_for(order.order_id), action=True)


def query_order(
    venue: BinanceVenue, account_id: str, p: Params, *, open_only: bool = False
) -> dict[str, Any]:
    symbol = p.symbol(venue)
    assert symbol is not None
    order_id, client_id = _order_ref(p)
    order: Order = call(
        lambda: venue.engine.get_order(account_id, symbol, order_id=order_id, client_order_id=client_id),
        errors.CTX_QUERY,
    )
    if open_only and not order.is_open:
        raise BinanceError(-2013, "Order does not exist.")
    return wire.order_json(order, venue.specs[symbol], venue.extras_for(order.order_id))


# --- algo orders -------------------------------------------------------------------------------


def place_algo(venue: BinanceVenue, account_id: str, p: Params) -> dict[str, Any]:
    algo_type = p.req("algoType").upper()
    if algo_type != "CONDITIONAL":
        raise errors.invalid_param("algoType")
    symbol = p.symbol(venue)
    assert symbol is not None
    spec = venue.specs[symbol]
    side = side_of(p)
    otype = p.enum("type", OrderType, -1116, "Invalid orderType.", required=True)
    if otype not in CONDITIONAL_TYPES:
        raise BinanceError(-1116, "Invalid orderType.")
    assert otype is not None
    position_side = p.enum("positionSide", PositionSide, -4006, "Invalid position side.") or PositionSide.BOTH
    reduce_only = bool(p.flag("reduceOnly"))
    quantity = p.dec("quantity")
    if p.flag("closePosition"):
        # Close-all: the simulator sizes it to the position now (Binance sizes it at trigger).
        pos = [x for x in venue.engine.positions(account_id, symbol) if x.position_side is position_side]
        quantity = abs(pos[0].amount) if pos else Decimal(0)
        if quantity == 0:
            raise BinanceError(-2022, "ReduceOnly Order is rejected.")
        reduce_only = position_side is PositionSide.BOTH
    if quantity is None:
        raise errors.mandatory("quantity")
    trigger = p.dec("triggerPrice", required=otype is not OrderType.TRAILING_STOP_MARKET)
    price = p.dec("price")
    if otype in (OrderType.STOP, OrderType.TAKE_PROFIT) and price is None:
        raise errors.mandatory("price")
    working = p.enum("workingType", WorkingType, -1130, "Data sent for parameter 'workingType' is not valid.")
    request = AlgoRequest(
        symbol=symbol,
        side=side,
        type=otype,
        quantity=quantity,
        trigger_price=trigger,
        price=price,
        time_in_force=p.enum("timeInForce", TimeInForce, -1115, "Invalid timeInForce.") or TimeInForce.GTC,
        position_side=position_side,
        reduce_only=reduce_only,
        working_type=working or WorkingType.CONTRACT_PRICE,
        activate_price=p.dec("activatePrice") or p.dec("activationPrice"),
        callback_rate=p.dec("callbackRate"),
        client_algo_id=p.client_id("clientAlgoId"),
        good_till_date_ms=p.integer("goodTillDate"),
    )
    cap = venue.settings.max_open_conditional_orders
    if venue.engine.open_algo_count(account_id) >= cap:
        # Account-wide, across all symbols (see errors.max_stop_orders for the source).
        raise errors.max_stop_orders()
    algo = call(
        lambda: venue.engine.place_algo(account_id, request),
        errors.CTX_PLACE,
        spec,
        price=price or trigger,
        quantity=quantity,
    )
    return wire.algo_json(algo, spec)


def _algo_ref(p: Params) -> tuple[int | None, str | None]:
    algo_id = p.integer("algoId")
    client_id = p.get("clientAlgoId")
    if algo_id is None and client_id is None:
        raise BinanceError(
            errors.MANDATORY_PARAM, "Param 'clientAlgoId' or 'algoId' must be sent, but both were empty/null!"
        )
    return algo_id, client_id


def cancel_algo(venue: BinanceVenue, account_id: str, p: Params) -> dict[str, Any]:
    algo_id, client_id = _algo_ref(p)
    algo = call(
        lambda: venue.engine.cancel_algo(account_id, algo_id=algo_id, client_algo_id=client_id),
        errors.CTX_CANCEL,
    )
    return {"algoId": algo.algo_id, "clientAlgoId": algo.client_algo_id, "code": "200", "msg": "success"}


def query_algo(venue: BinanceVenue, account_id: str, p: Params) -> dict[str, Any]:
    algo_id, client_id = _algo_ref(p)
    algo = call(
        lambda: venue.engine.get_algo(account_id, algo_id=algo_id, client_algo_id=client_id), errors.CTX_QUERY
    )
    return wire.algo_json(algo, venue.specs.get(algo.symbol))


def captured_new(events: list[OrderEvent], order_id: int) -> Order | None:
    for ev in events:
        if ev.exec_type is ExecType.NEW and ev.order.order_id == order_id:
            return ev.order
    return None
