"""Engine objects → BingX JSON (REST ``data`` bodies, user-data events, market-stream frames).

Decimals are strings with the symbol's precision (REST) or 8 places (user events, as captured);
ids and times are unquoted integers except where BingX quotes them (fill ``orderId``/``tradeId``,
``positionId``). Spellings that differ from the engine's: REST ``PENDING`` for a resting order and
``CANCELLED`` (double L); WS ``NEW`` and ``CANCELED``. Fill times in REST are Beijing wall-clock
strings: ``filledTime`` with ``+0800`` and ``filledTm`` mislabelled ``Z`` (the venue's quirk).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal
from typing import Any

import msgspec

from adapters.sim.model import (
    AccountConfigEvent,
    AccountEvent,
    AlgoOrder,
    AlgoStatus,
    Kline,
    MarginType,
    Order,
    OrderEvent,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    PublicTrade,
    SymbolSpec,
    TimeInForce,
    Trade,
)

ZERO = Decimal(0)
BEIJING = timezone(timedelta(hours=8))


def gz(payload: Any) -> bytes:
    """One server frame: JSON (or a bare string such as ``Ping``), gzip-compressed, binary."""
    raw = payload.encode() if isinstance(payload, str) else msgspec.json.encode(payload)
    return gzip.compress(raw, compresslevel=1, mtime=0)


def fixed(value: Decimal | int | None, places: int) -> str:
    d = Decimal(value if value is not None else 0)
    if places <= 0:
        return f"{d.quantize(Decimal(1)):f}"
    return f"{d.quantize(Decimal(1).scaleb(-places)):f}"


def truncate(value: Decimal, step: Decimal) -> Decimal:
    """BingX truncates over-precise prices and quantities (0.123456 at 0.0001 → 0.1234)."""
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


@dataclass(slots=True)
class Fmt:
    spec: SymbolSpec | None

    def px(self, value: Decimal | None) -> str:
        return fixed(value, self.spec.price_precision if self.spec else 2)

    def qty(self, value: Decimal | None) -> str:
        return fixed(value, self.spec.quantity_precision if self.spec else 4)


@dataclass(slots=True)
class OrderExtras:
    """Request attributes the engine does not model but BingX echoes back."""

    type: str = ""  # the BingX type when it differs from the engine's (TRIGGER_MARKET, ...)
    client_given: bool = False
    client_spelling: str = "clientOrderId"
    working_type: str = "MARK_PRICE"
    post_only: bool = False
    close_position: bool = False
    price_rate: Decimal = ZERO
    stop_guaranteed: bool = False


def margin_mode(mt: MarginType | None) -> str:
    return "isolated" if mt is MarginType.ISOLATED else "cross"


def tif_wire(tif: TimeInForce) -> str:
    return "PostOnly" if tif is TimeInForce.GTX else tif.value


def rest_status(order: Order) -> str:
    s = order.status
    if s is OrderStatus.NEW:
        return "PENDING"
    if s in (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.EXPIRED_IN_MATCH):
        return "CANCELLED"
    if s is OrderStatus.REJECTED:
        return "FAILED"
    return s.value


def ws_status(order: Order) -> str:
    s = order.status
    if s is OrderStatus.EXPIRED_IN_MATCH:
        return "EXPIRED"
    if s is OrderStatus.REJECTED:
        return "CANCELED"
    return s.value


def wire_order_id(order: Order) -> int:
    """A conditional order keeps its id when it triggers (the engine's child is internal)."""
    return order.algo_id if order.algo_id is not None else order.order_id


def _type_of(order_type: OrderType, extras: OrderExtras) -> str:
    return extras.type or order_type.value


def _empty_tpsl() -> dict[str, Any]:
    return {"type": "", "quantity": 0, "stopPrice": 0, "price": 0, "workingType": ""}


def order_json(
    order: Order,
    spec: SymbolSpec | None,
    extras: OrderExtras,
    leverage: int,
    commission: Decimal,
    profit: Decimal,
) -> dict[str, Any]:
    f = Fmt(spec)
    out: dict[str, Any] = {
        "symbol": order.symbol,
        "orderId": wire_order_id(order),
        "side": order.side.value,
        "positionSide": order.position_side.value,
        "type": _type_of(order.orig_type, extras),
        "origQty": f.qty(order.orig_qty),
        "price": f.px(order.price),
        "executedQty": f.qty(order.executed_qty),
        "avgPrice": f.px(order.avg_price),
        "cumQuote": fixed(order.cum_quote, 4),
        "stopPrice": f.px(order.stop_price) if order.stop_price else "",
        "profit": fixed(profit, 4),
        "commission": fixed(-commission, 6),
        "status": rest_status(order),
        "time": order.create_time_ms,
        "updateTime": order.update_time_ms,
        extras.client_spelling: order.client_order_id if extras.client_given else "",
        "leverage": f"{leverage}X",
        "takeProfit": _empty_tpsl(),
        "stopLoss": _empty_tpsl(),
        "advanceAttr": 0,
        "positionID": 0,
        "takeProfitEntrustPrice": 0,
        "stopLossEntrustPrice": 0,
        "orderType": "",
        "workingType": extras.working_type,
        "stopGuaranteed": extras.stop_guaranteed,
        "triggerOrderId": order.order_id if order.algo_id is not None else 0,
        "timeInForce": tif_wire(order.time_in_force),
        "reduceOnly": order.reduce_only,
        "postOnly": order.time_in_force is TimeInForce.GTX,
        "closePosition": extras.close_position,
        "priceRate": fixed(extras.price_rate, 4) if extras.price_rate else "0",
    }
    return out


def algo_json(a: AlgoOrder, spec: SymbolSpec | None, extras: OrderExtras, leverage: int) -> dict[str, Any]:
    """An untriggered (or cancelled/expired before triggering) conditional order."""
    f = Fmt(spec)
    status = "NEW" if a.status in (AlgoStatus.NEW, AlgoStatus.TRIGGERING) else "CANCELLED"
    if a.status is AlgoStatus.REJECTED:
        status = "FAILED"
    return {
        "symbol": a.symbol,
        "orderId": a.algo_id,
        "side": a.side.value,
        "positionSide": a.position_side.value,
        "type": _type_of(a.type, extras),
        "origQty": f.qty(a.quantity),
        "price": f.px(a.price),
        "executedQty": f.qty(ZERO),
        "avgPrice": f.px(ZERO),
        "cumQuote": "0",
        "stopPrice": f.px(a.trigger_price),
        "profit": "0.0000",
        "commission": "0.000000",
        "status": status,
        "time": a.create_time_ms,
        "updateTime": a.update_time_ms,
        extras.client_spelling: a.client_algo_id if extras.client_given else "",
        "leverage": f"{leverage}X",
        "takeProfit": _empty_tpsl(),
        "stopLoss": _empty_tpsl(),
        "advanceAttr": 0,
        "positionID": 0,
        "takeProfitEntrustPrice": 0,
        "stopLossEntrustPrice": 0,
        "orderType": "",
        "workingType": extras.working_type,
        "stopGuaranteed": extras.stop_guaranteed,
        "triggerOrderId": 0,
        "timeInForce": tif_wire(a.time_in_force),
        "reduceOnly": a.reduce_only,
        "postOnly": False,
        "closePosition": extras.close_position,
        "priceRate": fixed(extras.price_rate, 4) if extras.price_rate else "0",
    }


def beijing_times(time_ms: int) -> tuple[str, str]:
    """(filledTm, filledTime): Beijing wall clock, the first mislabelled ``Z``."""
    t = datetime.fromtimestamp(time_ms / 1000, tz=UTC).astimezone(BEIJING)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ"), t.strftime(
        "%Y-%m-%dT%H:%M:%S."
    ) + f"{t.microsecond // 1000:03d}+0800"


