"""core.orders.status_report: the reading rules both venues' order reports share."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.execution.reports import OrderStatusReport
from nautilus_trader.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from nautilus_trader.model.identifiers import AccountId, InstrumentId
from nautilus_trader.model.objects import Price

from adapters.core.orders.status_report import optional_price, order_status_report
from adapters.core.parse.wire_values import WireValueError

ACCOUNT = AccountId("SIM-001")
ETH = InstrumentId.from_str("ETHUSDT-PERP.SIM")


@pytest.mark.parametrize("text", [None, "", "0", "0.000"])
def test_an_unset_price_is_none(text: str | None) -> None:
    assert optional_price(text, 2) is None


def test_a_set_price_keeps_its_exact_value_and_garbage_is_rejected() -> None:
    assert optional_price("2500.10", 2) == Price.from_str("2500.10")
    with pytest.raises(WireValueError):
        optional_price("1e5", 2)


def _report(price: str | None, avg_px: str | None) -> OrderStatusReport:
    return order_status_report(
        ACCOUNT,
        ETH,
        "123",
        OrderSide.BUY,
        OrderType.LIMIT,
        TimeInForce.GTC,
        OrderStatus.PARTIALLY_FILLED,
        quantity="1.500",
        filled_qty="0.500",
        size_precision=3,
        price_precision=2,
        price=price,
        avg_px=avg_px,
        post_only=True,
        reduce_only=False,
        ts_accepted=1,
        ts_last=2,
        ts_init=3,
        client_order_id=None,
        venue_position_id=None,
    )


def test_report_fields_from_venue_text() -> None:
    report = _report("2500.10", "2500.05")
    assert str(report.venue_order_id) == "123"
    assert str(report.quantity) == "1.500" and str(report.filled_qty) == "0.500"
    assert report.price == Price.from_str("2500.10")
    assert report.avg_px == Decimal("2500.05")
    assert report.post_only and not report.reduce_only
    assert (report.ts_accepted, report.ts_last, report.ts_init) == (1, 2, 3)
    unset = _report("0", "")
    assert unset.price is None and unset.avg_px is None
