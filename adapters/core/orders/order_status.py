"""Order-status rules shared by the venues: the quantity fallback and the "expired as canceled" option."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.model.enums import OrderStatus


def status_from_quantities(quantity: Decimal, filled: Decimal) -> OrderStatus:
    """For a status string the venue table does not know: nothing filled -> ACCEPTED (still working),
    partly -> PARTIALLY_FILLED, all -> FILLED."""
    if filled <= 0:
        return OrderStatus.ACCEPTED
    return OrderStatus.FILLED if filled >= quantity else OrderStatus.PARTIALLY_FILLED


def resolve_order_status(
    mapped: OrderStatus | None, quantity: Decimal, filled: Decimal, treat_expired_as_canceled: bool
) -> OrderStatus:
    """The mapped status (``None``: unknown, derived from quantities), EXPIRED read as CANCELED on request."""
    if mapped is None:
        return status_from_quantities(quantity, filled)
    if mapped == OrderStatus.EXPIRED and treat_expired_as_canceled:
        return OrderStatus.CANCELED
    return mapped
