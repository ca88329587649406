from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from nautilus_trader.model.currencies import USDT
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
from nautilus_trader.model.identifiers import AccountId, ClientOrderId, InstrumentId, PositionId, VenueOrderId
from nautilus_trader.model.objects import Price, Quantity

from adapters.binance_futures import parsing as P
from adapters.binance_futures.schemas_rest import (
    AccountInfo,
    AlgoOrder,
    Balance,
    ExchangeInfo,
    Order,
    PositionRisk,
    UserTrade,
    decode_http,
)
from adapters.binance_futures.schemas_user import (
    AccountUpdate,
    AlgoUpdate,
    MalformedFrame,
    OrderTradeUpdate,
    decode_user_frame,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binance_futures"
ACCOUNT = AccountId("BINANCE-001")
ETH = InstrumentId.from_str("ETHUSDT-PERP.BINANCE")
TS_INIT = 1_800_000_000_000_000_000


def frame(name: str) -> object:
    return decode_user_frame((FIXTURES / name).read_bytes())


def http(name: str, tp: object) -> object:
    return decode_http((FIXTURES / name).read_bytes(), tp)


# ------------------------------------------------------------------------------------------------
# Maps
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("NEW", OrderStatus.ACCEPTED),
        ("PENDING_NEW", OrderStatus.ACCEPTED),
        ("PARTIALLY_FILLED", OrderStatus.PARTIALLY_FILLED),
        ("FILLED", OrderStatus.FILLED),
        ("NEW_ADL", OrderStatus.FILLED),
        ("NEW_INSURANCE", OrderStatus.FILLED),
        ("CANCELED", OrderStatus.CANCELED),
        ("PENDING_CANCEL", OrderStatus.PENDING_CANCEL),
        ("REJECTED", OrderStatus.REJECTED),
        ("EXPIRED", OrderStatus.EXPIRED),
        ("EXPIRED_IN_MATCH", OrderStatus.EXPIRED),
    ],
)
def test_order_status_map(value: str, expected: OrderStatus) -> None:
    assert P.parse_order_status(value, Decimal(1), Decimal(0)) == expected


def test_expired_as_canceled_flag() -> None:
    assert P.parse_order_status("EXPIRED", Decimal(1), Decimal(0), True) == OrderStatus.CANCELED
    assert P.parse_order_status("EXPIRED_IN_MATCH", Decimal(1), Decimal(0), True) == OrderStatus.CANCELED
    assert P.parse_algo_status("EXPIRED", Decimal(1), Decimal(0), True) == OrderStatus.CANCELED
    assert P.parse_algo_status("EXPIRED", Decimal(1), Decimal(0), False) == OrderStatus.EXPIRED


def test_unknown_order_status_derived_from_quantities() -> None:
    assert P.parse_order_status("BRAND_NEW", Decimal(2), Decimal(0)) == OrderStatus.ACCEPTED
    assert P.parse_order_status("BRAND_NEW", Decimal(2), Decimal(1)) == OrderStatus.PARTIALLY_FILLED
    assert P.parse_order_status("BRAND_NEW", Decimal(2), Decimal(2)) == OrderStatus.FILLED


@pytest.mark.parametrize(
    ("value", "qty", "executed", "expected"),
    [
        ("NEW", "1", "0", OrderStatus.ACCEPTED),
        ("TRIGGERING", "1", "0", OrderStatus.ACCEPTED),
        ("TRIGGERED", "1", "0", OrderStatus.TRIGGERED),
        ("FINISHED", "1", "1", OrderStatus.FILLED),
        ("FINISHED", "1", "0", OrderStatus.CANCELED),
        ("FINISHED", "1", "0.5", OrderStatus.CANCELED),
        ("CANCELED", "1", "0", OrderStatus.CANCELED),
        ("REJECTED", "1", "0", OrderStatus.REJECTED),
        ("WHATEVER", "1", "0", OrderStatus.ACCEPTED),
    ],
)
def test_algo_status_map(value: str, qty: str, executed: str, expected: OrderStatus) -> None:
    assert P.parse_algo_status(value, Decimal(qty), Decimal(executed)) == expected


