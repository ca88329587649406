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


def _rounded_or_reason(round_: object, s: str) -> object:
    from adapters.core.parse.wire_values import WireValueError

    try:
        p = round_(s)  # type: ignore[operator]
    except WireValueError as exc:
        return exc.reason
    return (p.raw, p.precision)


def test_context_rounded_price_is_the_exact_parse_hit_or_miss() -> None:
    """The head cache of ``MarketContext.rounded_price`` returns what the exact parse returns (value,
    precision, or the same rejection) for every string, at every precision, whether it hits, misses
    or the cache was just cleared; half-way tails included (half-even on the head's last digit)."""
    import random
    from functools import partial

    from adapters.core.parse.decimal_parse import parse_rounded_price

    rnd = random.Random(16)
    cases = ["60000.05", "60000.15", "60000.050000", "60000.0500001", "0.04", "0.05", "0.06", "1.", ".5"]
    cases += ["", "-1.25", "1.2x", "1.2 ", "1.2²", "1e5", "٣.5", "1" * 200, "1." + "1" * 200, "7", "60000.1"]
    for _ in range(4000):
        whole = str(rnd.choice([0, 1, 7, 12345, 60000, 10 ** rnd.randint(0, 12)]))
        frac = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(0, 10)))
        if frac and rnd.random() < 0.3:
            frac = frac[: rnd.randint(0, len(frac))] + "5" + "0" * rnd.randint(0, 3)
        cases.append(f"{whole}.{frac}" if frac else whole)
    for precision in range(9):
        ctx = MarketContext(IID, precision, 3, cache_size=64)
        for s in cases + cases[::-1]:  # every head seen again, in the other order
            want = _rounded_or_reason(partial(parse_rounded_price, precision=precision), s)
            assert _rounded_or_reason(ctx.rounded_price, s) == want, (s, precision)
