"""The post-snapshot skeleton and external-order reports both venues' syncs share.

The contract under test: after the sync every tracked order's filled quantity equals the venue's
executed quantity (shortfalls fetched by order id), the per-symbol walks start from the cursors as
they were *before* anything was emitted, and only transient failures fail the attempt.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.model.enums import OrderSide, OrderType
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, StrategyId, VenueOrderId

from adapters.core.net.http_errors import FillsNotPublished
from adapters.core.orders.order_tracking import OrderTracker, TrackedOrder, fill_key
from adapters.core.userstream import gap_sync

LOG = logging.getLogger("tests.gap_sync")


class VenueDown(Exception):
    pass


class SymbolGone(Exception):
    pass


def _track(
    tracker: OrderTracker, cid: str, symbol: str, *, accepted: bool = True, filled: str = "0"
) -> TrackedOrder:
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
            filled=Decimal(filled),
        )
    )


async def _nothing(order: TrackedOrder) -> int:
    return 0


async def test_post_snapshot_resolves_gone_orders_backfills_and_refreshes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracker = OrderTracker()
    _track(tracker, "open", "AUSDT")
    _track(tracker, "gone", "BUSDT")
    _track(tracker, "unknown", "CUSDT", accepted=False)
    tracker.advance_cursor("DUSDT", 9)
    resolved: list[str] = []
    backfilled: list[tuple[str, int | None]] = []

    async def resolve(order: TrackedOrder) -> bool:
        resolved.append(order.client_order_id.value)
        return order.client_order_id.value != "unknown"

    async def backfill(symbol: str, cursor: int | None) -> int:
        backfilled.append((symbol, cursor))
        if symbol == "CUSDT":
            raise VenueDown("503")
        return 2

    refreshed: list[int] = []

    async def refresh() -> None:
        refreshed.append(1)

    with caplog.at_level(logging.INFO, logger="tests.gap_sync"):
        outcome = await gap_sync.post_snapshot(
            tracker=tracker,
            open_at_snapshot={"open": Decimal(0)},
            resolve_order=resolve,
            fetch_order_fills=_nothing,
            backfill_symbol=backfill,
            fills_query="userTrades",
            errors=VenueDown,
            log=LOG,
            venue_symbols={"EUSDT"},  # an external open order's symbol
            refresh_account=refresh,
        )
    assert resolved == ["gone", "unknown"]
    assert backfilled == [("AUSDT", None), ("BUSDT", None), ("CUSDT", None), ("DUSDT", 9), ("EUSDT", None)]
    assert "unknown is not on the venue yet" in caplog.text
    assert [(q.name, q.ok, q.required) for q in outcome.queries] == [
        ("closedOrders", True, True),
        ("userTrades:AUSDT", True, False),
        ("userTrades:BUSDT", True, False),
        ("userTrades:CUSDT", False, True),
        ("userTrades:DUSDT", True, False),
        ("userTrades:EUSDT", True, False),
        ("account", True, False),
    ]
    assert outcome.required_failed == ["userTrades:CUSDT"] and refreshed == [1]


async def test_post_snapshot_failed_resolution_fails_the_required_query() -> None:
    tracker = OrderTracker()
    _track(tracker, "gone", "AUSDT")

    async def resolve(order: TrackedOrder) -> bool:
        raise VenueDown("timeout")

    async def backfill(symbol: str, cursor: int | None) -> int:
        return 0

    outcome = await gap_sync.post_snapshot(
        tracker=tracker,
        open_at_snapshot={},
        resolve_order=resolve,
        fetch_order_fills=_nothing,
        backfill_symbol=backfill,
        fills_query="fillHistory",
        errors=VenueDown,
        log=LOG,
    )
    assert outcome.required_failed == ["closedOrders"]
    assert [q.name for q in outcome.queries] == ["closedOrders", "fillHistory:AUSDT"]  # no account


async def test_open_orders_short_of_the_venues_quantity_get_their_fills_by_id() -> None:
    """The bug this module exists for: an open order that partially filled in the gap. Its fills
    are fetched by its id whatever the cursor says, and an order whose fills the venue does not
    serve yet fails the attempt (retried) instead of completing with a known shortfall."""
    tracker = OrderTracker()
    a = _track(tracker, "A", "AUSDT")
    b = _track(tracker, "B", "AUSDT", filled="0.2")
    fetched: list[str] = []

    async def fetch(order: TrackedOrder) -> int:
        fetched.append(order.client_order_id.value)
        if order is a:
            order.filled = Decimal("0.151")
        return 1

    async def backfill(symbol: str, cursor: int | None) -> int:
        return 0

    outcome = await gap_sync.post_snapshot(
        tracker=tracker,
        open_at_snapshot={"A": Decimal("0.151"), "B": Decimal("0.3")},
        resolve_order=lambda o: _resolved(o),
        fetch_order_fills=fetch,
        backfill_symbol=backfill,
        fills_query="userTrades",
        errors=VenueDown,
        log=LOG,
    )
    assert fetched == ["A", "B"]
    assert a.filled == a.venue_filled == Decimal("0.151")
    assert b.venue_filled == Decimal("0.3") and b.missing_fills
    assert outcome.required_failed == ["orderFills"]  # B's trades not served yet: retried


async def _resolved(order: TrackedOrder) -> bool:
    return True


async def test_an_excess_over_the_venue_is_reread_then_logged_as_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracker = OrderTracker()
    stale = _track(tracker, "stale", "AUSDT", filled="0.5")
    _track(tracker, "wrong", "AUSDT", filled="0.5")

    async def resolve(order: TrackedOrder) -> bool:
        # A fresh read: the snapshot was just older than the stream's last fill for "stale".
        order.venue_filled = Decimal("0.5") if order is stale else Decimal("0.4")
        return True

    async def backfill(symbol: str, cursor: int | None) -> int:
        return 0

    with caplog.at_level(logging.ERROR, logger="tests.gap_sync"):
        await gap_sync.post_snapshot(
            tracker=tracker,
            open_at_snapshot={"stale": Decimal("0.4"), "wrong": Decimal("0.4")},
            resolve_order=resolve,
            fetch_order_fills=_nothing,
            backfill_symbol=backfill,
            fills_query="userTrades",
            errors=VenueDown,
            log=LOG,
        )
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == ["recovery: order wrong: the engine was told 0.5 filled but the venue reports 0.4"]
    assert stale.filled == Decimal("0.5")  # nothing taken back: an excess is reported, never "fixed"


async def test_walks_start_from_the_cursors_read_before_any_resolution() -> None:
    """Resolving the closed order B emits its (later) trade; the walk must still start where the
    cursor was, or the earlier trade of another order in the gap is skipped for good."""
    tracker = OrderTracker()
    tracker.advance_cursor("AUSDT", 99)
    _track(tracker, "B", "AUSDT")
    walks: list[int | None] = []

    async def resolve(order: TrackedOrder) -> bool:
        tracker.mark_seen(fill_key("AUSDT", 105, OrderSide.BUY))
        tracker.advance_cursor("AUSDT", 105)  # even if some path moved it, the walk must not care
        return True

    async def backfill(symbol: str, cursor: int | None) -> int:
        walks.append(cursor)
        return 0

    await gap_sync.post_snapshot(
        tracker=tracker,
        open_at_snapshot={},
        resolve_order=resolve,
        fetch_order_fills=_nothing,
        backfill_symbol=backfill,
        fills_query="userTrades",
        errors=VenueDown,
        log=LOG,
    )
    assert walks == [99]


async def test_a_permanent_failure_is_logged_and_does_not_block_the_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A delisted symbol (-1121) answers the same forever: retrying the recovery for it would keep
    the stream blind. It is an ERROR naming the symbol, and the attempt proceeds."""
    tracker = OrderTracker()
    _track(tracker, "gone", "DEADUSDT")
    _track(tracker, "ok", "AUSDT")

    async def resolve(order: TrackedOrder) -> bool:
        if order.symbol == "DEADUSDT":
            raise SymbolGone("-1121 Invalid symbol.")
        return True

    async def backfill(symbol: str, cursor: int | None) -> int:
        if symbol == "DEADUSDT":
            raise SymbolGone("-1121 Invalid symbol.")
        return 0

    with caplog.at_level(logging.ERROR, logger="tests.gap_sync"):
        outcome = await gap_sync.post_snapshot(
            tracker=tracker,
            open_at_snapshot={},
            resolve_order=resolve,
            fetch_order_fills=_nothing,
            backfill_symbol=backfill,
            fills_query="userTrades",
            errors=(VenueDown, SymbolGone),
            log=LOG,
            is_permanent=lambda exc: isinstance(exc, SymbolGone),
        )
    assert outcome.required_failed == [] and not outcome.all_failed
    assert "DEADUSDT" in caplog.text and "cannot be verified" in caplog.text


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