def test_type_tif_trigger_maps() -> None:
    assert P.parse_order_type("STOP") == OrderType.STOP_LIMIT
    assert P.parse_order_type("TAKE_PROFIT") == OrderType.LIMIT_IF_TOUCHED
    assert P.parse_order_type("TAKE_PROFIT_MARKET") == OrderType.MARKET_IF_TOUCHED
    assert P.parse_order_type("TRAILING_STOP_MARKET") == OrderType.TRAILING_STOP_MARKET
    assert P.parse_order_type("LIQUIDATION") == OrderType.MARKET
    assert P.parse_order_type("NEW_TYPE") == OrderType.MARKET
    assert P.parse_time_in_force("GTX") == (TimeInForce.GTC, True)
    assert P.parse_time_in_force("RPI") == (TimeInForce.GTC, True)
    assert P.parse_time_in_force("GTD") == (TimeInForce.GTD, False)
    assert P.parse_time_in_force("NEW_TIF") == (TimeInForce.GTC, False)
    assert P.parse_trigger_type("MARK_PRICE") == TriggerType.MARK_PRICE
    assert P.parse_trigger_type("CONTRACT_PRICE") == TriggerType.LAST_PRICE
    assert P.parse_trigger_type(None) == TriggerType.LAST_PRICE
    assert P.parse_order_side("SELL") == OrderSide.SELL
    assert P.parse_order_side("???") == OrderSide.NO_ORDER_SIDE
    assert P.is_algo_order_type("STOP_MARKET") and not P.is_algo_order_type("LIMIT")


def test_instrument_ids_and_position_ids() -> None:
    iid = P.format_instrument_id("BTCUSDT")
    assert str(iid) == "BTCUSDT-PERP.BINANCE"
    assert P.format_instrument_id("BTCUSDT") is iid  # cached
    assert str(P.format_instrument_id("BTCUSDT_250627")) == "BTCUSDT_250627.BINANCE"
    assert P.venue_symbol(iid) == "BTCUSDT"
    assert P.make_position_id(ETH, "LONG") == PositionId("ETHUSDT-PERP.BINANCE-LONG")
    assert P.make_position_id(ETH, None) == PositionId("ETHUSDT-PERP.BINANCE-BOTH")
    assert P.parse_client_order_id("O-1") == ClientOrderId("O-1")
    assert P.parse_client_order_id("") is None


@pytest.mark.parametrize(
    ("coid", "liq", "adl", "settle"),
    [
        ("autoclose-1234", True, False, False),
        ("adl_autoclose", False, True, False),
        ("adl_autoclose-123", False, True, False),
        ("settlement_autoclose-9", False, False, True),
        ("delivery_autoclose-9", False, False, True),
        ("O-20250101-1", False, False, False),
        ("my-autoclose-x", False, False, False),
    ],
)
def test_exchange_generated(coid: str, liq: bool, adl: bool, settle: bool) -> None:
    assert P.is_liquidation(coid) is liq
    assert P.is_adl(coid) is adl
    assert P.is_settlement(coid) is settle
    assert P.is_exchange_generated(coid) is (liq or adl or settle)


# ------------------------------------------------------------------------------------------------
# Exact Price / Quantity
# ------------------------------------------------------------------------------------------------


def test_price_quantity_exact_against_from_str() -> None:
    rng = random.Random(7)
    for _ in range(20_000):
        prec = rng.randint(0, 9)
        digits = rng.randint(1, 15)
        n = rng.randint(0, 10**digits - 1)
        s = str(n).rjust(prec + 1, "0")
        s = s[: len(s) - prec] + ("." + s[len(s) - prec :] if prec else "")
        if float(s) > 1e12:
            continue
        extra = rng.randint(0, 2)
        padded = s + ("0" * extra if "." in s else ("." + "0" * extra if extra else ""))
        p = P.parse_price(padded, prec)
        q = P.parse_quantity(padded, prec)
        ref_p = Price.from_str(s)
        assert p.raw == ref_p.raw and p.precision == prec, (padded, prec)
        assert q.raw == Quantity.from_str(s).raw and q.precision == prec