def fill_order_json(
    t: Trade, spec: SymbolSpec | None, client_id: str, order_id: int, order_type: str
) -> dict[str, Any]:
    f = Fmt(spec)
    tm, ftime = beijing_times(t.time_ms)
    return {
        "filledTm": tm,
        "volume": f.qty(t.qty),
        "price": f.px(t.price),
        "amount": fixed(t.quote_qty, 4),
        "commission": fixed(-t.commission, 8),
        "currency": t.commission_asset,
        "orderId": str(order_id),
        "liquidatedPrice": "",
        "liquidatedMarginRatio": "",
        "filledTime": ftime,
        "clientOrderId": client_id,
        "symbol": t.symbol,
        "side": t.side.value,
        "type": order_type,
        "positionSide": t.position_side.value,
        "workingType": "MARK_PRICE",
        "onlyOnePosition": t.position_side is PositionSide.BOTH,
    }


def fill_history_json(t: Trade, spec: SymbolSpec | None, order_id: int) -> dict[str, Any]:
    f = Fmt(spec)
    tm, ftime = beijing_times(t.time_ms)
    return {
        "filledTm": tm,
        "volume": f.qty(t.qty),
        "price": f.px(t.price),
        "qty": f.qty(t.qty),
        "quoteQty": fixed(t.quote_qty, 4),
        "commission": fixed(-t.commission, 8),
        "commissionAsset": t.commission_asset,
        "orderId": str(order_id),
        "tradeId": str(t.trade_id),
        "filledTime": ftime,
        "symbol": t.symbol,
        "role": "maker" if t.maker else "taker",
        "side": t.side.value,
        "positionSide": t.position_side.value,
        "realisedPNL": fixed(t.realized_pnl, 8),
    }


