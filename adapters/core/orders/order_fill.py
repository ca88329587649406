"""The fill arguments both venues hand to ``generate_order_filled``, and the ``FillReport`` built from them.

A venue parses its own execution payload into an :class:`OrderFill`; turning that into a report for
reconciliation is the same for every venue, so it lives here once.
"""

from __future__ import annotations

from typing import NamedTuple

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.reports import FillReport
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


class OrderFill(NamedTuple):
    """Positional args of ``ExecutionClient.generate_order_filled`` after ``client_order_id``.

    Use: ``client.generate_order_filled(strategy_id, instrument_id, client_order_id, *fill)``.
    """

    venue_order_id: VenueOrderId
    venue_position_id: PositionId | None
    trade_id: TradeId
    order_side: OrderSide
    order_type: OrderType
    last_qty: Quantity
    last_px: Price
    quote_currency: Currency
    commission: Money
    liquidity_side: LiquiditySide
    ts_event: int


def order_fill_to_fill_report(
    fill: OrderFill,
    account_id: AccountId,
    instrument_id: InstrumentId,
    ts_init: int,
    client_order_id: ClientOrderId | None,
    venue_position_id: PositionId | None,
) -> FillReport:
    """``FillReport`` for a parsed fill (a user-stream execution seen outside the live order flow)."""
    return FillReport(
        account_id=account_id,
        instrument_id=instrument_id,
        venue_order_id=fill.venue_order_id,
        trade_id=fill.trade_id,
        order_side=fill.order_side,
        last_qty=fill.last_qty,
        last_px=fill.last_px,
        commission=fill.commission,
        liquidity_side=fill.liquidity_side,
        report_id=UUID4(),
        ts_event=fill.ts_event,
        ts_init=ts_init,
        client_order_id=client_order_id,
        venue_position_id=venue_position_id,
    )
