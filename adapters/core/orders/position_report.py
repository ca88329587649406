"""``PositionStatusReport`` from a venue's position amount and entry price strings (venue-neutral).

Which side a position is on is venue logic (Binance: the sign of the amount; BingX hedge mode: the
``positionSide`` field, with positive amounts for shorts) and is passed in; the rest is the same.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.reports import PositionStatusReport
from nautilus_trader.model.enums import PositionSide
from nautilus_trader.model.identifiers import AccountId, InstrumentId, PositionId

from adapters.core.parse.decimal_parse import is_nonzero, parse_quantity


def position_status_report(
    account_id: AccountId,
    instrument_id: InstrumentId,
    side: PositionSide,
    amount_s: str,
    entry_price_s: str | None,
    size_precision: int,
    ts_last: int,
    ts_init: int,
    venue_position_id: PositionId | None,
) -> PositionStatusReport:
    """Quantity is ``|amount|`` (``"0"`` for a flat or unreadable amount); the entry price is reported
    only for an open position and only when the venue sent a non-zero one (flat positions carry ``0``)."""
    quantity_s = amount_s.lstrip("-") if is_nonzero(amount_s) else "0"
    open_with_entry = side != PositionSide.FLAT and is_nonzero(entry_price_s)
    return PositionStatusReport(
        account_id=account_id,
        instrument_id=instrument_id,
        position_side=side,
        quantity=parse_quantity(quantity_s, size_precision),
        report_id=UUID4(),
        ts_last=ts_last,
        ts_init=ts_init,
        venue_position_id=venue_position_id,
        avg_px_open=Decimal(entry_price_s) if open_with_entry and entry_price_s else None,
    )