def test_trailing_zero_price_gets_instrument_precision() -> None:
    p = P.parse_price("7100.50", 1)
    assert p.precision == 1 and str(p) == "7100.5"
    assert str(P.parse_price("7100.00", 0)) == "7100"


def test_finer_than_precision_is_kept_exact_not_rounded() -> None:
    p = P.parse_price("7100.55", 1)
    assert p == Price.from_str("7100.55")
    assert p.precision == 2
    long = P.parse_quantity("123456789012.3456", 4)  # > 15 digits -> exact string path
    assert long == Quantity.from_str("123456789012.3456") and long.precision == 4


def test_money_exact() -> None:
    m = P.parse_money("0.06300200", USDT)
    assert str(m) == "0.06300200 USDT"
    big = P.money_from_decimal(Decimal("12345678901.12345678"), USDT)
    assert str(big) == "12345678901.12345678 USDT"
    assert str(P.parse_money(None, USDT)) == "0.00000000 USDT"


# ------------------------------------------------------------------------------------------------
# ORDER_TRADE_UPDATE
# ------------------------------------------------------------------------------------------------


def test_order_fill_args() -> None:
    ev = frame("order_trade_update_trade.json")
    assert isinstance(ev, OrderTradeUpdate)
    assert P.is_fill(ev.order)
    pos = P.make_position_id(ETH, ev.order.position_side)
    fill = P.parse_order_fill(ev.order, 2, 3, USDT, pos)
    assert fill.venue_order_id == VenueOrderId("4200000001")
    assert fill.venue_position_id == pos
    assert fill.trade_id.value == "987650001"
    assert fill.order_side == OrderSide.SELL
    assert fill.order_type == OrderType.LIMIT
    assert fill.last_qty == Quantity.from_str("0.100") and fill.last_qty.precision == 3
    assert fill.last_px == Price.from_str("3150.10") and fill.last_px.precision == 2
    assert fill.quote_currency == USDT
    assert str(fill.commission) == "0.06300200 USDT"
    assert fill.liquidity_side == LiquiditySide.MAKER
    assert fill.ts_event == 1735689601000 * 1_000_000


def test_order_fill_field_order_matches_generate_order_filled() -> None:
    assert P.OrderFill._fields == (
        "venue_order_id",
        "venue_position_id",
        "trade_id",
        "order_side",
        "order_type",
        "last_qty",
        "last_px",
        "quote_currency",
        "commission",
        "liquidity_side",
        "ts_event",
    )


def test_order_fill_foreign_commission_and_null_commission() -> None:
    ev = frame("order_trade_update_filled_bnb_fee.json")
    assert isinstance(ev, OrderTradeUpdate)
    fill = P.parse_order_fill(ev.order, 2, 3, USDT)
    assert str(fill.commission) == "0.00012345 BNB"
    assert fill.liquidity_side == LiquiditySide.TAKER
    liq = frame("order_trade_update_liquidation_nulls.json")
    assert isinstance(liq, OrderTradeUpdate)
    assert P.is_fill(liq.order)
    f2 = P.parse_order_fill(liq.order, 2, 3, USDT)
    assert str(f2.commission) == "0.00000000 USDT"
    assert f2.order_type == OrderType.MARKET
    assert f2.last_qty == Quantity.from_str("0.500")


def test_non_fill_updates() -> None:
    ev = frame("order_trade_update_new.json")
    assert isinstance(ev, OrderTradeUpdate)
    assert not P.is_fill(ev.order)
    pending = decode_user_frame(
        b'{"e":"ORDER_TRADE_UPDATE","E":1,"T":1,"o":{"s":"BTCUSDT","c":"autoclose-x","S":"SELL","o":"LIMIT",'
        b'"q":"0.014","x":"CALCULATED","X":"NEW","i":1,"l":"0","z":"0","L":"0","T":1,"t":0}}'
    )
    assert isinstance(pending, OrderTradeUpdate)
    assert not P.is_fill(pending.order)