def _external(
    tracker: OrderTracker,
    send: Any,
    *,
    executed: str,
    trades: list[tuple[int, str]],
    fetched: list[int] | None = None,
) -> Any:
    """``report_external_order`` over trades given as (trade id, quantity)."""

    async def fetch() -> list[tuple[int, str]]:
        if fetched is not None:
            fetched.append(1)
        return trades

    order = gap_sync.ExternalOrder(
        ident="web-1",
        executed=Decimal(executed),
        order_report=lambda: "order",  # type: ignore[arg-type,return-value]
        trades=fetch,
        key_of=lambda t: fill_key("AUSDT", t[0], OrderSide.SELL),
        quantity_of=lambda t: Decimal(t[1]),
        fill_report=lambda t, ts: ("fill", t[0], ts),  # type: ignore[arg-type,return-value]
    )
    return gap_sync.report_external_order(order, tracker=tracker, clock_ns=lambda: 42, send=send, log=LOG)


async def test_an_external_order_is_reported_once_with_every_fill_and_marked_only_once_sent() -> None:
    tracker = OrderTracker()
    sent: list[Any] = []
    fail = [True]

    def send(r: Any, f: Any) -> None:
        if fail[0]:
            fail[0] = False
            raise ValueError("cannot build")
        sent.append((r, f))

    trades = [(5, "0.1"), (6, "0.2")]
    with pytest.raises(ValueError):
        await _external(tracker, send, executed="0.3", trades=trades)
    assert not tracker.is_seen(fill_key("AUSDT", 5, OrderSide.SELL))  # not sent: not marked
    assert await _external(tracker, send, executed="0.3", trades=trades) == 1
    assert sent == [("order", [("fill", 5, 42), ("fill", 6, 42)])]
    assert tracker.is_seen(fill_key("AUSDT", 5, OrderSide.SELL))
    assert tracker.is_seen(fill_key("AUSDT", 6, OrderSide.SELL))


async def test_an_external_order_whose_trades_do_not_add_up_is_not_reported() -> None:
    """Trades short of (or beyond) the executed quantity: the engine would infer the difference, so
    nothing is sent and the attempt is retried on fresh views."""
    tracker = OrderTracker()
    sent: list[Any] = []
    for trades in ([(5, "0.1")], [(5, "0.1"), (6, "0.2"), (7, "0.1")]):
        with pytest.raises(FillsNotPublished, match=r"executed 0\.3 on the venue"):
            await _external(tracker, lambda r, f: sent.append((r, f)), executed="0.3", trades=trades)
    assert sent == [] and len(tracker.seen_trades) == 0


async def test_an_external_order_without_fills_is_reported_bare_without_asking_for_trades() -> None:
    sent: list[Any] = []
    fetched: list[int] = []
    n = await _external(
        OrderTracker(), lambda r, f: sent.append((r, f)), executed="0", trades=[], fetched=fetched
    )
    assert n == 1 and sent == [("order", [])] and fetched == []
