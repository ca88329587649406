"""Reports for orders this node did not submit (other sessions, the web UI, liquidations), and where
reports and account states go.

An external order's fill must reach the engine *with* its order report: a bare status report with a
filled quantity makes NautilusTrader infer a fill, and the real fill arriving later would then count
twice. :func:`send_order_with_fills` bundles them in one ``ExecutionMassStatus`` so the engine adopts
the exact fills. Venue-neutral (Binance and BingX use it).

The sinks (:class:`OrderReportSink`, :class:`AccountStateSink`, both in :class:`ReportSink`) are the
exec client as the user-stream handlers and the venue sync see it. ``generate_account_state`` is public
NautilusTrader API; the report senders are not: NautilusTrader 1.221's ``ExecutionClient`` offers no
public way to push an unsolicited report to the engine, only its ``cpdef`` ``_send_*_report`` methods
(each a ``msgbus.send`` to ``ExecEngine.reconcile_execution_report`` /
``ExecEngine.reconcile_execution_mass_status``). They are typed here, once, so that when a public path
appears only this module changes.
"""

from __future__ import annotations

from typing import Protocol

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.reports import ExecutionMassStatus, FillReport, OrderStatusReport
from nautilus_trader.model.identifiers import AccountId, ClientId, Venue
from nautilus_trader.model.objects import AccountBalance, MarginBalance


class OrderReportSink(Protocol):
    """The exec client's report senders (base-class ``cpdef`` methods; no public equivalent in
    NautilusTrader 1.221, see the module docstring)."""

    def _send_order_status_report(self, report: OrderStatusReport) -> None: ...
    def _send_mass_status_report(self, report: ExecutionMassStatus) -> None: ...


class AccountStateSink(Protocol):
    """Where account states go: ``ExecutionClient.generate_account_state`` (public API)."""

    def generate_account_state(
        self,
        balances: list[AccountBalance],
        margins: list[MarginBalance],
        reported: bool,
        ts_event: int,
        info: dict[str, object] | None = None,
    ) -> None: ...


class ReportSink(OrderReportSink, AccountStateSink, Protocol):
    """Where reports and account states go (the exec client), as both venues' user-stream handlers
    see it."""


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