@pytest.mark.parametrize("field", ["L", "T", "t", "l", "z"])
def test_a_trade_missing_a_fill_field_is_malformed_never_a_default(field: str) -> None:
    """A TRADE without ``L``/``T``/``t`` used to become a fill at price 0, time 0, trade id 0."""
    payload = json.loads((FIXTURES / "order_trade_update_trade.json").read_text())
    del payload["o"][field]
    event = decode_user_frame(json.dumps(payload).encode())
    assert isinstance(event, MalformedFrame) and f"`{field}`" in event.error


def test_order_update_reports() -> None:
    ev = frame("order_trade_update_trade.json")
    assert isinstance(ev, OrderTradeUpdate)
    rep = P.order_update_to_status_report(ev.order, ACCOUNT, ETH, 2, 3, 5, TS_INIT)
    assert rep.order_status == OrderStatus.PARTIALLY_FILLED
    assert rep.quantity == Quantity.from_str("0.250")
    assert rep.filled_qty == Quantity.from_str("0.100")
    assert rep.price == Price.from_str("3150.10")
    assert rep.avg_px == Decimal("3150.10")
    assert rep.client_order_id == ClientOrderId("O-20250101-000000-001-001-1")
    fr = P.order_update_to_fill_report(ev.order, ACCOUNT, ETH, 2, 3, USDT, TS_INIT)
    assert fr.trade_id.value == "987650001" and fr.last_qty == Quantity.from_str("0.1")
    exp = frame("order_trade_update_expired_unknown_fields.json")
    assert isinstance(exp, OrderTradeUpdate)
    assert P.order_update_to_status_report(exp.order, ACCOUNT, ETH, 2, 3, 5, TS_INIT).order_status == (
        OrderStatus.EXPIRED
    )
    assert (
        P.order_update_to_status_report(exp.order, ACCOUNT, ETH, 2, 3, 5, TS_INIT, True).order_status
        == OrderStatus.CANCELED
    )


def test_rest_order_report() -> None:
    order = http("http_order.json", Order)
    assert isinstance(order, Order)
    rep = P.order_to_status_report(order, ACCOUNT, ETH, 2, 3, TS_INIT)
    assert rep.venue_order_id == VenueOrderId("4200000001")
    assert rep.order_status == OrderStatus.PARTIALLY_FILLED
    assert rep.time_in_force == TimeInForce.GTC and rep.post_only is True  # GTX
    assert rep.quantity == Quantity.from_str("0.250") and rep.filled_qty == Quantity.from_str("0.100")
    assert rep.price == Price.from_str("3150.10")
    assert rep.trigger_price is None and rep.trigger_type == TriggerType.NO_TRIGGER
    assert rep.ts_accepted == 1735689600123 * 1_000_000
    assert rep.ts_last == 1735689601000 * 1_000_000


def test_rest_open_orders_trailing_and_gtd() -> None:
    orders = http("http_open_orders.json", list[Order])
    assert isinstance(orders, list)
    trail = P.order_to_status_report(orders[0], ACCOUNT, ETH, 2, 3, TS_INIT)
    assert trail.order_type == OrderType.TRAILING_STOP_MARKET
    assert trail.trigger_price == Price.from_str("3250.00")
    assert trail.trigger_type == TriggerType.MARK_PRICE
    assert trail.trailing_offset == Decimal("50.0")
    assert trail.trailing_offset_type == TrailingOffsetType.BASIS_POINTS
    assert trail.reduce_only is True
    assert trail.price is None
    gtd = P.order_to_status_report(orders[1], ACCOUNT, ETH, 2, 3, TS_INIT)
    assert gtd.order_status == OrderStatus.EXPIRED
    assert gtd.time_in_force == TimeInForce.GTD
    assert gtd.expire_time is not None and int(gtd.expire_time.timestamp()) == 1735776000
    canceled = P.order_to_status_report(
        orders[1], ACCOUNT, ETH, 2, 3, TS_INIT, treat_expired_as_canceled=True
    )
    assert canceled.order_status == OrderStatus.CANCELED


