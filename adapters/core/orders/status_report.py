"""An ``OrderStatusReport`` from a venue order's fields, with the reading rules both venues share.

Each venue maps its own order shapes (REST order, stream order update, Binance algo order) to the
NautilusTrader vocabulary - side, type, time in force, status, trigger type - and says which of its fields
is the price, the trigger price and the average price. What is then the same on every venue is here,
once: quantities are exact venue text at the instrument's size precision; a price, trigger price or
average price that is absent, ``""`` or zero means "not set" (None), and any other text must be a strict
decimal (:func:`adapters.core.parse.decimal_parse.is_nonzero` rejects garbage, naming nothing is read as
0); the report gets a fresh id.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.reports import OrderStatusReport
from nautilus_trader.model.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
    TriggerType,
)
from nautilus_trader.model.identifiers import AccountId, ClientOrderId, InstrumentId, PositionId, VenueOrderId
from nautilus_trader.model.objects import Price

from adapters.core.parse.decimal_parse import is_nonzero, parse_price, parse_quantity, to_decimal


def optional_price(s: str | None, precision: int) -> Price | None:
    """A venue price that may be unset: absent, ``""`` or zero -> None."""
    return parse_price(s, precision) if s and is_nonzero(s) else None


def order_status_report(
    account_id: AccountId,
    instrument_id: InstrumentId,
    venue_order_id: str,
    order_side: OrderSide,
    order_type: OrderType,
    time_in_force: TimeInForce,
    order_status: OrderStatus,
    *,
    quantity: str,
    filled_qty: str,
    size_precision: int,
    price_precision: int,
    price: str | None,
    trigger_price: Price | None = None,
    trigger_type: TriggerType = TriggerType.NO_TRIGGER,
    trailing_offset: Decimal | None = None,
    trailing_offset_type: TrailingOffsetType = TrailingOffsetType.NO_TRAILING_OFFSET,
    avg_px: str | None,
    post_only: bool,
    reduce_only: bool,
    ts_accepted: int,
    ts_last: int,
    ts_init: int,
    client_order_id: ClientOrderId | None,
    venue_position_id: PositionId | None,
    expire_time: pd.Timestamp | None = None,
    ts_triggered: int | None = None,
) -> OrderStatusReport:
    """The report of one venue order. ``quantity``/``filled_qty`` are venue text (unsigned);
    ``price``/``avg_px`` venue text that may be unset; the trigger price is parsed by the venue (which
    field holds it depends on the order type there)."""
    return OrderStatusReport(
        account_id=account_id,
        instrument_id=instrument_id,
        venue_order_id=VenueOrderId(venue_order_id),
        order_side=order_side,
        order_type=order_type,
        time_in_force=time_in_force,
        order_status=order_status,
        quantity=parse_quantity(quantity, size_precision),
        filled_qty=parse_quantity(filled_qty, size_precision),
        report_id=UUID4(),
        ts_accepted=ts_accepted,
        ts_last=ts_last,
        ts_init=ts_init,
        client_order_id=client_order_id,
        venue_position_id=venue_position_id,
        expire_time=expire_time,
        price=optional_price(price, price_precision),
        trigger_price=trigger_price,
        trigger_type=trigger_type,
        trailing_offset=trailing_offset,
        trailing_offset_type=trailing_offset_type,
        avg_px=to_decimal(avg_px) if avg_px and is_nonzero(avg_px) else None,
        post_only=post_only,
        reduce_only=reduce_only,
        ts_triggered=ts_triggered,
    )
