"""The seeded market: determinism, the book/delta chain, mark price, public trades, klines."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from decimal import Decimal

import pytest

from adapters.sim.engine import VenueEngine, default_specs
from adapters.sim.market import FUNDING_INTERVAL_MS
from adapters.sim.model import (
    BookDelta,
    EngineEvent,
    MarkPriceEvent,
    OrderRequest,
    OrderType,
    PublicTrade,
    Side,
)

T0 = 1_700_000_000_000
BTC = "BTCUSDT"
D = Decimal
BALANCE = Decimal(1_000_000)


class Sim:
    def __init__(self, seed: int = 1, start_ms: int = T0, balance: Decimal = BALANCE) -> None:
        self.now = start_ms
        self.engine = VenueEngine(default_specs(), seed=seed, clock=lambda: self.now)
        self.events: list[EngineEvent] = []
        self.engine.subscribe(self.events.append)
        self.engine.create_account("acct", balance=balance)

    def step(self, n: int = 1, dt: int = 100) -> None:
        for _ in range(n):
            self.now += dt
            self.engine.step()


def _scripted_run(seed: int) -> list[EngineEvent]:
    sim = Sim(seed=seed)
    for i in range(60):
        sim.step()
        if i % 10 == 3:
            sim.engine.place_order("acct", OrderRequest(BTC, Side.BUY, OrderType.MARKET, D("0.7")))
        if i % 10 == 7:
            price = sim.engine.book(BTC).bids[2][0]
            sim.engine.place_order("acct", OrderRequest(BTC, Side.SELL, OrderType.LIMIT, D("0.5"), price))
    return sim.events


def test_same_seed_gives_identical_event_sequence() -> None:
    first, second = _scripted_run(5), _scripted_run(5)
    assert len(first) > 300
    assert first == second


def test_different_seed_gives_different_events() -> None:
    assert _scripted_run(5) != _scripted_run(6)


def test_market_is_identical_across_processes_with_different_hash_salts() -> None:
    # str hashes are salted per process; the seeded market must not depend on them.
    code = (
        "from adapters.sim.engine import VenueEngine, default_specs\n"
        "e = VenueEngine(default_specs(), seed=3, clock=lambda: 1700000000000)\n"
        "[e.step() for _ in range(5)]\n"
        "print([(s, str(e.last_price(s)), e.book(s, 3)) for s in e.specs])\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": salt},
        ).stdout
        for salt in ("1", "2")
    }
    assert len(outputs) == 1 and "BTCUSDT" in outputs.pop()


class BookClient:
    """What a Binance client does: snapshot, then apply deltas with the U/u/pu rules."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.last_update_id: int | None = None

    def load(
        self,
        snap_bids: tuple[tuple[Decimal, Decimal], ...],
        snap_asks: tuple[tuple[Decimal, Decimal], ...],
        last_update_id: int,
    ) -> None:
        self.bids = dict(snap_bids)
        self.asks = dict(snap_asks)
        self.last_update_id = last_update_id

    def apply(self, delta: BookDelta, first: bool) -> None:
        assert self.last_update_id is not None
        if delta.last_update_id <= self.last_update_id:
            return  # older than the snapshot
        if first:
            assert delta.first_update_id <= self.last_update_id + 1 <= delta.last_update_id
        else:
            assert delta.prev_update_id == self.last_update_id
        for book, changes in ((self.bids, delta.bids), (self.asks, delta.asks)):
            for price, qty in changes:
                if qty == 0:
                    book.pop(price, None)
                else:
                    book[price] = qty
        self.last_update_id = delta.last_update_id

    def top(self, n: int) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        return (sorted(self.bids.items(), reverse=True)[:n], sorted(self.asks.items())[:n])


