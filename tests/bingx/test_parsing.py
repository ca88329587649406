from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
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
from nautilus_trader.model.identifiers import AccountId, InstrumentId, PositionId
from nautilus_trader.model.objects import Currency, Money, Price, Quantity

from adapters.bingx import parsing as P
from adapters.bingx import schemas_rest as S
from adapters.bingx import schemas_user as W

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bingx"
ACCOUNT = AccountId("BINGX-001")
USDT = Currency.from_str("USDT")
TS = 1_700_000_000_000_000_000


def data(name: str, tp: object) -> object:
    env = S.decode_envelope((FIXTURES / name).read_bytes())
    return S.decode_data(env.data, tp)


def user(name: str) -> W.UserFrame:
    return W.decode_user_frame((FIXTURES / name).read_bytes())


def test_symbol_round_trip() -> None:
    iid = P.format_instrument_id("BTC-USDT")
    assert str(iid) == "BTC-USDT-PERP.BINGX"
    assert P.venue_symbol(iid) == "BTC-USDT"
    assert P.venue_symbol(InstrumentId.from_str("ETH-USDT-PERP.BINGX")) == "ETH-USDT"
    assert P.make_position_id(iid, "short") == PositionId("BTC-USDT-PERP.BINGX-SHORT")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("NEW", OrderStatus.ACCEPTED),
        ("PENDING", OrderStatus.ACCEPTED),
        ("PARTIALLY_FILLED", OrderStatus.PARTIALLY_FILLED),
        ("FILLED", OrderStatus.FILLED),
        ("CANCELED", OrderStatus.CANCELED),
        ("CANCELLED", OrderStatus.CANCELED),
        ("EXPIRED", OrderStatus.EXPIRED),
        ("FAILED", OrderStatus.REJECTED),
        ("RUNNING", OrderStatus.ACCEPTED),
    ],
)
def test_status_map(value: str, expected: OrderStatus) -> None:
    assert P.parse_order_status(value, Decimal(1), Decimal(0)) == expected


def test_status_expired_flag_and_unknown_fallback() -> None:
    assert P.parse_order_status("EXPIRED", Decimal(1), Decimal(0), True) == OrderStatus.CANCELED
    assert P.parse_order_status("Unknown", Decimal(1), Decimal(0)) == OrderStatus.ACCEPTED
    assert P.parse_order_status("Unknown", Decimal(1), Decimal("0.5")) == OrderStatus.PARTIALLY_FILLED
    assert P.parse_order_status("Unknown", Decimal(1), Decimal(1)) == OrderStatus.FILLED


def test_type_tif_trigger_maps() -> None:
    assert P.parse_order_type("TRIGGER_MARKET") == OrderType.STOP_MARKET
    assert P.parse_order_type("TAKE_PROFIT") == OrderType.LIMIT_IF_TOUCHED
    assert P.parse_order_type("TRAILING_TP_SL") == OrderType.TRAILING_STOP_MARKET
    assert P.parse_order_type("WHATEVER") == OrderType.MARKET
    assert P.parse_time_in_force("PostOnly") == (TimeInForce.GTC, True)
    assert P.parse_time_in_force("") == (TimeInForce.GTC, False)
    assert P.parse_trigger_type("CONTRACT_PRICE") == TriggerType.LAST_PRICE
    assert P.parse_trigger_type("") == TriggerType.MARK_PRICE
    assert P.to_bingx_order_type(OrderType.STOP_MARKET, reduce_only=True) == "STOP_MARKET"
    assert P.to_bingx_order_type(OrderType.STOP_MARKET, reduce_only=False) == "TRIGGER_MARKET"
    assert P.to_bingx_order_type(OrderType.LIMIT_IF_TOUCHED, reduce_only=True) == "TAKE_PROFIT"
    assert P.to_bingx_time_in_force(TimeInForce.GTC, post_only=True) == "PostOnly"
    with pytest.raises(ValueError):
        P.to_bingx_time_in_force(TimeInForce.GTD, post_only=False)
    assert P.to_bingx_working_type(TriggerType.DEFAULT) == "CONTRACT_PRICE"
    assert P.to_bingx_working_type(TriggerType.MARK_PRICE) == "MARK_PRICE"


@pytest.mark.parametrize(
    ("side", "reduce_only", "hedge", "expected"),
    [
        (OrderSide.BUY, False, False, "BOTH"),
        (OrderSide.BUY, False, True, "LONG"),
        (OrderSide.SELL, True, True, "LONG"),
        (OrderSide.SELL, False, True, "SHORT"),
        (OrderSide.BUY, True, True, "SHORT"),
    ],
)
def test_position_side_out(side: OrderSide, reduce_only: bool, hedge: bool, expected: str) -> None:
    assert P.to_bingx_position_side(side, reduce_only, hedge) == expected


