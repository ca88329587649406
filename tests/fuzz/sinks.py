"""A sink that does what the engine would do with every call: build the real NautilusTrader objects.

A sink that only records its arguments cannot observe the most dangerous failure there is: the Rust
core aborting the process while an event is *constructed* (an out-of-range raw value, an identifier
with NUL or non-ASCII text). Here every ``generate_*`` builds the event exactly as
``ExecutionClient.generate_*`` does, every report is read field by field and its fills are turned
into ``OrderFilled`` events as reconciliation would, and every account state is an ``AccountState``.
What was built is recorded for the value oracles.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.reports import ExecutionMassStatus, FillReport, OrderStatusReport
from nautilus_trader.model.enums import AccountType, OrderType
from nautilus_trader.model.events import (
    AccountState,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
    OrderUpdated,
)
from nautilus_trader.model.identifiers import AccountId, ClientOrderId, StrategyId, TraderId

TRADER = TraderId("FUZZ-001")
EXTERNAL = StrategyId("EXTERNAL")
TS_INIT = 1_700_000_000_000_000_000


@dataclass(frozen=True, slots=True)
class Fill:
    """One fill the engine would receive (an event for our orders, a report for external ones)."""

    source: str  # "event" | "report"
    trade_id: str
    qty: Decimal
    px: Decimal
    commission: Decimal
    ts_event: int
    client_order_id: str | None


class RealSink:
    def __init__(self, account_id: AccountId) -> None:
        self.account_id = account_id
        self.fills: list[Fill] = []
        self.events: list[Any] = []
        self.reports: list[Any] = []
        self.accounts: list[AccountState] = []

    # --- order events (OrderFacts' sink) -------------------------------------------------------
    def generate_order_accepted(self, strategy_id, instrument_id, client_order_id, venue_order_id, ts_event):  # type: ignore[no-untyped-def]
        self.events.append(
            OrderAccepted(
                TRADER,
                strategy_id,
                instrument_id,
                client_order_id,
                venue_order_id,
                self.account_id,
                UUID4(),
                ts_event,
                TS_INIT,
            )
        )

    def generate_order_rejected(
        self,
        strategy_id,
        instrument_id,
        client_order_id,
        reason,
        ts_event,  # type: ignore[no-untyped-def]
        due_post_only=False,
    ):
        self.events.append(
            OrderRejected(
                TRADER,
                strategy_id,
                instrument_id,
                client_order_id,
                self.account_id,
                reason,
                UUID4(),
                ts_event,
                TS_INIT,
                False,
                due_post_only,
            )
        )

    def generate_order_canceled(self, strategy_id, instrument_id, client_order_id, venue_order_id, ts_event):  # type: ignore[no-untyped-def]
        self.events.append(
            OrderCanceled(
                TRADER,
                strategy_id,
                instrument_id,
                client_order_id,
                venue_order_id,
                self.account_id,
                UUID4(),
                ts_event,
                TS_INIT,
            )
        )

    def generate_order_expired(self, strategy_id, instrument_id, client_order_id, venue_order_id, ts_event):  # type: ignore[no-untyped-def]
        self.events.append(
            OrderExpired(
                TRADER,
                strategy_id,
                instrument_id,
                client_order_id,
                venue_order_id,
                self.account_id,
                UUID4(),
                ts_event,
                TS_INIT,
            )
        )

    def generate_order_triggered(self, strategy_id, instrument_id, client_order_id, venue_order_id, ts_event):  # type: ignore[no-untyped-def]
        self.events.append(
            OrderTriggered(
                TRADER,
                strategy_id,
                instrument_id,
                client_order_id,
                venue_order_id,
                self.account_id,
                UUID4(),
                ts_event,
                TS_INIT,
            )
        )

    def generate_order_updated(
        self,
        strategy_id,
        instrument_id,
        client_order_id,
        venue_order_id,  # type: ignore[no-untyped-def]
        quantity,
        price,
        trigger_price,
        ts_event,
        venue_order_id_modified=False,
    ):
        self.events.append(
            OrderUpdated(
                TRADER,
                strategy_id,
                instrument_id,
                client_order_id,
                venue_order_id,
                self.account_id,
                quantity,
                price,
                trigger_price,
                UUID4(),
                ts_event,
                TS_INIT,
            )
        )

    def generate_order_filled(
        self,
        strategy_id,
        instrument_id,
        client_order_id,
        venue_order_id,  # type: ignore[no-untyped-def]
        venue_position_id,
        trade_id,
        order_side,
        order_type,
        last_qty,
        last_px,
        quote_currency,
        commission,
        liquidity_side,
        ts_event,
    ):
        event = OrderFilled(
            trader_id=TRADER,
            strategy_id=strategy_id,
            instrument_id=instrument_id,
            client_order_id=client_order_id,
            venue_order_id=venue_order_id,
            account_id=self.account_id,
            trade_id=trade_id,
            position_id=venue_position_id,
            order_side=order_side,
            order_type=order_type,
            last_qty=last_qty,
            last_px=last_px,
            currency=quote_currency,
            commission=commission,
            liquidity_side=liquidity_side,
            event_id=UUID4(),
            ts_event=ts_event,
            ts_init=TS_INIT,
        )
        self.events.append(event)
        self.fills.append(
            Fill(
                "event",
                event.trade_id.value,
                event.last_qty.as_decimal(),
                event.last_px.as_decimal(),
                event.commission.as_decimal(),
                event.ts_event,
                client_order_id.value,
            )
        )

    # --- reports (the exec client's report path) -----------------------------------------------
    def _send_order_status_report(self, report: OrderStatusReport) -> None:
        self._read_status(report)

    def _send_mass_status_report(self, report: ExecutionMassStatus) -> None:
        for status in report.order_reports.values():
            self._read_status(status)
        for fills in report.fill_reports.values():
            for fill in fills:
                self._read_fill(fill)
        for positions in report.position_reports.values():
            for p in positions:
                repr(p)
        self.reports.append(report)

    def _send_fill_report(self, report: FillReport) -> None:
        self._read_fill(report)

    def _read_status(self, report: OrderStatusReport) -> None:
        # What reconciliation reads (and formats into its logs).
        repr(report)
        _ = (report.quantity, report.filled_qty, report.price, report.trigger_price, report.avg_px)
        self.reports.append(report)

    def _read_fill(self, report: FillReport) -> None:
        repr(report)
        cid = report.client_order_id or ClientOrderId("EXTERNAL-1")
        event = OrderFilled(
            trader_id=TRADER,
            strategy_id=EXTERNAL,
            instrument_id=report.instrument_id,
            client_order_id=cid,
            venue_order_id=report.venue_order_id,
            account_id=self.account_id,
            trade_id=report.trade_id,
            position_id=report.venue_position_id,
            order_side=report.order_side,
            order_type=OrderType.MARKET,
            last_qty=report.last_qty,
            last_px=report.last_px,
            currency=report.commission.currency,
            commission=report.commission,
            liquidity_side=report.liquidity_side,
            event_id=UUID4(),
            ts_event=report.ts_event,
            ts_init=TS_INIT,
            reconciliation=True,
        )
        self.events.append(event)
        self.fills.append(
            Fill(
                "report",
                report.trade_id.value,
                report.last_qty.as_decimal(),
                report.last_px.as_decimal(),
                report.commission.as_decimal(),
                report.ts_event,
                report.client_order_id.value if report.client_order_id else None,
            )
        )

    # --- account -------------------------------------------------------------------------------
    def generate_account_state(self, balances, margins, reported, ts_event, info=None):  # type: ignore[no-untyped-def]
        state = AccountState(
            account_id=self.account_id,
            account_type=AccountType.MARGIN,
            base_currency=None,
            reported=reported,
            balances=balances,
            margins=margins,
            info=info or {},
            event_id=UUID4(),
            ts_event=ts_event,
            ts_init=TS_INIT,
        )
        repr(state)
        self.accounts.append(state)
