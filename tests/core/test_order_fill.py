"""core.order_fill: a parsed fill becomes a FillReport field for field."""

from __future__ import annotations

from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderType
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    PositionId,
    TradeId,
    VenueOrderId,
)
from nautilus_trader.model.objects import Currency, Money, Price, Quantity

from adapters.core.orders.order_fill import OrderFill, order_fill_to_fill_report


def test_fill_report_from_order_fill() -> None:
    usdt = Currency.from_str("USDT")
    fill = OrderFill(
        VenueOrderId("1"),
        None,
        TradeId("7"),
        OrderSide.BUY,
        OrderType.LIMIT,
        Quantity.from_str("0.5"),
        Price.from_str("100.1"),
        usdt,
        Money.from_str("0.01 USDT"),
        LiquiditySide.MAKER,
        123,
    )
    iid = InstrumentId.from_str("BTCUSDT-PERP.TESTVENUE")
    pid = PositionId("P-1")
    report = order_fill_to_fill_report(fill, AccountId("TESTVENUE-1"), iid, 456, ClientOrderId("C-1"), pid)
    assert report.venue_order_id == VenueOrderId("1")
    assert report.trade_id == TradeId("7")
    assert report.order_side == OrderSide.BUY
    assert report.last_qty == Quantity.from_str("0.5")
    assert report.last_px == Price.from_str("100.1")
    assert report.commission == Money.from_str("0.01 USDT")
    assert report.liquidity_side == LiquiditySide.MAKER
    assert (report.ts_event, report.ts_init) == (123, 456)
    assert report.client_order_id == ClientOrderId("C-1")
    assert report.venue_position_id == pid