def test_contract_to_perpetual() -> None:
    contracts = data("contracts.json", list[S.Contract])
    assert isinstance(contracts, list)
    btc = P.contract_to_perpetual(contracts[0], TS)
    assert str(btc.id) == "BTC-USDT-PERP.BINGX"
    assert btc.raw_symbol.value == "BTC-USDT"
    assert (btc.price_precision, btc.size_precision) == (1, 4)
    assert btc.price_increment == Price.from_str("0.1")
    assert btc.size_increment == Quantity.from_str("0.0001")
    assert btc.min_quantity == Quantity.from_str("0.0001")
    assert btc.min_notional == Money.from_str("2.00000000 USDT")
    assert btc.maker_fee == Decimal("0.0002") and btc.taker_fee == Decimal("0.0005")
    assert btc.margin_init == Decimal(1) / Decimal(125)
    assert btc.base_currency.code == "BTC" and btc.settlement_currency == USDT
    doge = P.contract_to_perpetual(contracts[1], TS, maker_fee=Decimal("0.0001"))
    assert doge.size_precision == 0
    assert doge.min_quantity == Quantity.from_str("13")  # 12.5 rounded up to the 1-coin step
    assert doge.maker_fee == Decimal("0.0001")
    assert doge.price_increment == Price.from_str("0.00001")


def test_rest_order_report() -> None:
    q = data("order_query.json", S.OrderData)
    assert isinstance(q, S.OrderData)
    iid = P.format_instrument_id("OP-USDT")
    r = P.order_to_status_report(q.order, ACCOUNT, iid, 4, 1, TS)
    assert r.venue_order_id.value == "1736012449498123456"
    assert r.order_status == OrderStatus.PARTIALLY_FILLED
    assert r.quantity == Quantity.from_str("1.0")
    assert r.filled_qty == Quantity.from_str("0.4")
    assert r.price == Price.from_str("2.1710")
    assert r.avg_px == Decimal("2.1710")
    assert r.client_order_id is not None and r.client_order_id.value == "my-order-1"
    assert r.trigger_price is None
    assert r.ts_accepted == 1702732596168 * 1_000_000
    assert r.ts_last == 1702732596188 * 1_000_000
    assert r.order_side == OrderSide.SELL


def test_rest_cancelled_and_conditional_reports() -> None:
    c = data("cancel_order.json", S.OrderData)
    assert isinstance(c, S.OrderData)
    r = P.order_to_status_report(c.order, ACCOUNT, P.format_instrument_id("RNDR-USDT"), 4, 0, TS)
    assert r.order_status == OrderStatus.CANCELED
    assert r.client_order_id is None
    o = data("open_orders.json", S.OrdersData)
    assert isinstance(o, S.OrdersData) and o.orders is not None
    iid = P.format_instrument_id("BTC-USDT")
    limit = P.order_to_status_report(o.orders[0], ACCOUNT, iid, 1, 4, TS)
    assert limit.order_status == OrderStatus.ACCEPTED  # PENDING
    assert limit.post_only is True
    assert limit.client_order_id is not None and limit.client_order_id.value == "abc-1"
    stop = P.order_to_status_report(o.orders[1], ACCOUNT, iid, 1, 4, TS)
    assert stop.order_type == OrderType.STOP_MARKET
    assert stop.trigger_price == Price.from_str("40000.0")
    assert stop.trigger_type == TriggerType.LAST_PRICE
    assert stop.price is None
    assert stop.reduce_only is True


def test_trailing_report() -> None:
    order = S.decoder(S.Order).decode(
        b'{"orderId":1,"symbol":"BTC-USDT","side":"SELL","type":"TRAILING_STOP_MARKET","origQty":"0.01",'
        b'"price":"","priceRate":"0.015","activationPrice":"50000.0","status":"NEW","executedQty":"0"}'
    )
    r = P.order_to_status_report(order, ACCOUNT, P.format_instrument_id("BTC-USDT"), 1, 4, TS)
    assert r.trailing_offset == Decimal("150.000")
    assert r.trailing_offset_type == TrailingOffsetType.BASIS_POINTS
    assert r.trigger_price == Price.from_str("50000.0")
    assert r.price is None


def test_close_position_order_without_quantity_raises() -> None:
    order = S.decoder(S.Order).decode(b'{"orderId":1,"symbol":"BTC-USDT","type":"STOP_MARKET","origQty":"0"}')
    with pytest.raises(ValueError, match="zero quantity"):
        P.order_to_status_report(order, ACCOUNT, P.format_instrument_id("BTC-USDT"), 1, 4, TS)


