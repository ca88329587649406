"""The gap sync's less travelled paths, each pinned to what it reports: exact query results (name,
ok, emitted, required, skipped, error), the documented log lines an operator acts on, the account
refresh failing, permanent errors on each step, the excess re-read failing, and the position id and
timestamps of a backfilled external fill (hedge mode)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.model.enums import OrderSide, OrderType
from nautilus_trader.model.identifiers import (
    ClientOrderId,
    InstrumentId,
    StrategyId,
    VenueOrderId,
)

from adapters.core.orders.order_tracking import OrderTracker, Terminal, TrackedOrder, fill_key
from adapters.core.userstream import gap_sync
from adapters.core.userstream.recovery import QueryResult

LOG = logging.getLogger("tests.gap_sync_paths")


class VenueDown(Exception):
    pass


class SymbolGone(Exception):
    pass


def _track(
    tracker: OrderTracker, cid: str, symbol: str = "AUSDT", *, accepted: bool = True, filled: str = "0"
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


async def _resolved(order: TrackedOrder) -> bool:
    return True


async def _nothing(order: TrackedOrder) -> int:
    return 0


async def _no_fills(symbol: str, cursor: int | None) -> int:
    return 0


async def _sync(tracker: OrderTracker, **kwargs: Any) -> list[tuple[Any, ...]]:
    args: dict[str, Any] = {
        "tracker": tracker,
        "open_at_snapshot": {},
        "resolve_order": _resolved,
        "fetch_order_fills": _nothing,
        "backfill_symbol": _no_fills,
        "fills_query": "userTrades",
        "errors": (VenueDown, SymbolGone),
        "log": LOG,
        "is_permanent": lambda exc: isinstance(exc, SymbolGone),
    }
    args.update(kwargs)
    outcome = await gap_sync.post_snapshot(**args)
    return [(q.name, q.ok, q.emitted, q.error, q.required, q.skipped) for q in outcome.queries]


def _records(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == LOG.name]


# ------------------------------------------------------------------------------------------------
# Step 1: orders closed during the gap
# ------------------------------------------------------------------------------------------------


async def test_closed_orders_count_resolved_unknown_permanent_and_failed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracker = OrderTracker()
    for cid in ("ok", "unknown", "inflight", "dead", "down"):
        _track(tracker, cid, accepted=cid != "inflight")

    async def resolve(order: TrackedOrder) -> bool:
        cid = order.client_order_id.value
        if cid == "dead":
            raise SymbolGone("-1121")
        if cid == "down":
            raise VenueDown("503")
        return cid == "ok"

    with caplog.at_level(logging.INFO, logger=LOG.name):
        queries = await _sync(tracker, resolve_order=resolve)
    # 4 answered (one of them for good, with an error); 1 failed: the required query fails.
    assert queries[0] == ("closedOrders", False, 4, None, True, False)
    assert _records(caplog) == [
        ("ERROR", "recovery: accepted order unknown is unknown to the venue; leaving it to reconciliation"),
        ("INFO", "recovery: inflight is not on the venue yet; its submit decides"),
        ("ERROR", "recovery: order dead cannot be resolved (SymbolGone('-1121')); skipped"),
        ("WARNING", "recovery: could not resolve down: VenueDown('503')"),
    ]


async def test_a_not_found_sent_before_the_acceptance_arrived_is_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # make chaos N=1000 (BingX seed 10): a recovery asked for an order the snapshot did not list
    # while its submit was on its way; the submit's answer (accepted) arrived before the query's
    # (not found). The "not found" is older than the acceptance: the order is not on the venue *yet*.
    tracker = OrderTracker()
    _track(tracker, "racing", accepted=False)

    async def resolve(order: TrackedOrder) -> bool:
        order.accepted = True  # the submit's answer lands while the query is out
        return False

    with caplog.at_level(logging.INFO, logger=LOG.name):
        await _sync(tracker, resolve_order=resolve)
    assert _records(caplog) == [("INFO", "recovery: racing is not on the venue yet; its submit decides")]


async def test_closed_orders_all_resolved_is_one_ok_query() -> None:
    tracker = OrderTracker()
    _track(tracker, "a")
    _track(tracker, "b", "BUSDT")
    closed: list[str] = []

    async def resolve(order: TrackedOrder) -> bool:
        tracker.close(order, Terminal.CANCELED)
        closed.append(order.client_order_id.value)
        return True

    queries = await _sync(tracker, resolve_order=resolve)
    assert queries[0] == ("closedOrders", True, 2, None, True, False)
    # The closed orders' symbols are still walked: their fills may be the gap's.
    assert [q[0] for q in queries[1:]] == ["userTrades:AUSDT", "userTrades:BUSDT"]
    assert closed == ["a", "b"] and tracker.open_orders() == []


async def test_an_error_outside_the_venue_errors_is_not_swallowed() -> None:
    tracker = OrderTracker()
    _track(tracker, "a")

    async def resolve(order: TrackedOrder) -> bool:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        await _sync(tracker, resolve_order=resolve)


# ------------------------------------------------------------------------------------------------
# Step 2: open orders' quantities
# ------------------------------------------------------------------------------------------------


async def test_shortfalls_count_fetched_failed_and_permanent(caplog: pytest.LogCaptureFixture) -> None:
    tracker = OrderTracker()
    served = _track(tracker, "served")
    unserved = _track(tracker, "unserved")
    dead = _track(tracker, "dead", "DEADUSDT")
    down = _track(tracker, "down")
    even = _track(tracker, "even", filled="0.5")
    done = _track(tracker, "done", filled="0.5")
    tracker.close(done, Terminal.CANCELED)
    fetched: list[str] = []

    async def fetch(order: TrackedOrder) -> int:
        fetched.append(order.client_order_id.value)
        if order is served:
            order.filled = Decimal("0.3")
        elif order is dead:
            raise SymbolGone("-1121")
        elif order is down:
            raise VenueDown("503")
        return 0

    with caplog.at_level(logging.WARNING, logger=LOG.name):
        queries = await _sync(
            tracker,
            open_at_snapshot={
                "served": Decimal("0.3"),
                "unserved": Decimal("0.2"),
                "dead": Decimal("0.1"),
                "down": Decimal("0.4"),
                "even": Decimal("0.5"),
                "done": Decimal("0.9"),  # closed since: not touched
                "untracked": Decimal("1"),
            },
            fetch_order_fills=fetch,
        )
    assert fetched == ["served", "unserved", "dead", "down"]
    # 4 short; 2 failed (unserved: still short; down: transient); the permanent one is not a failure.
    assert queries[0] == ("orderFills", False, 2, None, True, False)
    assert [o.venue_filled for o in (served, unserved, dead, down, even, done)] == [
        Decimal("0.3"),
        Decimal("0.2"),
        Decimal("0.1"),
        Decimal("0.4"),
        Decimal("0.5"),
        Decimal("0.5"),
    ]
    assert _records(caplog) == [
        ("WARNING", "recovery: unserved has 0.2 filled on the venue but only 0 in trades fetched so far"),
        ("ERROR", "recovery: fills of dead cannot be fetched (SymbolGone('-1121'))"),
        ("WARNING", "recovery: fetching the fills of down failed: VenueDown('503')"),
    ]


async def test_shortfalls_all_fetched_is_one_ok_query_and_no_shortfall_no_query() -> None:
    tracker = OrderTracker()
    a = _track(tracker, "a")

    async def fetch(order: TrackedOrder) -> int:
        order.filled = Decimal("0.3")
        return 1

    queries = await _sync(tracker, open_at_snapshot={"a": Decimal("0.3")}, fetch_order_fills=fetch)
    assert queries[0] == ("orderFills", True, 1, None, True, False)
    assert a.filled == a.venue_filled == Decimal("0.3")
    # A second sync: nothing short, so no orderFills query at all.
    queries = await _sync(tracker, open_at_snapshot={"a": Decimal("0.3")}, fetch_order_fills=fetch)
    assert [q[0] for q in queries] == ["userTrades:AUSDT"]


async def test_the_snapshot_never_lowers_the_venue_quantity_an_order_was_known_to_have() -> None:
    tracker = OrderTracker()
    a = _track(tracker, "a", filled="0.2")
    a.venue_filled = Decimal("0.2")
    fetched: list[TrackedOrder] = []

    async def fetch(order: TrackedOrder) -> int:
        fetched.append(order)
        return 0

    await _sync(tracker, open_at_snapshot={"a": Decimal("0.2")}, fetch_order_fills=fetch)
    assert a.venue_filled == Decimal("0.2") and fetched == []


async def test_an_excess_whose_reread_fails_is_still_reported(caplog: pytest.LogCaptureFixture) -> None:
    tracker = OrderTracker()
    ahead = _track(tracker, "ahead", filled="0.5")
    ahead.venue_filled = Decimal("0.4")  # what the venue last said (see the report on this check)
    rereads: list[str] = []

    async def resolve(order: TrackedOrder) -> bool:
        rereads.append(order.client_order_id.value)
        raise VenueDown("503")

    with caplog.at_level(logging.WARNING, logger=LOG.name):
        queries = await _sync(tracker, open_at_snapshot={"ahead": Decimal("0.4")}, resolve_order=resolve)
    assert rereads == ["ahead"]
    assert [q[0] for q in queries] == ["userTrades:AUSDT"]  # an excess is not a failed query
    assert ahead.filled == Decimal("0.5")
    assert _records(caplog) == [
        ("WARNING", "recovery: re-reading ahead failed: VenueDown('503')"),
        ("ERROR", "recovery: order ahead: the engine was told 0.5 filled but the venue reports 0.4"),
    ]


async def test_an_excess_the_reread_explains_is_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    tracker = OrderTracker()
    _track(tracker, "ahead", filled="0.5")

    async def resolve(order: TrackedOrder) -> bool:
        order.venue_filled = Decimal("0.5")
        return True

    with caplog.at_level(logging.WARNING, logger=LOG.name):
        await _sync(tracker, open_at_snapshot={"ahead": Decimal("0.4")}, resolve_order=resolve)
    assert _records(caplog) == []


# ------------------------------------------------------------------------------------------------
# Step 3: the per-symbol walks; step 4: the account
# ------------------------------------------------------------------------------------------------


async def test_walk_results_name_the_symbol_and_classify_the_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracker = OrderTracker()
    _track(tracker, "a", "CUSDT")
    tracker.advance_cursor("AUSDT", 7)

    async def backfill(symbol: str, cursor: int | None) -> int:
        if symbol == "BUSDT":
            raise SymbolGone("-1121")
        if symbol == "DUSDT":
            raise VenueDown("503")
        return {"AUSDT": 3, "CUSDT": 0}[symbol]

    with caplog.at_level(logging.WARNING, logger=LOG.name):
        queries = await _sync(
            tracker,
            open_at_snapshot={"a": Decimal(0)},
            backfill_symbol=backfill,
            venue_symbols={"DUSDT", "BUSDT"},
        )
    assert queries == [
        ("userTrades:AUSDT", True, 3, None, False, False),
        ("userTrades:BUSDT", False, 0, "SymbolGone('-1121')", False, True),
        ("userTrades:CUSDT", True, 0, None, False, False),
        ("userTrades:DUSDT", False, 0, "VenueDown('503')", True, False),
    ]
    assert _records(caplog) == [
        (
            "ERROR",
            "recovery: fills of BUSDT cannot be verified (the venue refuses it): SymbolGone('-1121')",
        )
    ]


async def test_a_failed_account_refresh_is_reported_but_not_required() -> None:
    tracker = OrderTracker()
    calls: list[int] = []

    async def refresh() -> None:
        calls.append(1)
        raise VenueDown("account 503")

    queries = await _sync(tracker, refresh_account=refresh)
    assert queries == [("account", False, 0, "VenueDown('account 503')", False, False)]
    assert calls == [1]


async def test_a_successful_account_refresh_counts_one() -> None:
    calls: list[int] = []

    async def refresh() -> None:
        calls.append(1)

    assert await _sync(OrderTracker(), refresh_account=refresh) == [("account", True, 1, None, False, False)]
    assert calls == [1]


async def test_a_bug_in_the_account_refresh_is_not_swallowed() -> None:
    async def refresh() -> None:
        raise TypeError("a bug")

    with pytest.raises(TypeError):
        await _sync(OrderTracker(), refresh_account=refresh)


async def test_by_default_no_error_is_permanent() -> None:
    """Without ``is_permanent``, every venue error fails its required query (retried)."""
    tracker = OrderTracker()
    _track(tracker, "gone")
    _track(tracker, "short")

    async def resolve(order: TrackedOrder) -> bool:
        raise SymbolGone("-1121")

    async def fetch(order: TrackedOrder) -> int:
        raise SymbolGone("-1121")

    async def backfill(symbol: str, cursor: int | None) -> int:
        raise SymbolGone("-1121")

    outcome = await gap_sync.post_snapshot(
        tracker=tracker,
        open_at_snapshot={"short": Decimal("0.1")},
        resolve_order=resolve,
        fetch_order_fills=fetch,
        backfill_symbol=backfill,
        fills_query="fills",
        errors=SymbolGone,
        log=LOG,
    )
    assert outcome.required_failed == ["closedOrders", "orderFills", "fills:AUSDT"]


# ------------------------------------------------------------------------------------------------
# Reports of what the node does not track
# ------------------------------------------------------------------------------------------------


def test_an_external_report_is_sent_with_no_fills() -> None:
    sent: list[Any] = []
    assert (
        gap_sync.report_external(
            lambda report, fills: sent.append((report, fills)),
            lambda: "R",  # type: ignore[arg-type,return-value]
            log=LOG,
            what="order",
            ident=1,
        )
        == 1
    )
    assert sent == [("R", [])]


def test_a_query_result_defaults_to_an_optional_answered_query() -> None:
    q = QueryResult("x", True)
    assert (q.emitted, q.error, q.required, q.skipped) == (0, None, False, False)


def test_an_external_order_no_report_can_represent_is_logged_exactly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def unrepresentable() -> Any:
        raise ValueError("zero quantity")

    with caplog.at_level(logging.WARNING, logger=LOG.name):
        sent = gap_sync.report_external(
            lambda report, fills: None, unrepresentable, log=LOG, what="algo order", ident=7
        )
    assert sent == 0
    assert _records(caplog) == [("WARNING", "recovery: external algo order 7 not reported: zero quantity")]


async def test_every_listed_order_is_checked_whatever_comes_before_it() -> None:
    """Closed or unknown entries, a transient failure and a permanent one early in the snapshot do
    not end the check of the orders listed after them; each failure is counted."""
    tracker = OrderTracker()
    done = _track(tracker, "done")
    tracker.close(done, Terminal.CANCELED)
    for cid in ("down", "unserved", "dead", "last"):
        _track(tracker, cid)
    fetched: list[str] = []

    async def fetch(order: TrackedOrder) -> int:
        cid = order.client_order_id.value
        fetched.append(cid)
        if cid == "down":
            raise VenueDown("503")
        if cid == "dead":
            raise SymbolGone("-1121")
        if cid == "last":
            order.filled = Decimal("0.1")
        return 0

    listed = {cid: Decimal("0.1") for cid in ("done", "untracked", "down", "unserved", "dead", "last")}
    queries = await _sync(tracker, open_at_snapshot=listed, fetch_order_fills=fetch)
    assert fetched == ["down", "unserved", "dead", "last"]
    assert queries[0] == ("orderFills", False, 2, None, True, False)  # 4 short, 2 failed


# ------------------------------------------------------------------------------------------------
# Step 3b: the venue's open orders listed again after the connect
# ------------------------------------------------------------------------------------------------


async def test_relisted_open_orders_resolve_exactly_the_tracked_orders_the_venue_no_longer_lists(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A tracked, accepted order the second listing does not show closed (or vanished) after the
    snapshot: it is resolved by query; orders still listed, not yet accepted, or already resolved in
    step 1 are not asked about again."""
    tracker = OrderTracker()
    for cid in ("listed", "closed", "vanished", "inflight", "gone"):
        _track(tracker, cid, accepted=cid != "inflight")
    asked: list[str] = []

    async def resolve(order: TrackedOrder) -> bool:
        asked.append(order.client_order_id.value)
        if order.client_order_id.value == "closed":
            tracker.close(order, Terminal.FILLED)
        return order.client_order_id.value != "vanished"

    async def relist() -> tuple[int, set[str]]:
        return 2, {"listed"}

    snapshot = {cid: Decimal(0) for cid in ("listed", "closed", "vanished", "inflight")}
    with caplog.at_level(logging.INFO, logger=LOG.name):
        queries = await _sync(
            tracker, open_at_snapshot=snapshot, resolve_order=resolve, relist_open_orders=relist
        )
    assert asked == ["gone", "closed", "vanished"]  # step 1 asked about "gone"; 3b not again
    assert ("openOrders:relisted", True, 2, None, False, False) in queries
    assert _records(caplog) == [
        ("ERROR", "recovery: accepted order vanished is unknown to the venue; leaving it to reconciliation"),
    ]