def test_snapshot_plus_deltas_reproduce_engine_book_over_200_steps() -> None:
    sim = Sim(seed=11)
    eng = sim.engine
    buffered: list[BookDelta] = []
    eng.subscribe(lambda e: buffered.append(e) if isinstance(e, BookDelta) and e.symbol == BTC else None)
    sim.step(20)  # deltas buffered before the snapshot, as a real client would see
    snap = eng.book(BTC, 1000)
    client = BookClient()
    client.load(snap.bids, snap.asks, snap.last_update_id)
    applied = 0
    for d in buffered:
        client.apply(d, first=applied == 0)
        applied += d.last_update_id > snap.last_update_id
    buffered.clear()
    # rest a bid that the walk will trade through (maker fills consume liquidity too)
    resting_px = eng.book(BTC).bids[1][0]
    eng.place_order("acct", OrderRequest(BTC, Side.BUY, OrderType.LIMIT, D("3"), resting_px))
    for i in range(200):
        sim.step()
        if i % 17 == 0:  # taker consumption: its own delta
            eng.place_order("acct", OrderRequest(BTC, Side.BUY, OrderType.MARKET, D("0.9")))
        if i % 23 == 0:
            eng.place_order("acct", OrderRequest(BTC, Side.SELL, OrderType.MARKET, D("1.3")))
        for d in buffered:
            client.apply(d, first=applied == 0)
            applied += 1
        buffered.clear()
        now = eng.book(BTC, 1000)
        assert client.last_update_id == now.last_update_id
        assert client.top(1000) == (list(now.bids), list(now.asks)), f"step {i}"
    assert applied > 200  # steps plus taker deltas


def test_each_step_publishes_one_chained_delta_and_one_mark_event_per_symbol() -> None:
    sim = Sim()
    before = {s: sim.engine.book(s).last_update_id for s in sim.engine.specs}
    sim.step()
    deltas = [e for e in sim.events if isinstance(e, BookDelta)]
    marks = [e for e in sim.events if isinstance(e, MarkPriceEvent)]
    assert sorted(d.symbol for d in deltas) == sorted(sim.engine.specs)
    assert sorted(m.symbol for m in marks) == sorted(sim.engine.specs)
    for d in deltas:
        assert d.prev_update_id == before[d.symbol]
        assert d.first_update_id == before[d.symbol] + 1
        assert d.last_update_id >= d.first_update_id
        assert sim.engine.book(d.symbol).last_update_id == d.last_update_id


def test_book_levels_are_finite_on_tick_and_uncrossed() -> None:
    sim = Sim()
    for symbol, spec in sim.engine.specs.items():
        for _ in range(5):
            sim.step()
            book = sim.engine.book(symbol)
            assert len(book.bids) == 20 and len(book.asks) == 20
            assert book.bids[0][0] < sim.engine.last_price(symbol) < book.asks[0][0]
            for price, qty in book.bids + book.asks:
                assert price % spec.tick_size == 0
                assert qty % spec.step_size == 0 and qty >= spec.min_qty
            assert [p for p, _ in book.bids] == sorted((p for p, _ in book.bids), reverse=True)
            assert [p for p, _ in book.asks] == sorted(p for p, _ in book.asks)


def test_mark_price_event_contents() -> None:
    sim = Sim()
    sim.step(10)
    for symbol, spec in sim.engine.specs.items():
        ev = [e for e in sim.events if isinstance(e, MarkPriceEvent) and e.symbol == symbol][-1]
        assert ev.mark_price % spec.tick_size == 0
        assert ev.index_price % spec.tick_size == 0
        assert abs(ev.mark_price - sim.engine.last_price(symbol)) < sim.engine.last_price(symbol) / 1000
        assert D("0.00008") <= ev.funding_rate <= D("0.00012")
        assert ev.next_funding_time_ms % FUNDING_INTERVAL_MS == 0
        assert 0 < ev.next_funding_time_ms - sim.now <= FUNDING_INTERVAL_MS
        snap = sim.engine.mark_price(symbol)
        assert (snap.mark_price, snap.funding_rate) == (ev.mark_price, ev.funding_rate)


def test_public_trades_ids_increase_and_page() -> None:
    sim = Sim()
    sim.step(100)
    trades = sim.engine.public_trades(BTC, limit=1000)
    published = [e for e in sim.events if isinstance(e, PublicTrade) and e.symbol == BTC]
    assert trades == published
    assert 50 < len(trades) <= 200  # 0-2 per step
    assert [t.agg_id for t in trades] == list(range(1, len(trades) + 1))
    assert all(a.last_trade_id < b.first_trade_id for a, b in itertools.pairwise(trades))
    assert sim.engine.public_trades(BTC, from_agg_id=10, limit=5) == trades[9:14]
    assert sim.engine.public_trades(BTC, limit=3) == trades[-3:]
    mid = trades[20].time_ms
    assert sim.engine.public_trades(BTC, start_ms=mid, limit=2)[0].time_ms == mid


