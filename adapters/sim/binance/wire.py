"""Engine objects → Binance USD-M JSON (REST bodies, user-data events, market events).

Field sets and JSON types follow the venue's documentation and captured payloads: prices and
quantities are strings, ids and times are ints, flags are bools, ``er`` is a string.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.sim.model import (
    AccountConfigEvent,
    AccountEvent,
    AlgoOrder,
    AlgoStatus,
    BookDelta,
    Kline,
    MarginCallEvent,
    MarginType,
    MarkPriceEvent,
    MarkPriceSnapshot,
    Order,
    OrderEvent,
    OrderType,
    Position,
    PublicTrade,
    SymbolSpec,
    Trade,
)

ZERO = Decimal(0)
DEFAULT_STP = "EXPIRE_MAKER"


def fmt(value: Decimal | int | None, places: int) -> str:
    """At least ``places`` decimals; more only when the value really has them."""
    if value is None:
        value = ZERO
    d = Decimal(value)
    exp = Decimal(1).scaleb(-places) if places > 0 else Decimal(1)
    q = d.quantize(exp)
    if q == d:
        return f"{q:.{places}f}"
    return format(d.normalize(), "f")


@dataclass(slots=True)
class OrderExtras:
    """Request attributes the engine does not model but Binance echoes back."""

    stp: str = DEFAULT_STP
    price_match: str = "NONE"
    price_protect: bool = False
    close_position: bool = False


@dataclass(slots=True)
class Fmt:
    spec: SymbolSpec | None

    def px(self, value: Decimal | None) -> str:
        return fmt(value, self.spec.price_precision if self.spec else 2)

    def qty(self, value: Decimal | None) -> str:
        return fmt(value, self.spec.quantity_precision if self.spec else 3)

    def quote(self, value: Decimal | None) -> str:
        return fmt(value, 5)


def plain(value: Decimal | None) -> str:
    if value is None:
        return "0"
    return format(Decimal(value).normalize(), "f") if value != 0 else "0"


# --- REST ------------------------------------------------------------------------------------


def order_json(
    o: Order, spec: SymbolSpec | None, extras: OrderExtras | None = None, *, action: bool = False
) -> dict[str, Any]:
    f = Fmt(spec)
    x = extras or OrderExtras()
    d: dict[str, Any] = {
        "orderId": o.order_id,
        "symbol": o.symbol,
        "status": str(o.status),
        "clientOrderId": o.client_order_id,
        "price": f.px(o.price),
        "avgPrice": f.px(o.avg_price),
        "origQty": f.qty(o.orig_qty),
        "executedQty": f.qty(o.executed_qty),
    }
    if action:
        d["cumQty"] = f.qty(o.executed_qty)
    d.update(
        {
            "cumQuote": f.quote(o.cum_quote),
            "timeInForce": str(o.time_in_force),
            "type": str(o.type),
            "reduceOnly": o.reduce_only,
            "closePosition": x.close_position,
            "side": str(o.side),
            "positionSide": str(o.position_side),
            "stopPrice": f.px(o.stop_price),
            "workingType": str(o.working_type),
            "priceProtect": x.price_protect,
            "origType": str(o.orig_type),
            "priceMatch": x.price_match,
            "selfTradePreventionMode": x.stp,
            "goodTillDate": o.good_till_date_ms,
        }
    )
    if not action:
        d["time"] = o.create_time_ms
    d["updateTime"] = o.update_time_ms
    return d


def algo_json(a: AlgoOrder, spec: SymbolSpec | None) -> dict[str, Any]:
    f = Fmt(spec)
    avg, executed = a.avg_price, a.executed_qty
    return {
        "algoId": a.algo_id,
        "clientAlgoId": a.client_algo_id,
        "algoType": "CONDITIONAL",
        "orderType": str(a.type),
        "symbol": a.symbol,
        "side": str(a.side),
        "positionSide": str(a.position_side),
        "timeInForce": str(a.time_in_force),
        "quantity": f.qty(a.quantity),
        "algoStatus": str(a.status),
        "actualOrderId": str(a.actual_order_id) if a.actual_order_id is not None else "",
        "actualPrice": f.px(avg),
        "executedQty": f.qty(executed),
        "triggerPrice": f.px(a.trigger_price),
        "price": f.px(a.price),
        "icebergQuantity": None,
        "tpTriggerPrice": "0.000",
        "tpPrice": "0.000",
        "slTriggerPrice": "0.000",
        "slPrice": "0.000",
        "tpOrderType": "",
        "selfTradePreventionMode": DEFAULT_STP,
        "workingType": str(a.working_type),
        "priceMatch": "NONE",
        "closePosition": False,
        "priceProtect": False,
        "reduceOnly": a.reduce_only,
        "activatePrice": f.px(a.activate_price) if a.activate_price is not None else "",
        "callbackRate": plain(a.callback_rate) if a.callback_rate is not None else "",
        "createTime": a.create_time_ms,
        "updateTime": a.update_time_ms,
        "triggerTime": a.trigger_time_ms,
        "goodTillDate": a.good_till_date_ms,
    }


def user_trade_json(t: Trade, spec: SymbolSpec | None, margin_asset: str) -> dict[str, Any]:
    f = Fmt(spec)
    return {
        "symbol": t.symbol,
        "id": t.trade_id,
        "orderId": t.order_id,
        "side": str(t.side),
        "price": f.px(t.price),
        "qty": f.qty(t.qty),
        "realizedPnl": fmt(t.realized_pnl, 8),
        "marginAsset": margin_asset,
        "quoteQty": f.quote(t.quote_qty),
        "commission": fmt(t.commission, 8),
        "commissionAsset": t.commission_asset,
        "time": t.time_ms,
        "positionSide": str(t.position_side),
        "buyer": str(t.side) == "BUY",
        "maker": t.maker,
    }


def margin_type_wire(mt: MarginType | str) -> str:
    return "isolated" if str(mt) == MarginType.ISOLATED.value else "cross"


# --- user data events ----------------------------------------------------------------------


def order_trade_update(
    ev: OrderEvent, spec: SymbolSpec | None, extras: OrderExtras | None, margin_asset: str
) -> dict[str, Any]:
    o = ev.order
    t = ev.trade
    f = Fmt(spec)
    x = extras or OrderExtras()
    trade_time = t.time_ms if t is not None else ev.time_ms
    body: dict[str, Any] = {
        "s": o.symbol,
        "c": o.client_order_id,
        "S": str(o.side),
        "o": str(o.type),
        "f": str(o.time_in_force),
        "q": f.qty(o.orig_qty),
        "p": f.px(o.price),
        "ap": f.px(o.avg_price),
        "sp": f.px(o.stop_price),
        "x": str(ev.exec_type),
        "X": str(o.status),
        "i": o.order_id,
        "l": f.qty(t.qty if t is not None else ZERO),
        "z": f.qty(o.executed_qty),
        "L": f.px(t.price if t is not None else ZERO),
        "n": fmt(t.commission, 8) if t is not None else "0",
        "N": t.commission_asset if t is not None else margin_asset,
        "T": trade_time,
        "t": t.trade_id if t is not None else 0,
        "b": "0",
        "a": "0",
        "m": t.maker if t is not None else False,
        "R": o.reduce_only,
        "wt": str(o.working_type),
        "ot": str(o.orig_type),
        "ps": str(o.position_side),
        "cp": x.close_position,
    }
    if o.orig_type is OrderType.TRAILING_STOP_MARKET:
        body["AP"] = "0"
        body["cr"] = "0"
    body.update(
        {
            "rp": fmt(t.realized_pnl, 8) if t is not None else "0",
            "pP": x.price_protect,
            "si": 0,
            "ss": 0,
            "V": x.stp,
            "pm": x.price_match,
            "gtd": o.good_till_date_ms,
            "er": str(o.expire_reason),
        }
    )
    return {"e": "ORDER_TRADE_UPDATE", "T": trade_time, "E": ev.time_ms, "o": body}


def trade_lite(ev: OrderEvent, spec: SymbolSpec | None) -> dict[str, Any] | None:
    t = ev.trade
    if t is None:
        return None
    o = ev.order
    f = Fmt(spec)
    return {
        "e": "TRADE_LITE",
        "E": ev.time_ms,
        "T": t.time_ms,
        "s": o.symbol,
        "q": f.qty(o.orig_qty),
        "p": f.px(o.price),
        "m": t.maker,
        "c": o.client_order_id,
        "S": str(o.side),
        "L": f.px(t.price),
        "l": f.qty(t.qty),
        "t": t.trade_id,
        "i": o.order_id,
    }


def algo_update(a: AlgoOrder, time_ms: int, spec: SymbolSpec | None) -> dict[str, Any]:
    f = Fmt(spec)
    avg, executed, actual_type = a.avg_price, a.executed_qty, ""
    if a.actual_order_id is not None:
        actual_type = "LIMIT" if a.type in (OrderType.STOP, OrderType.TAKE_PROFIT) else "MARKET"
    body: dict[str, Any] = {
        "caid": a.client_algo_id,
        "aid": a.algo_id,
        "at": "CONDITIONAL",
        "o": str(a.type),
        "s": a.symbol,
        "S": str(a.side),
        "ps": str(a.position_side),
        "f": str(a.time_in_force),
        "q": f.qty(a.quantity),
        "X": str(a.status),
        "ai": str(a.actual_order_id) if a.actual_order_id is not None else "",
        "ap": f.px(avg),
        "aq": f.qty(executed),
        "act": actual_type or "0",
        "tp": f.px(a.trigger_price),
        "p": f.px(a.price),
        "V": DEFAULT_STP,
        "wt": str(a.working_type),
        "pm": "NONE",
        "cp": False,
        "pP": False,
        "R": a.reduce_only,
        "tt": a.trigger_time_ms,
        "gtd": a.good_till_date_ms,
        # "ia" (live since 2026-08-21, derivatives change log): a trailing stop that has not
        # reached its activation price sends NEW with ia=false, then another NEW with ia=true once
        # it activates. The change log defines it for trailing stops only; the simulator sends
        # true for the other conditional types (they watch their trigger from placement).
        "ia": a.is_activated,
    }
    if a.reject_reason or a.status is AlgoStatus.REJECTED:
        body["rm"] = a.reject_reason
    return {"e": "ALGO_UPDATE", "T": time_ms, "E": time_ms, "o": body}


def position_update(
    p: Position, spec: SymbolSpec | None, margin_type: str, mark: Decimal | None
) -> dict[str, Any]:
    f = Fmt(spec)
    up = (mark - p.entry_price) * p.amount if mark is not None and p.amount != 0 else ZERO
    return {
        "s": p.symbol,
        "pa": f.qty(p.amount),
        "ep": fmt(p.entry_price, 8 if p.amount else 5),
        "bep": plain(p.break_even_price),
        "cr": fmt(p.realized_pnl, 8),
        "up": fmt(up, 8),
        "mt": margin_type,
        "iw": "0",
        "ps": str(p.position_side),
    }


def account_update(
    ev: AccountEvent,
    asset: str,
    specs: dict[str, SymbolSpec],
    margin_types: dict[str, str],
    marks: dict[str, Decimal],
) -> dict[str, Any]:
    return {
        "e": "ACCOUNT_UPDATE",
        "T": ev.time_ms,
        "E": ev.time_ms,
        "a": {
            "m": ev.reason,
            "B": [
                {
                    "a": asset,
                    "wb": fmt(ev.wallet_balance, 8),
                    "cw": fmt(ev.cross_wallet_balance, 8),
                    "bc": plain(ev.balance_change),
                }
            ],
            "P": [
                position_update(
                    p, specs.get(p.symbol), margin_types.get(p.symbol, "cross"), marks.get(p.symbol)
                )
                for p in ev.positions
            ],
        },
    }


def account_config_update(ev: AccountConfigEvent) -> dict[str, Any]:
    d: dict[str, Any] = {"e": "ACCOUNT_CONFIG_UPDATE", "E": ev.time_ms, "T": ev.time_ms}
    if ev.symbol is not None and ev.leverage is not None:
        d["ac"] = {"s": ev.symbol, "l": ev.leverage}
    if ev.multi_assets is not None:
        d["ai"] = {"j": ev.multi_assets}
    return d


def margin_call(
    ev: MarginCallEvent, specs: dict[str, SymbolSpec], margin_types: dict[str, str], marks: dict[str, Decimal]
) -> dict[str, Any]:
    rows = []
    for p in ev.positions:
        spec = specs.get(p.symbol)
        mark = marks.get(p.symbol, p.entry_price)
        up = (mark - p.entry_price) * p.amount
        mm_rate = (spec.maint_margin_percent / 100) if spec else Decimal("0.025")
        rows.append(
            {
                "s": p.symbol,
                "ps": str(p.position_side),
                "pa": Fmt(spec).qty(p.amount),
                "mt": "ISOLATED" if margin_types.get(p.symbol) == "isolated" else "CROSSED",
                "iw": "0",
                "mp": Fmt(spec).px(mark),
                "up": fmt(up, 8),
                "mm": fmt(abs(p.amount) * mark * mm_rate, 8),
            }
        )
    return {"e": "MARGIN_CALL", "E": ev.time_ms, "cw": fmt(ev.cross_wallet_balance, 8), "p": rows}


def listen_key_expired(key: str, time_ms: int) -> dict[str, Any]:
    return {"e": "listenKeyExpired", "E": time_ms, "listenKey": key}


# --- market events -------------------------------------------------------------------------


def levels(
    rows: tuple[tuple[Decimal, Decimal], ...] | list[tuple[Decimal, Decimal]], f: Fmt
) -> list[list[str]]:
    return [[f.px(p), f.qty(q)] for p, q in rows]


def depth_update(d: BookDelta, spec: SymbolSpec | None) -> dict[str, Any]:
    f = Fmt(spec)
    return {
        "e": "depthUpdate",
        "E": d.time_ms,
        "T": d.time_ms,
        "s": d.symbol,
        "U": d.first_update_id,
        "u": d.last_update_id,
        "pu": d.prev_update_id,
        "b": levels(d.bids, f),
        "a": levels(d.asks, f),
    }


def partial_depth(
    symbol: str,
    time_ms: int,
    first_id: int,
    last_id: int,
    prev_id: int,
    bids: list[tuple[Decimal, Decimal]],
    asks: list[tuple[Decimal, Decimal]],
    spec: SymbolSpec | None,
) -> dict[str, Any]:
    f = Fmt(spec)
    return {
        "e": "depthUpdate",
        "E": time_ms,
        "T": time_ms,
        "s": symbol,
        "U": first_id,
        "u": last_id,
        "pu": prev_id,
        "b": levels(bids, f),
        "a": levels(asks, f),
    }


def book_ticker(
    symbol: str,
    update_id: int,
    time_ms: int,
    bid: tuple[Decimal, Decimal] | None,
    ask: tuple[Decimal, Decimal] | None,
    spec: SymbolSpec | None,
) -> dict[str, Any]:
    f = Fmt(spec)
    return {
        "e": "bookTicker",
        "u": update_id,
        "s": symbol,
        "b": f.px(bid[0] if bid else ZERO),
        "B": f.qty(bid[1] if bid else ZERO),
        "a": f.px(ask[0] if ask else ZERO),
        "A": f.qty(ask[1] if ask else ZERO),
        "T": time_ms,
        "E": time_ms,
    }


def agg_trade(t: PublicTrade, spec: SymbolSpec | None) -> dict[str, Any]:
    f = Fmt(spec)
    return {
        "e": "aggTrade",
        "E": t.time_ms,
        "a": t.agg_id,
        "s": t.symbol,
        "p": f.px(t.price),
        "q": f.qty(t.qty),
        "f": t.first_trade_id,
        "l": t.last_trade_id,
        "T": t.time_ms,
        "m": t.buyer_is_maker,
    }


def agg_trade_rest(t: PublicTrade, spec: SymbolSpec | None) -> dict[str, Any]:
    f = Fmt(spec)
    return {
        "a": t.agg_id,
        "p": f.px(t.price),
        "q": f.qty(t.qty),
        "f": t.first_trade_id,
        "l": t.last_trade_id,
        "T": t.time_ms,
        "m": t.buyer_is_maker,
    }


def mark_price_update(ev: MarkPriceEvent | MarkPriceSnapshot, spec: SymbolSpec | None) -> dict[str, Any]:
    places = max(spec.price_precision if spec else 2, 8)
    return {
        "e": "markPriceUpdate",
        "E": ev.time_ms,
        "s": ev.symbol,
        "p": fmt(ev.mark_price, places),
        "i": fmt(ev.index_price, places),
        # estimated settle price (sim: the mean index price of the current hour)
        "P": fmt(ev.estimated_settle_price or ev.mark_price, places),
        "r": fmt(ev.funding_rate, 8),
        "T": ev.next_funding_time_ms,
    }


def kline_rest(k: Kline, spec: SymbolSpec | None) -> list[Any]:
    f = Fmt(spec)
    return [
        k.open_time_ms,
        f.px(k.open),
        f.px(k.high),
        f.px(k.low),
        f.px(k.close),
        f.qty(k.volume),
        k.close_time_ms,
        f.quote(k.quote_volume),
        k.trades,
        f.qty(k.taker_buy_volume),
        f.quote(k.taker_buy_quote_volume),
        "0",
    ]


def kline_event(
    symbol: str, interval: str, k: Kline, first_id: int, last_id: int, time_ms: int, spec: SymbolSpec | None
) -> dict[str, Any]:
    f = Fmt(spec)
    return {
        "e": "kline",
        "E": time_ms,
        "s": symbol,
        "k": {
            "t": k.open_time_ms,
            "T": k.close_time_ms,
            "s": symbol,
            "i": interval,
            "f": first_id,
            "L": last_id,
            "o": f.px(k.open),
            "c": f.px(k.close),
            "h": f.px(k.high),
            "l": f.px(k.low),
            "v": f.qty(k.volume),
            "n": k.trades,
            "x": k.closed,
            "q": f.quote(k.quote_volume),
            "V": f.qty(k.taker_buy_volume),
            "Q": f.quote(k.taker_buy_quote_volume),
            "B": "0",
        },
    }