async def test_a_failed_relisting_fails_the_attempt() -> None:
    tracker = OrderTracker()
    _track(tracker, "a")
    asked: list[str] = []

    async def resolve(order: TrackedOrder) -> bool:
        asked.append(order.client_order_id.value)
        return True

    async def relist() -> tuple[int, set[str]]:
        raise VenueDown("503")

    queries = await _sync(
        tracker, open_at_snapshot={"a": Decimal(0)}, resolve_order=resolve, relist_open_orders=relist
    )
    assert queries[-1] == ("openOrders:relisted", False, 0, "VenueDown('503')", True, False)
    assert asked == []


# ------------------------------------------------------------------------------------------------
# report_external_order: the paths that send nothing or say something
# ------------------------------------------------------------------------------------------------


def _report_external(
    tracker: OrderTracker,
    sent: list[Any],
    *,
    order_report: Any,
    trades: list[tuple[int, str]],
    executed: str,
    synced_as_tracked: Any = None,
) -> Any:

    async def fetch() -> list[tuple[int, str]]:
        return trades

    order = gap_sync.ExternalOrder(
        ident="web-9",
        executed=Decimal(executed),
        order_report=order_report,
        trades=fetch,
        key_of=lambda t: fill_key("AUSDT", t[0], OrderSide.SELL),
        quantity_of=lambda t: Decimal(t[1]),
        fill_report=lambda t, ts: ("fill", t[0], ts),
    )
    return gap_sync.report_external_order(
        order,
        tracker=tracker,
        clock_ns=lambda: 7,
        send=lambda r, f: sent.append((r, f)),
        log=LOG,
        synced_as_tracked=synced_as_tracked,
    )


