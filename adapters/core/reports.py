"""Reports for orders this node did not submit (other sessions, the web UI, liquidations).

An external order's fill must reach the engine *with* its order report: a bare status report with a
filled quantity makes NautilusTrader infer a fill, and the real fill arriving later would then count
twice. :func:`send_order_with_fills` bundles them in one ``ExecutionMassStatus`` so the engine adopts
the exact fills. Venue-neutral (Binance and BingX use it).
"""

from __future__ import annotations

from typing import Protocol

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.reports import ExecutionMassStatus, FillReport, OrderStatusReport
from nautilus_trader.model.identifiers import AccountId, ClientId, Venue


class OrderReportSink(Protocol):
    """The exec client's report senders (base-class ``cpdef`` methods)."""

    def _send_order_status_report(self, report: OrderStatusReport) -> None: ...
    def _send_mass_status_report(self, report: ExecutionMassStatus) -> None: ...


def send_order_with_fills(
    sink: OrderReportSink,
    client_id: ClientId,
    account_id: AccountId,
    venue: Venue,
    report: OrderStatusReport,
    fills: list[FillReport],
) -> None:
    """Send ``report`` alone, or with its ``fills`` bundled in one mass status."""
    if not fills:
        sink._send_order_status_report(report)
        return
    mass = ExecutionMassStatus(
        client_id=client_id,
        account_id=account_id,
        venue=venue,
        report_id=UUID4(),
        ts_init=report.ts_init,
    )
    mass.add_order_reports([report])
    mass.add_fill_reports(fills)
    sink._send_mass_status_report(mass)