def test_fill_time_beijing_correction() -> None:
    utc_ns = 1702731516 * 1_000_000_000  # 2023-12-16T12:58:36Z
    assert P.parse_fill_time_ns("2023-12-16T20:58:36.000+0800") == utc_ns
    assert P.parse_fill_time_ns(None, "2023-12-16T20:58:36Z") == utc_ns  # 'Z' is really UTC+8
    assert P.parse_fill_time_ns("2023-12-16T20:58:36.000") == utc_ns  # no offset: Beijing
    assert P.parse_fill_time_ns("2026-09-18T02:39:57.123+08:00") == 1789670397123 * 1_000_000
    assert P.parse_fill_time_ns("garbage") is None


def test_fill_history_reports() -> None:
    h = data("fill_history.json", S.FillHistoryData)
    assert isinstance(h, S.FillHistoryData) and h.fill_history_orders is not None
    wld, btc = h.fill_history_orders
    r = P.fill_history_to_fill_report(wld, ACCOUNT, P.format_instrument_id("WLD-USDT"), 4, 2, TS)
    assert r.trade_id.value == "241512"
    assert r.venue_order_id.value == "1736007768311123456"
    assert r.order_side == OrderSide.BUY
    assert r.last_qty == Quantity.from_str("4.10")
    assert r.last_px == Price.from_str("3.1088")
    assert r.commission == Money.from_str("0.0025 USDT")  # fee -0.0025 is a cost
    assert r.liquidity_side == LiquiditySide.MAKER
    assert r.ts_event == 1702731516 * 1_000_000_000
    r2 = P.fill_history_to_fill_report(btc, ACCOUNT, P.format_instrument_id("BTC-USDT"), 1, 4, TS)
    assert r2.last_qty == Quantity.from_str("0.0615")  # qty (coin), not quoteQty
    assert r2.commission == Money.from_str("2.350696 USDT")
    assert r2.liquidity_side == LiquiditySide.TAKER
    assert r2.order_side == OrderSide.SELL


def test_all_fill_orders_report_synthesized_trade_id() -> None:
    items = data("all_fill_orders.json", S.FillOrdersData)
    assert isinstance(items, S.FillOrdersData) and items.fill_orders is not None
    r = P.fill_order_to_fill_report(
        items.fill_orders[0], ACCOUNT, P.format_instrument_id("WLD-USDT"), 4, 2, TS
    )
    expected = P.bounded_trade_id("1736007768311123456-1702731516000-4.10-3.1088")
    assert r.trade_id.value == expected and len(expected) == 32
    assert P.synthesized_fill_trade_id(items.fill_orders[0]) == expected  # stable on a re-read
    assert r.last_qty == Quantity.from_str("4.10")
    assert r.liquidity_side == LiquiditySide.NO_LIQUIDITY_SIDE


def test_positions() -> None:
    positions = data("positions.json", list[S.Position])
    assert isinstance(positions, list)
    ltc = P.position_to_status_report(positions[0], ACCOUNT, P.format_instrument_id("LTC-USDT"), 2, TS)
    assert ltc.position_side == PositionSide.LONG
    assert ltc.quantity == Quantity.from_str("0.10")
    assert ltc.avg_px_open == Decimal("83.53")
    assert ltc.ts_last == 1721088016688 * 1_000_000
    bnb = P.position_to_status_report(positions[1], ACCOUNT, P.format_instrument_id("BNB-USDT"), 2, TS)
    assert bnb.position_side == PositionSide.SHORT  # positive positionAmt, SHORT side
    assert bnb.quantity == Quantity.from_str("0.20")
    one_way = S.decoder(S.Position).decode(b'{"symbol":"X-USDT","positionSide":"BOTH","positionAmt":"-0.5"}')
    r = P.position_to_status_report(one_way, ACCOUNT, P.format_instrument_id("X-USDT"), 1, TS)
    assert r.position_side == PositionSide.SHORT and r.quantity == Quantity.from_str("0.5")
    flat = S.decoder(S.Position).decode(b'{"symbol":"X-USDT","positionSide":"LONG","positionAmt":"0"}')
    assert P.position_to_status_report(
        flat, ACCOUNT, P.format_instrument_id("X-USDT"), 1, TS
    ).position_side == (PositionSide.FLAT)


def test_balances() -> None:
    items = data("balance.json", list[S.BalanceItem])
    assert isinstance(items, list)
    balances = P.balances_to_account_balances(items)
    assert len(balances) == 1  # all-zero USDC skipped
    b = balances[0]
    assert b.total == Money.from_str("194.8212 USDT")
    assert b.free == Money.from_str("193.7609 USDT")
    assert b.locked == Money.from_str("1.0603 USDT")


