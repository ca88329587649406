"""core.order_status: quantity fallback for unknown statuses and the expired-as-canceled option."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.model.enums import OrderStatus

from adapters.core.orders.order_status import resolve_order_status, status_from_quantities


def test_status_from_quantities() -> None:
    assert status_from_quantities(Decimal(2), Decimal(0)) == OrderStatus.ACCEPTED
    assert status_from_quantities(Decimal(2), Decimal(1)) == OrderStatus.PARTIALLY_FILLED
    assert status_from_quantities(Decimal(2), Decimal(2)) == OrderStatus.FILLED


def test_resolve_order_status() -> None:
    two, one = Decimal(2), Decimal(1)
    assert resolve_order_status(None, two, one, False) == OrderStatus.PARTIALLY_FILLED
    assert resolve_order_status(OrderStatus.CANCELED, two, one, False) == OrderStatus.CANCELED
    assert resolve_order_status(OrderStatus.EXPIRED, two, one, False) == OrderStatus.EXPIRED
    assert resolve_order_status(OrderStatus.EXPIRED, two, one, True) == OrderStatus.CANCELED