def test_history_klines_are_a_pure_function_of_seed_symbol_and_time() -> None:
    a = Sim(seed=4, start_ms=T0)
    b = Sim(seed=4, start_ms=T0 + 86_400_000)  # started a day later, other steps taken
    b.step(30)
    start = T0 - 10 * 3_600_000
    bars_a = a.engine.klines(BTC, 60_000, start_ms=start, limit=300)
    bars_b = b.engine.klines(BTC, 60_000, start_ms=start, limit=300)
    assert bars_a == bars_b and len(bars_a) == 300
    other_seed = Sim(seed=5).engine.klines(BTC, 60_000, start_ms=start, limit=300)
    assert other_seed != bars_a
    for prev, bar in itertools.pairwise(bars_a):
        assert bar.open_time_ms == prev.open_time_ms + 60_000
        assert bar.open == prev.close
    for bar in bars_a:
        assert bar.high >= max(bar.open, bar.close) and bar.low <= min(bar.open, bar.close)
        assert bar.close_time_ms == bar.open_time_ms + 59_999 and bar.closed
        assert bar.volume > 0 and bar.open % D("0.1") == 0


def test_live_klines_aggregate_public_trades_and_flag_closed() -> None:
    t0 = T0 // 60_000 * 60_000
    sim = Sim(start_ms=t0)
    sim.step(1200)  # 120 s of 100 ms steps
    bars = sim.engine.klines(BTC, 60_000, start_ms=t0, limit=10)
    assert [b.open_time_ms for b in bars] == [t0, t0 + 60_000, t0 + 120_000]
    assert [b.closed for b in bars] == [True, True, False]
    trades = sim.engine.public_trades(BTC, start_ms=t0, end_ms=t0 + 59_999, limit=10_000)
    assert bars[0].volume == sum(t.qty for t in trades)
    assert bars[0].open == trades[0].price and bars[0].close == trades[-1].price
    assert bars[0].high == max(t.price for t in trades)
    newest = sim.engine.klines(BTC, 60_000, limit=2)
    assert [b.open_time_ms for b in newest] == [t0 + 60_000, t0 + 120_000]


def test_default_specs_filters() -> None:
    specs = {s.symbol: s for s in default_specs()}
    assert set(specs) == {"BTCUSDT", "ETHUSDT", "1000PEPEUSDT"}
    btc, pepe = specs["BTCUSDT"], specs["1000PEPEUSDT"]
    assert (btc.tick_size, btc.step_size, btc.min_qty, btc.market_max_qty, btc.min_notional) == (
        D("0.10"),
        D("0.001"),
        D("0.001"),
        D("120"),
        D("100"),
    )
    assert (pepe.tick_size, pepe.step_size, pepe.min_qty, pepe.min_notional) == (
        D("0.0000001"),
        D("1"),
        D("1"),
        D("5"),
    )
    assert specs["ETHUSDT"].min_notional == D("20")
    for spec in specs.values():
        assert spec.initial_price % spec.tick_size == 0
        assert spec.min_price < spec.initial_price < spec.max_price


def test_step_with_a_thousand_resting_orders_is_fast() -> None:
    sim = Sim(balance=D(100_000_000))
    for i in range(1000):
        symbol = list(sim.engine.specs)[i % 3]
        spec = sim.engine.specs[symbol]
        price = (
            sim.engine.last_price(symbol) * D("0.95") / spec.tick_size
        ).to_integral_value() * spec.tick_size
        qty = (D(200) / price / spec.step_size).to_integral_value() * spec.step_size + spec.step_size
        sim.engine.place_order("acct", OrderRequest(symbol, Side.BUY, OrderType.LIMIT, qty, price))
    sim.engine.unsubscribe(sim.events.append)
    began = time.perf_counter()
    sim.step(200)
    per_step = (time.perf_counter() - began) / 200
    assert len(sim.engine.open_orders("acct")) == 1000
    assert per_step < 0.003, f"{per_step * 1000:.2f} ms per step"


def test_unknown_symbol_on_market_queries() -> None:
    from adapters.sim.model import RejectReason, VenueReject

    sim = Sim()
    for call in (
        lambda: sim.engine.book("XUSDT"),
        lambda: sim.engine.last_price("XUSDT"),
        lambda: sim.engine.klines("XUSDT", 60_000),
    ):
        with pytest.raises(VenueReject) as err:
            call()
        assert err.value.reason is RejectReason.UNKNOWN_SYMBOL