def test_account_update() -> None:
    ev = user("account_update.json")
    assert isinstance(ev, W.AccountUpdate)
    (b,) = P.account_update_to_balances(ev.account)
    assert b.total == Money.from_str("117.80007595 USDT")
    assert b.free == Money.from_str("95.23045595 USDT")
    assert ev.account.positions is not None
    rep = P.position_update_to_status_report(
        ev.account.positions[0], ACCOUNT, P.format_instrument_id("BTC-USDT"), 4, 5, TS
    )
    assert rep.position_side == PositionSide.SHORT
    assert rep.quantity == Quantity.from_str("0.0010")
    deposit = W.decode_user_frame(
        b'{"e":"ACCOUNT_UPDATE","E":1760079123091,"a":{"m":"DEPOSIT","B":[{"a":"SUI","wb":"29.97140000",'
        b'"bc":"29.97140000"}],"P":[]}}'
    )
    assert isinstance(deposit, W.AccountUpdate)
    (sui,) = P.account_update_to_balances(deposit.account)
    assert sui.free == sui.total


def test_ws_fill_uses_last_fill_fields_only() -> None:
    ev = user("order_trade_update_partial.json")
    assert isinstance(ev, W.OrderTradeUpdate)
    fill = P.parse_order_fill(ev.order, 1, 4, USDT)
    assert fill is not None
    assert fill.last_qty == Quantity.from_str("0.0010")  # l, not z=0.002
    assert fill.last_px == Price.from_str("112848.1")
    assert fill.trade_id.value == "511178071"  # td
    assert fill.commission == Money.from_str("0.05642405 USDT")
    assert fill.venue_order_id.value == "1970374651259388123"
    assert fill.order_side == OrderSide.SELL
    assert fill.order_type == OrderType.LIMIT
    assert fill.liquidity_side == LiquiditySide.NO_LIQUIDITY_SIDE  # no 'm' on a LIMIT order
    assert fill.ts_event == 1758608899316 * 1_000_000
    assert P.parse_update_status(ev.order) == OrderStatus.PARTIALLY_FILLED
    report = P.order_update_to_fill_report(
        ev.order, ACCOUNT, P.format_instrument_id("BTC-USDT"), 1, 4, USDT, 0, TS
    )
    assert report is not None and report.client_order_id is not None
    assert report.client_order_id.value == "my-order-7"


def test_ws_fill_without_last_fields_is_not_guessed_from_cumulative() -> None:
    ev = user("order_trade_update_no_last.json")
    assert isinstance(ev, W.OrderTradeUpdate)
    assert P.is_fill(ev.order)
    assert not P.has_last_fill(ev.order)
    assert P.parse_order_fill(ev.order, 1, 4, USDT) is None
    assert (
        P.order_update_to_fill_report(
            ev.order, ACCOUNT, P.format_instrument_id("BTC-USDT"), 1, 4, USDT, 0, TS
        )
        is None
    )
    assert P.parse_update_status(ev.order) == OrderStatus.FILLED


def test_trade_id_fallbacks() -> None:
    base = (
        b'{"e":"ORDER_TRADE_UPDATE","E":1,"o":{"s":"BTC-USDT","i":42,"S":"BUY","o":"MARKET","x":"TRADE",'
        b'"X":"PARTIALLY_FILLED","q":"1","z":"0.3","l":"0.1","L":"100.0",'
    )
    with_t = W.decode_user_frame(base + b'"t":77,"td":88,"T":5}}')
    assert isinstance(with_t, W.OrderTradeUpdate)
    assert P.fill_trade_id(with_t.order) == "77"
    synth = W.decode_user_frame(base + b'"T":0}}')
    assert isinstance(synth, W.OrderTradeUpdate)
    assert P.fill_trade_id(synth.order) == "42-0.3"
    fill = P.parse_order_fill(synth.order, 1, 1, USDT, ts_event_fallback=123)
    assert fill is not None and fill.ts_event == 123  # T == 0 -> event time
    assert fill.liquidity_side == LiquiditySide.TAKER  # market order


def test_ws_status_report_for_external_order() -> None:
    ev = user("order_trade_update_partial.json")
    assert isinstance(ev, W.OrderTradeUpdate)
    r = P.order_update_to_status_report(ev.order, ACCOUNT, P.format_instrument_id("BTC-USDT"), 1, 4, 99, TS)
    assert r.order_status == OrderStatus.PARTIALLY_FILLED
    assert r.quantity == Quantity.from_str("0.0030")
    assert r.filled_qty == Quantity.from_str("0.0020")
    assert r.price == Price.from_str("112848.1")
    assert r.trigger_price is None


def test_negate_exact() -> None:
    assert P.negate("-0.05642405") == "0.05642405"
    assert P.negate("0.1") == "-0.1"
    assert P.negate("0.000") == "0.000"
    assert P.negate("") is None