def test_zero_quantity_order_raises() -> None:
    order = Order(
        orderId=1, symbol="ETHUSDT", status="NEW", clientOrderId="x", side="BUY", type="STOP_MARKET"
    )
    with pytest.raises(ValueError, match="zero quantity"):
        P.order_to_status_report(order, ACCOUNT, ETH, 2, 3, TS_INIT)


def test_algo_reports() -> None:
    algos = http("http_open_algo_orders.json", list[AlgoOrder])
    assert isinstance(algos, list)
    new = P.algo_order_to_status_report(algos[0], ACCOUNT, ETH, 2, 3, TS_INIT)
    assert new.venue_order_id == VenueOrderId("7700000001")
    assert new.client_order_id == ClientOrderId("O-20250101-000000-001-001-2")
    assert new.order_type == OrderType.STOP_MARKET
    assert new.order_status == OrderStatus.ACCEPTED
    assert new.trigger_price == Price.from_str("3300.00")
    assert new.trigger_type == TriggerType.MARK_PRICE
    assert new.price is None
    assert new.reduce_only is True
    trig = P.algo_order_to_status_report(algos[1], ACCOUNT, ETH, 2, 3, TS_INIT)
    assert trig.venue_order_id == VenueOrderId("4200000088")
    assert trig.order_type == OrderType.LIMIT_IF_TOUCHED
    assert trig.order_status == OrderStatus.TRIGGERED
    assert trig.price == Price.from_str("3405.50")
    assert trig.trigger_type == TriggerType.LAST_PRICE
    assert trig.ts_triggered == 1735689611000 * 1_000_000


def test_algo_update_reports() -> None:
    fin = frame("algo_update_finished.json")
    assert isinstance(fin, AlgoUpdate)
    rep = P.algo_update_to_status_report(fin.algo, ACCOUNT, ETH, 2, 3, 10, TS_INIT)
    assert rep.order_status == OrderStatus.FILLED
    assert rep.venue_order_id == VenueOrderId("4200000077")
    assert rep.filled_qty == Quantity.from_str("0.300")
    assert rep.avg_px == Decimal("3300.40")
    new = frame("algo_update_new.json")
    assert isinstance(new, AlgoUpdate)
    rep2 = P.algo_update_to_status_report(new.algo, ACCOUNT, ETH, 2, 3, 10, TS_INIT)
    assert rep2.order_status == OrderStatus.ACCEPTED
    assert rep2.venue_order_id == VenueOrderId("7700000001")


def test_user_trade_fill_report() -> None:
    trades = http("http_user_trades.json", list[UserTrade])
    assert isinstance(trades, list)
    fr = P.user_trade_to_fill_report(trades[0], ACCOUNT, ETH, 2, 3, TS_INIT, ClientOrderId("O-1"))
    assert fr.venue_order_id == VenueOrderId("4200000001")
    assert fr.trade_id.value == "987650001"
    assert fr.order_side == OrderSide.SELL
    assert fr.last_qty == Quantity.from_str("0.100")
    assert fr.last_px == Price.from_str("3150.10")
    assert str(fr.commission) == "0.06300200 USDT"
    assert fr.liquidity_side == LiquiditySide.MAKER
    assert fr.ts_event == 1735689601000 * 1_000_000
    assert fr.client_order_id == ClientOrderId("O-1")


def test_position_reports() -> None:
    positions = http("http_position_risk_v3.json", list[PositionRisk])
    assert isinstance(positions, list)
    short = P.position_to_status_report(positions[0], ACCOUNT, ETH, 3, TS_INIT)
    assert short.position_side == PositionSide.SHORT
    assert short.quantity == Quantity.from_str("0.100")
    assert short.avg_px_open == Decimal("3150.10")
    flat = P.position_to_status_report(positions[1], ACCOUNT, P.format_instrument_id("BTCUSDT"), 3, TS_INIT)
    assert flat.position_side == PositionSide.FLAT
    assert flat.quantity == Quantity.from_str("0.000")
    assert flat.avg_px_open is None