async def test_an_external_order_no_report_can_represent_is_skipped_and_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def unrepresentable() -> Any:
        raise ValueError("quantity 0")

    sent: list[Any] = []
    with caplog.at_level(logging.INFO, logger=LOG.name):
        n = await _report_external(
            OrderTracker(), sent, order_report=unrepresentable, trades=[(1, "0.1")], executed="0.1"
        )
    assert n == 0 and sent == []
    assert _records(caplog) == [("WARNING", "recovery: external order web-9 not reported: quantity 0")]


async def test_an_external_order_whose_fills_partly_reached_the_engine_is_reported_with_all_of_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Chaos BingX seed 192: a fill of an order placed elsewhere went to the engine (an event still
    queued) before the order; the report without it made the engine infer that quantity, the real
    fill then counted twice and the next real trade was refused as an overfill. The report carries
    every trade: the engine skips trade ids the order holds."""
    tracker = OrderTracker()
    tracker.mark_seen(fill_key("AUSDT", 1, OrderSide.SELL))
    sent: list[Any] = []
    trades = [(1, "0.1"), (2, "0.2"), (2, "0.2"), (3, "0.1")]  # trade 2 listed twice: counted once
    with caplog.at_level(logging.INFO, logger=LOG.name):
        n = await _report_external(tracker, sent, order_report=lambda: "order", trades=trades, executed="0.4")
    assert n == 1 and sent == [("order", [("fill", 1, 7), ("fill", 2, 7), ("fill", 3, 7)])]
    assert all(tracker.is_seen(fill_key("AUSDT", t, OrderSide.SELL)) for t in (1, 2, 3))
    assert _records(caplog) == [
        (
            "WARNING",
            "recovery: external order web-9: 1 of its 3 trades reached the engine before the order; "
            "reported with all of them",
        )
    ]


async def test_an_external_order_reported_whole_says_nothing(caplog: pytest.LogCaptureFixture) -> None:
    sent: list[Any] = []
    with caplog.at_level(logging.INFO, logger=LOG.name):
        n = await _report_external(
            OrderTracker(), sent, order_report=lambda: "order", trades=[(4, "0.5")], executed="0.5"
        )
    assert n == 1 and sent == [("order", [("fill", 4, 7)])]
    assert _records(caplog) == []


async def test_an_external_order_that_became_the_engines_while_read_is_synced_not_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Chaos BingX seed 227: the stream's report of a new external order was still queued when the
    # recovery began reading its trades; meanwhile the engine took that report and a stream event
    # adopted the order and queued its fill. A second report with that fill made NautilusTrader
    # apply the report's copy first and refuse the queued event with an error.
    tracker = OrderTracker()
    tracker.mark_seen(fill_key("AUSDT", 6, OrderSide.SELL))
    sent: list[Any] = []
    asked: list[str] = []

    async def now_tracked() -> bool:
        asked.append("after the trades were read")
        return True

    with caplog.at_level(logging.INFO, logger=LOG.name):
        n = await _report_external(
            tracker,
            sent,
            order_report=lambda: "report",
            trades=[(6, "14.1")],
            executed="14.1",
            synced_as_tracked=now_tracked,
        )
    assert n == 0 and sent == [] and asked == ["after the trades were read"]
    assert _records(caplog) == [
        ("INFO", "recovery: order web-9 became the engine's while it was read; synced as tracked")
    ]


async def test_an_external_order_still_unknown_after_its_trades_were_read_is_reported() -> None:
    sent: list[Any] = []

    async def not_tracked() -> bool:
        return False

    n = await _report_external(
        OrderTracker(),
        sent,
        order_report=lambda: "report",
        trades=[(6, "14.1")],
        executed="14.1",
        synced_as_tracked=not_tracked,
    )
    assert n == 1 and sent == [("report", [("fill", 6, 7)])]