# --- user-data events ----------------------------------------------------------------------------


def order_trade_update(ev: OrderEvent, extras: OrderExtras, asset: str) -> dict[str, Any]:
    o = ev.order
    t = ev.trade
    exec_type = (
        ev.exec_type.value
        if ev.exec_type.value in ("NEW", "TRADE", "CANCELED", "EXPIRED", "CALCULATED")
        else "NEW"
    )
    body: dict[str, Any] = {
        "s": o.symbol,
        "c": o.client_order_id if extras.client_given else "",
        "i": wire_order_id(o),
        "S": o.side.value,
        "o": _type_of(o.orig_type, extras),
        "q": fixed(o.orig_qty, 8),
        "p": fixed(o.price, 8),
        "sp": fixed(o.stop_price, 8),
        "ap": fixed(o.avg_price, 8),
        "x": exec_type,
        "X": ws_status(o),
        "N": asset,
        "n": fixed(-(t.commission if t else ZERO), 8),
        "T": t.time_ms if t else 0,
        "wt": extras.working_type,
        "ps": o.position_side.value,
        "rp": fixed(t.realized_pnl if t else ZERO, 8),
        "z": fixed(o.executed_qty, 8),
        "sg": "true" if extras.stop_guaranteed else "false",
        "ti": o.order_id if o.algo_id is not None else 0,
        "ro": o.reduce_only,
    }
    if t is not None:
        body["l"] = fixed(t.qty, 8)
        body["L"] = fixed(t.price, 8)
        body["td"] = t.trade_id
        body["tv"] = fixed(t.quote_qty, 8)
    return {"e": "ORDER_TRADE_UPDATE", "E": ev.time_ms, "T": t.time_ms if t else ev.time_ms, "o": body}


def algo_trade_update(
    a: AlgoOrder, time_ms: int, exec_type: str, status: str, extras: OrderExtras, asset: str
) -> dict[str, Any]:
    """An untriggered conditional order's own lifecycle (NEW, CANCELED, EXPIRED)."""
    return {
        "e": "ORDER_TRADE_UPDATE",
        "E": time_ms,
        "T": time_ms,
        "o": {
            "s": a.symbol,
            "c": a.client_algo_id if extras.client_given else "",
            "i": a.algo_id,
            "S": a.side.value,
            "o": _type_of(a.type, extras),
            "q": fixed(a.quantity, 8),
            "p": fixed(a.price, 8),
            "sp": fixed(a.trigger_price, 8),
            "ap": fixed(ZERO, 8),
            "x": exec_type,
            "X": status,
            "N": asset,
            "n": fixed(ZERO, 8),
            "T": 0,
            "wt": extras.working_type,
            "ps": a.position_side.value,
            "rp": fixed(ZERO, 8),
            "z": fixed(ZERO, 8),
            "sg": "true" if extras.stop_guaranteed else "false",
            "ti": 0,
            "ro": a.reduce_only,
        },
    }


