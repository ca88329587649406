"""core.position_report: quantity is |amount|; entry price only for open positions with a non-zero one."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.execution.reports import PositionStatusReport
from nautilus_trader.model.enums import PositionSide
from nautilus_trader.model.identifiers import AccountId, InstrumentId
from nautilus_trader.model.objects import Quantity

from adapters.core.orders.position_report import position_status_report

ACCOUNT = AccountId("TESTVENUE-1")
IID = InstrumentId.from_str("BTCUSDT-PERP.TESTVENUE")


def _report(side: PositionSide, amount: str, entry: str | None) -> PositionStatusReport:
    return position_status_report(ACCOUNT, IID, side, amount, entry, 3, 10, 20, None)


def test_short_amount_is_reported_positive_with_entry() -> None:
    report = _report(PositionSide.SHORT, "-0.250", "65000.5")
    assert report.quantity == Quantity.from_str("0.250")
    assert report.avg_px_open == Decimal("65000.5")
    assert (report.ts_last, report.ts_init) == (10, 20)


def test_flat_or_zero_entry_has_no_avg_px() -> None:
    assert _report(PositionSide.FLAT, "0", "65000").quantity == Quantity.from_str("0.000")
    assert _report(PositionSide.FLAT, "0", "65000").avg_px_open is None
    assert _report(PositionSide.LONG, "1", "0.0").avg_px_open is None
    assert _report(PositionSide.LONG, "1", None).avg_px_open is None
