"""Venue-neutral Nautilus object construction (adapters.core.market.market_parsing)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.data import BarType, BookOrder
from nautilus_trader.model.enums import BarAggregation, BookAction, OrderSide, PriceType
from nautilus_trader.model.identifiers import InstrumentId

from adapters.core.market.market_context import MarketContext
from adapters.core.market.market_parsing import (
    F_LAST,
    F_SNAPSHOT,
    clear_deltas,
    depth10,
    index_and_funding,
    interval_key,
    interval_of,
    interval_spec,
    parse_rate,
    snapshot_deltas,
    ts_ms,
    update_deltas,
)

IID = InstrumentId.from_str("BTCUSDT-PERP.TEST")
TS = 1_700_000_000_000_000_000


def ctx() -> MarketContext:
    return MarketContext(IID, 2, 3)


def test_ts_ms_picks_first_non_zero() -> None:
    assert ts_ms(5, 7, TS) == 5_000_000
    assert ts_ms(0, 7, TS) == 7_000_000
    assert ts_ms(None, None, TS) == TS


def test_parse_rate_exact_or_none() -> None:
    assert parse_rate("0.00010000") == Decimal("0.00010000")
    assert parse_rate("") is None
    assert parse_rate(None) is None
    assert parse_rate("x") is None


def test_snapshot_clear_then_adds_flags_and_zero_levels_skipped() -> None:
    out = snapshot_deltas(ctx(), [("100.00", "1.000"), ("99.00", "0")], [("101.00", "2.000")], 42, 7, TS)
    deltas = out.deltas
    assert [d.action for d in deltas] == [BookAction.CLEAR, BookAction.ADD, BookAction.ADD]
    assert all(d.flags & F_SNAPSHOT for d in deltas)
    assert [bool(d.flags & F_LAST) for d in deltas] == [False, False, True]
    assert {d.sequence for d in deltas} == {42}
    assert deltas[1].order.side == OrderSide.BUY and deltas[2].order.side == OrderSide.SELL
    assert deltas[0].ts_event == 7 and deltas[0].ts_init == TS


def test_empty_snapshot_is_a_lone_last_clear() -> None:
    (only,) = snapshot_deltas(ctx(), [], [], 1, TS, TS).deltas
    assert only.action == BookAction.CLEAR and only.flags == F_SNAPSHOT | F_LAST


def test_update_deltas_update_delete_and_last_flag() -> None:
    out = update_deltas(ctx(), [("100.00", "0")], [("101.00", "1.500")], 9, TS, TS)
    assert out is not None
    assert [d.action for d in out.deltas] == [BookAction.DELETE, BookAction.UPDATE]
    assert [d.flags for d in out.deltas] == [0, F_LAST]
    assert update_deltas(ctx(), [], [], 9, TS, TS) is None


def test_clear_deltas() -> None:
    (only,) = clear_deltas(ctx(), 77, TS).deltas
    assert (only.action, only.flags, only.sequence, only.ts_event) == (BookAction.CLEAR, F_LAST, 77, TS)


def test_depth10_pads_each_side() -> None:
    c = ctx()
    bids = [BookOrder(OrderSide.BUY, c.price("100.00"), c.size("1.000"), 0)]
    depth = depth10(c, bids, [], 3, TS, TS)
    assert len(depth.bids) == 10 and len(depth.asks) == 10
    assert depth.bid_counts == [1] + [0] * 9 and depth.ask_counts == [0] * 10
    assert depth.flags == F_SNAPSHOT | F_LAST and depth.sequence == 3


def test_index_and_funding() -> None:
    index, funding = index_and_funding(ctx(), "100.123", "0.0001", 1_000, 5, TS)
    assert index is not None and str(index.value) == "100.12"
    assert funding is not None and funding.rate == Decimal("0.0001") and funding.next_funding_ns == 10**9
    assert index_and_funding(ctx(), "", None, None, 5, TS) == (None, None)


def test_intervals_round_trip() -> None:
    spec = interval_spec("15m")
    assert (spec.step, spec.aggregation, spec.price_type) == (15, BarAggregation.MINUTE, PriceType.LAST)
    table = {interval_key(i): i for i in ("1m", "4h", "1M")}
    assert interval_of(BarType.from_str("BTCUSDT-PERP.TEST-4-HOUR-LAST-EXTERNAL"), table, "Test") == "4h"
    with pytest.raises(ValueError, match="no Test kline interval"):
        interval_of(BarType.from_str("BTCUSDT-PERP.TEST-2-MINUTE-LAST-EXTERNAL"), table, "Test")
    with pytest.raises(ValueError, match="LAST-price EXTERNAL"):
        interval_of(BarType.from_str("BTCUSDT-PERP.TEST-1-MINUTE-MID-EXTERNAL"), table, "Test")