def test_account_balances_and_margins() -> None:
    info = http("http_account_v3.json", AccountInfo)
    assert isinstance(info, AccountInfo)
    balances, margins = P.account_info_to_balances(info)
    assert len(balances) == 1  # zero BTC skipped
    b = balances[0]
    assert str(b.total) == "1520.41000000 USDT"
    assert str(b.free) == "1504.67000000 USDT"
    assert str(b.locked) == "15.74000000 USDT"
    assert len(margins) == 1
    assert str(margins[0].initial) == "15.75000000 USDT"
    assert str(margins[0].maintenance) == "1.26000000 USDT"
    bal = http("http_balance_v3.json", list[Balance])
    assert isinstance(bal, list)
    assert str(P.balances_to_account_balances(bal)[0].free) == "1504.67000000 USDT"


def test_account_update_balances_and_asset_map() -> None:
    ev = frame("account_update.json")
    assert isinstance(ev, AccountUpdate)
    bals = P.account_update_to_balances(ev.data)
    assert [str(b.total) for b in bals] == ["1520.41000000 USDT", "10.00000000 BNFCR"]
    assert str(bals[0].locked) == "120.41000000 USDT"
    mapped = P.account_update_to_balances(ev.data, {"BNFCR": "USDT"})
    assert mapped[1].total.currency == USDT


def test_balance_available_above_wallet_is_clamped() -> None:
    b = P._balance(USDT, "100", "120")
    assert str(b.locked) == "0.00000000 USDT" and str(b.free) == "100.00000000 USDT"


# ------------------------------------------------------------------------------------------------
# Instruments
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inc", "prec", "norm"),
    [
        ("0.10", 1, "0.1"),
        ("0.01", 2, "0.01"),
        ("1", 0, "1"),
        ("1.00", 0, "1"),
        ("10", 0, "10"),
        ("0.0000001", 7, "0.0000001"),
    ],
)
def test_increment_precision(inc: str, prec: int, norm: str) -> None:
    assert P.increment_precision(inc) == (prec, norm)


def test_exchange_info_to_perpetual() -> None:
    info = http("http_exchange_info.json", ExchangeInfo)
    assert isinstance(info, ExchangeInfo)
    btc = P.symbol_to_perpetual(info.symbols[0], TS_INIT, Decimal("0.0001"), Decimal("0.0004"))
    assert str(btc.id) == "BTCUSDT-PERP.BINANCE"
    assert btc.raw_symbol.value == "BTCUSDT"
    assert btc.price_precision == 1 and btc.price_increment == Price.from_str("0.1")
    assert btc.size_precision == 3 and btc.size_increment == Quantity.from_str("0.001")
    assert btc.min_quantity == Quantity.from_str("0.001") and btc.max_quantity == Quantity.from_str("1000")
    assert btc.min_price == Price.from_str("556.8") and btc.max_price == Price.from_str("4529764")
    assert str(btc.min_notional) == "100.00000000 USDT"
    assert btc.margin_init == Decimal("0.05") and btc.margin_maint == Decimal("0.025")
    assert btc.maker_fee == Decimal("0.0001") and btc.taker_fee == Decimal("0.0004")
    assert btc.base_currency.code == "BTC" and btc.settlement_currency == USDT
    assert btc.info["symbol"] == "BTCUSDT"
    pepe = P.symbol_to_perpetual(info.symbols[2], TS_INIT)
    assert pepe.size_precision == 0 and pepe.price_precision == 7
    assert pepe.base_currency.code == "1000PEPE"
    assert pepe.maker_fee == P.DEFAULT_MAKER_FEE
    with pytest.raises(ValueError, match="not a perpetual"):
        P.symbol_to_perpetual(info.symbols[3], TS_INIT)
    # fill price padded by the venue to pricePrecision=2 is exact at instrument precision 1
    assert P.parse_price("95000.50", btc.price_precision) == btc.make_price(Decimal("95000.5"))
