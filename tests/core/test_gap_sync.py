"""The post-snapshot skeleton and external-order reports both venues' syncs share."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.model.enums import OrderSide, OrderType
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, StrategyId, VenueOrderId

from adapters.core import gap_sync
from adapters.core.order_tracking import OrderTracker, TrackedOrder

LOG = logging.getLogger("tests.gap_sync")


class VenueDown(Exception):
    pass


def _track(tracker: OrderTracker, cid: str, symbol: str, *, accepted: bool = True) -> TrackedOrder:
    return tracker.track(
        TrackedOrder(
            client_order_id=ClientOrderId(cid),
            strategy_id=StrategyId("S-001"),
            instrument_id=InstrumentId.from_str(f"{symbol}-PERP.BINANCE"),
            symbol=symbol,
            side=OrderSide.BUY,
            order_type=OrderType.LIMIT,
            is_algo=False,
            quantity=Decimal(1),
            venue_order_id=VenueOrderId(cid) if accepted else None,
            accepted=accepted,
        )
    )


async def test_post_snapshot_resolves_gone_orders_backfills_and_refreshes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracker = OrderTracker()
    _track(tracker, "open", "AUSDT")
    _track(tracker, "gone", "BUSDT")
    _track(tracker, "unknown", "CUSDT", accepted=False)
    tracker.last_trade_id["DUSDT"] = 9
    resolved: list[str] = []
    backfilled: list[str] = []

    async def resolve(order: TrackedOrder) -> bool:
        resolved.append(order.client_order_id.value)
        return order.client_order_id.value != "unknown"

    async def backfill(symbol: str) -> int:
        backfilled.append(symbol)
        if symbol == "CUSDT":
            raise VenueDown("503")
        return 2

    refreshed: list[int] = []

    async def refresh() -> None:
        refreshed.append(1)

    with caplog.at_level(logging.INFO, logger="tests.gap_sync"):
        outcome = await gap_sync.post_snapshot(
            tracker=tracker,
            open_at_snapshot={"open"},
            resolve_order=resolve,
            backfill_symbol=backfill,
            fills_query="userTrades",
            errors=VenueDown,
            log=LOG,
            refresh_account=refresh,
        )
    assert resolved == ["gone", "unknown"]
    assert backfilled == ["AUSDT", "BUSDT", "CUSDT", "DUSDT"]
    assert "unknown is not on the venue yet" in caplog.text
    assert [(q.name, q.ok, q.required) for q in outcome.queries] == [
        ("closedOrders", True, True),
        ("userTrades:AUSDT", True, False),
        ("userTrades:BUSDT", True, False),
        ("userTrades:CUSDT", False, True),
        ("userTrades:DUSDT", True, False),
        ("account", True, False),
    ]
    assert outcome.required_failed == ["userTrades:CUSDT"] and refreshed == [1]


async def test_post_snapshot_failed_resolution_fails_the_required_query() -> None:
    tracker = OrderTracker()
    _track(tracker, "gone", "AUSDT")

    async def resolve(order: TrackedOrder) -> bool:
        raise VenueDown("timeout")

    async def backfill(symbol: str) -> int:
        return 0

    outcome = await gap_sync.post_snapshot(
        tracker=tracker,
        open_at_snapshot=set(),
        resolve_order=resolve,
        backfill_symbol=backfill,
        fills_query="fillHistory",
        errors=VenueDown,
        log=LOG,
    )
    assert outcome.required_failed == ["closedOrders"]
    assert [q.name for q in outcome.queries] == ["closedOrders", "fillHistory:AUSDT"]  # no account


def test_report_external_skips_what_no_report_represents(caplog: pytest.LogCaptureFixture) -> None:
    sent: list[Any] = []

    def bad() -> Any:
        raise ValueError("zero quantity")

    assert (
        gap_sync.report_external(
            lambda r, f: sent.append((r, f)), lambda: "R", log=LOG, what="order", ident=1
        )
        == 1
    )
    with caplog.at_level(logging.WARNING, logger="tests.gap_sync"):
        assert (
            gap_sync.report_external(lambda r, f: sent.append(r), bad, log=LOG, what="algo order", ident=2)
            == 0
        )
    assert sent == [("R", [])]
    assert "recovery: external algo order 2 not reported: zero quantity" in caplog.text


def test_report_external_fill_once_per_trade() -> None:
    tracker = OrderTracker()
    sent: list[Any] = []

    def call() -> int:
        return gap_sync.report_external_fill(
            tracker=tracker,
            symbol="AUSDT",
            trade_id=5,
            info=lambda: "info",
            position_id=lambda info: None,
            clock_ns=lambda: 42,
            send=lambda r, f: sent.append((r, f)),
            order_report=lambda info, ts, pos: (info, ts, pos, "order"),  # type: ignore[arg-type,return-value]
            fill_report=lambda info, ts, pos: (info, ts, pos, "fill"),  # type: ignore[arg-type,return-value]
        )

    assert call() == 1 and call() == 0
    assert sent == [(("info", 42, None, "order"), [("info", 42, None, "fill")])]
    assert tracker.last_trade_id["AUSDT"] == 5