def position_amount(p: Position) -> Decimal:
    """Hedge positions are reported unsigned (the side is in ``ps``); one-way ones signed."""
    return abs(p.amount) if p.position_side is not PositionSide.BOTH else p.amount


def account_update(
    ev: AccountEvent, asset: str, margin_types: dict[str, MarginType], marks: dict[str, Decimal]
) -> dict[str, Any]:
    positions = []
    for p in ev.positions:
        mark = marks.get(p.symbol, p.entry_price)
        upnl = (mark - p.entry_price) * p.amount if p.amount else ZERO
        positions.append(
            {
                "s": p.symbol,
                "pa": fixed(position_amount(p), 8),
                "ep": fixed(p.entry_price, 8),
                "up": fixed(upnl, 8),
                "mt": margin_mode(margin_types.get(p.symbol)),
                "iw": fixed(ZERO, 8),
                "ps": p.position_side.value,
                "cr": fixed(p.realized_pnl, 8),
            }
        )
    return {
        "e": "ACCOUNT_UPDATE",
        "E": ev.time_ms,
        "a": {
            "m": ev.reason,
            "B": [
                {
                    "a": asset,
                    "wb": fixed(ev.wallet_balance, 8),
                    "cw": fixed(ev.cross_wallet_balance, 8),
                    "bc": fixed(ev.balance_change, 8),
                }
            ],
            "P": positions,
        },
    }


def account_config_update(
    symbol: str, leverage: int, margin_type: MarginType | None, time_ms: int
) -> dict[str, Any]:
    return {
        "e": "ACCOUNT_CONFIG_UPDATE",
        "E": time_ms,
        "ac": {"s": symbol, "l": leverage, "S": leverage, "mt": margin_mode(margin_type)},
    }


def config_from_event(ev: AccountConfigEvent, margin_type: MarginType | None) -> dict[str, Any] | None:
    if ev.symbol is None or ev.leverage is None:
        return None
    return account_config_update(ev.symbol, ev.leverage, margin_type, ev.time_ms)


def listen_key_expired(key: str, time_ms: int) -> dict[str, Any]:
    return {"e": "listenKeyExpired", "E": time_ms, "listenKey": key}


# --- market data ---------------------------------------------------------------------------------


def trade_item(t: PublicTrade, spec: SymbolSpec | None) -> dict[str, Any]:
    f = Fmt(spec)
    return {"q": f.qty(t.qty), "p": f.px(t.price), "T": t.time_ms, "m": t.buyer_is_maker, "s": t.symbol}


def kline_item(k: Kline, spec: SymbolSpec | None) -> dict[str, Any]:
    f = Fmt(spec)
    return {
        "c": f.px(k.close),
        "o": f.px(k.open),
        "h": f.px(k.high),
        "l": f.px(k.low),
        "v": f.qty(k.volume),
        "T": k.open_time_ms,
    }


def kline_rest(k: Kline, spec: SymbolSpec | None) -> dict[str, Any]:
    f = Fmt(spec)
    return {
        "open": f.px(k.open),
        "close": f.px(k.close),
        "high": f.px(k.high),
        "low": f.px(k.low),
        "volume": f.qty(k.volume),
        "time": k.open_time_ms,
    }


def levels(
    rows: list[tuple[Decimal, Decimal]] | tuple[tuple[Decimal, Decimal], ...], f: Fmt
) -> list[list[str]]:
    return [[f.px(p), f.qty(q)] for p, q in rows]
