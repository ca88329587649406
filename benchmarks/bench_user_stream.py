"""User-stream event cost: identical ORDER_TRADE_UPDATE frames through three contenders, one run.

* **ours** — ``UserStreamHandler.handle_frame`` of our ``BinanceFuturesExecutionClient``;
* **built-in** — NautilusTrader 1.221's ``BinanceFuturesExecutionClient._handle_user_ws_message``;
* **floor** — a typed msgspec decode of the frame plus the bare ``generate_order_*`` call
  (``generate_order_filled`` for trades), nothing else: no lookups, no state, no de-duplication.

All three share one real ``MessageBus``, ``Cache`` and ``LiveClock``; the engine's
``ExecEngine.process`` endpoint is a counting sink, so only adapter work is timed (the engine never
applies the events, and the cached orders stay as they were for every pass). Thousands of distinct
orders rest in the cache (``SUBMITTED``); the frames are the stream of their lives: NEW, a partial
TRADE, then a FILLED TRADE (even orders) or a CANCELED (odd orders), interleaved across orders as a
busy account sees them. Frames are the combined-stream form (``{"stream":..,"data":..}``) the
built-in client requires; ours accepts both, so the bytes are identical for all three.

Before timing, each contender's event counts are checked to be identical (same work done).
Passes are interleaved (A B C, B C A, ...) and the median µs/frame and the median of the per-pass
ratios are reported.

    python -m benchmarks.bench_user_stream [--orders 4000] [--passes 15] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderType
from nautilus_trader.model.events import OrderSubmitted
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientId,
    ClientOrderId,
    StrategyId,
    TradeId,
    TraderId,
    VenueOrderId,
)
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider

from benchmarks.common import Section, median, quiet_logging

PROFILE_PATH = Path(__file__).resolve().parent / "profile_user_stream.txt"
SYMBOL = "BTCUSDT"
TRADER = TraderId("BENCH-001")
STRATEGY = StrategyId("S-001")
GOAL_VS_BUILTIN = 0.4
GOAL_VS_FLOOR = 1.6


# ------------------------------------------------------------------------------------------------
# Frames
# ------------------------------------------------------------------------------------------------
def _frame(
    cid: str, oid: int, x: str, status: str, qty: str, price: str, last: str, cum: str, t: int
) -> bytes:
    now = 1_700_000_000_000 + t
    o = {
        "s": SYMBOL, "c": cid, "S": "BUY", "o": "LIMIT", "f": "GTC", "q": qty, "p": price,
        "ap": price if cum != "0" else "0", "sp": "0", "x": x, "X": status, "i": oid,
        "l": last, "z": cum, "L": price if last != "0" else "0",
        "N": "USDT" if last != "0" else None, "n": "0.01200000" if last != "0" else None,
        "T": now, "t": t if last != "0" else 0, "b": "0", "a": "0", "m": True, "R": False,
        "wt": "CONTRACT_PRICE", "ot": "LIMIT", "ps": "BOTH", "cp": False, "rp": "0",
        "pP": False, "si": 0, "ss": 0, "V": "EXPIRE_TAKER", "pm": "NONE", "gtd": 0,
    }  # fmt: skip
    if o["N"] is None:
        del o["N"], o["n"]
    event = {"e": "ORDER_TRADE_UPDATE", "E": now, "T": now, "o": o}
    return msgspec.json.encode({"stream": "benchlistenkey", "data": event})


def build_frames(cids: list[str], seed: int = 7) -> list[bytes]:
    """Each order's life in order; orders interleaved at random (per-order order preserved)."""
    lives: list[list[bytes]] = []
    trade = 1
    for n, cid in enumerate(cids):
        oid = 8_000_000 + n
        life = [_frame(cid, oid, "NEW", "NEW", "0.010", "50000.0", "0", "0", 0)]
        life.append(
            _frame(cid, oid, "TRADE", "PARTIALLY_FILLED", "0.010", "50000.0", "0.004", "0.004", trade)
        )
        trade += 1
        if n % 2 == 0:
            life.append(_frame(cid, oid, "TRADE", "FILLED", "0.010", "50000.0", "0.006", "0.010", trade))
            trade += 1
        else:
            life.append(_frame(cid, oid, "CANCELED", "CANCELED", "0.010", "50000.0", "0", "0.004", 0))
        lives.append(life)
    rng = random.Random(seed)
    cursors = [0] * len(lives)
    live = list(range(len(lives)))
    frames: list[bytes] = []
    while live:
        k = rng.randrange(len(live))
        i = live[k]
        frames.append(lives[i][cursors[i]])
        cursors[i] += 1
        if cursors[i] == len(lives[i]):
            live[k] = live[-1]
            live.pop()
    return frames


# ------------------------------------------------------------------------------------------------
# The floor: decode + bare event construction
# ------------------------------------------------------------------------------------------------
class _O(msgspec.Struct):
    s: str
    c: str
    S: str
    x: str
    X: str
    i: int
    l: str  # noqa: E741 - the venue's field name
    z: str
    L: str
    T: int
    t: int
    m: bool
    N: str | None = None
    n: str | None = None


class _E(msgspec.Struct):
    e: str
    E: int
    o: _O


class _W(msgspec.Struct):
    stream: str
    data: _E


# ------------------------------------------------------------------------------------------------
# Setup: one msgbus/cache/clock, both clients, the orders
# ------------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, n_orders: int) -> None:
        quiet_logging()
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.clock = LiveClock()
        self.msgbus = MessageBus(TRADER, self.clock)
        self.cache = Cache(database=None)
        self.instrument = TestInstrumentProvider.btcusdt_perp_binance()
        self.cache.add_instrument(self.instrument)
        self.events: Counter[str] = Counter()
        events = self.events

        def sink(event: Any) -> None:
            events[type(event).__name__] += 1

        # The execution engine's endpoint replaced by a sink: only adapter work is timed.
        self.msgbus.register("ExecEngine.process", sink)
        self.ours = self._ours()
        self.builtin = self._builtin()
        factory = OrderFactory(TRADER, STRATEGY, self.clock)
        self.cids: list[str] = []
        for _ in range(n_orders):
            order = factory.limit(
                self.instrument.id, OrderSide.BUY, Quantity.from_str("0.010"), Price.from_str("50000.0")
            )
            self.cache.add_order(order)
            order.apply(
                OrderSubmitted(
                    TRADER, STRATEGY, order.instrument_id, order.client_order_id,
                    AccountId("BINANCE-USDT_FUTURES-master"), UUID4(), 0, 0,
                )
            )  # fmt: skip
            self.cache.update_order(order)
            self.cids.append(order.client_order_id.value)
        self.frames = build_frames(self.cids)
        self._floor_decoder = msgspec.json.Decoder(_W)

    def _ours(self) -> Any:
        from adapters.binance_futures.config import BinanceFuturesExecClientConfig
        from adapters.binance_futures.execution import BinanceFuturesExecutionClient
        from adapters.binance_futures.http import BinanceFuturesHttpClient
        from adapters.binance_futures.providers import BinanceFuturesInstrumentProvider

        http = BinanceFuturesHttpClient("http://127.0.0.1:9", "key", "secret")
        provider = BinanceFuturesInstrumentProvider(http, InstrumentProviderConfig(load_all=True))
        provider.add(self.instrument)
        provider.instruments_by_symbol[SYMBOL] = self.instrument
        config = BinanceFuturesExecClientConfig(
            api_key="key",
            api_secret="secret",
            base_url_http="http://127.0.0.1:9",
            base_url_ws="ws://127.0.0.1:9",
        )
        return BinanceFuturesExecutionClient(
            loop=self.loop, client_id=ClientId("BINANCE"), config=config, msgbus=self.msgbus,
            cache=self.cache, clock=self.clock, instrument_provider=provider, http=http,
        )  # fmt: skip

    def _builtin(self) -> Any:
        from nautilus_trader.adapters.binance.common.enums import BinanceAccountType
        from nautilus_trader.adapters.binance.config import BinanceExecClientConfig
        from nautilus_trader.adapters.binance.futures.execution import BinanceFuturesExecutionClient
        from nautilus_trader.adapters.binance.futures.providers import BinanceFuturesInstrumentProvider
        from nautilus_trader.adapters.binance.http.client import BinanceHttpClient

        http = BinanceHttpClient(
            clock=self.clock, api_key="key", api_secret="secret", base_url="http://127.0.0.1:9"
        )
        provider = BinanceFuturesInstrumentProvider(http, self.clock, BinanceAccountType.USDT_FUTURES)
        provider.add(self.instrument)
        config = BinanceExecClientConfig(account_type=BinanceAccountType.USDT_FUTURES)
        return BinanceFuturesExecutionClient(
            loop=self.loop, client=http, msgbus=self.msgbus, cache=self.cache, clock=self.clock,
            instrument_provider=provider, base_url_ws="ws://127.0.0.1:9", config=config,
            account_type=BinanceAccountType.USDT_FUTURES, name=None,
        )  # fmt: skip

    # --- contenders --------------------------------------------------------------------------
    def reset_ours(self) -> None:
        """Our tracker as right after the orders were submitted (untimed): no fills seen yet."""
        from adapters.core.orders.order_tracking import OrderTracker

        fresh = OrderTracker()
        tracker = self.ours.tracker
        for name in (
            "orders",
            "by_venue_id",
            "seen_trades",
            "trade_cursor",
            "cursor_time_ms",
            "_open",
            "_closed",
        ):
            setattr(tracker, name, getattr(fresh, name))
        for cid in self.cids:
            self.ours._adopt(cid)

    def floor_handler(self) -> Callable[[bytes], None]:
        decode = self._floor_decoder.decode
        client = self.ours
        iid = self.instrument.id
        usdt = self.instrument.quote_currency

        def handle(raw: bytes) -> None:
            o = decode(raw).data.o
            ts = o.T * 1_000_000
            if o.x == "TRADE":
                client.generate_order_filled(
                    STRATEGY, iid, ClientOrderId(o.c), VenueOrderId(str(o.i)), None, TradeId(str(o.t)),
                    OrderSide.BUY, OrderType.LIMIT, Quantity.from_str(o.l), Price.from_str(o.L), usdt,
                    Money(o.n, usdt), LiquiditySide.MAKER if o.m else LiquiditySide.TAKER, ts,
                )  # fmt: skip
            elif o.x == "NEW":
                client.generate_order_accepted(STRATEGY, iid, ClientOrderId(o.c), VenueOrderId(str(o.i)), ts)
            elif o.x == "CANCELED":
                client.generate_order_canceled(STRATEGY, iid, ClientOrderId(o.c), VenueOrderId(str(o.i)), ts)

        return handle

    def contenders(self) -> dict[str, tuple[Callable[[], None], Callable[[bytes], None]]]:
        return {
            "ours": (self.reset_ours, self.ours.stream_handler.handle_frame),
            "built-in": (lambda: None, self.builtin._handle_user_ws_message),
            "floor": (lambda: None, self.floor_handler()),
        }

    def run_once(self, name: str) -> tuple[float, Counter[str]]:
        reset, handle = self.contenders()[name]
        reset()
        self.events.clear()
        frames = self.frames
        gc.collect()
        start = time.perf_counter_ns()
        for raw in frames:
            handle(raw)
        elapsed = time.perf_counter_ns() - start
        return elapsed / 1000 / len(frames), Counter(self.events)

    def close(self) -> None:
        self.loop.close()


def run(n_orders: int = 4000, passes: int = 15, profile: bool = False) -> Section:
    bench = Bench(n_orders)
    try:
        names = ["ours", "built-in", "floor"]
        # Same work: identical event counts (warm-up pass, also checks nothing errored).
        counts = {name: bench.run_once(name)[1] for name in names}
        expected = counts["floor"]
        for name, got in counts.items():
            if got != expected:
                raise AssertionError(f"{name} emitted {dict(got)}, floor emitted {dict(expected)}")
        times: dict[str, list[float]] = {n: [] for n in names}
        ratio_b: list[float] = []
        ratio_f: list[float] = []
        for p in range(passes):
            order = names[p % 3 :] + names[: p % 3]
            this = {name: bench.run_once(name)[0] for name in order}
            for name in names:
                times[name].append(this[name])
            ratio_b.append(this["ours"] / this["built-in"])
            ratio_f.append(this["ours"] / this["floor"])
        if profile:
            write_profile(bench)
    finally:
        bench.close()
    rb, rf = median(ratio_b), median(ratio_f)
    section = Section(
        title="User-stream event cost (µs per ORDER_TRADE_UPDATE frame)",
        headers=["contender", "median µs/frame", "min", "max", "ours ÷ this (median of passes)"],
    )
    for name in names:
        ratio = {"ours": 1.0, "built-in": rb, "floor": rf}[name]
        section.rows.append(
            [
                name,
                f"{median(times[name]):.2f}",
                f"{min(times[name]):.2f}",
                f"{max(times[name]):.2f}",
                f"{ratio:.2f}x",
            ]
        )
    section.notes = [
        f"{n_orders} distinct orders resting in the cache; {len(bench.frames)} frames per pass "
        f"({dict(expected)}); {passes} interleaved passes.",
        f"goal ours ÷ built-in ≤ {GOAL_VS_BUILTIN}: "
        f"{'MET' if rb <= GOAL_VS_BUILTIN else 'NOT MET'} ({rb:.2f}); "
        f"goal ours ÷ floor ≤ {GOAL_VS_FLOOR}: {'MET' if rf <= GOAL_VS_FLOOR else 'NOT MET'} ({rf:.2f}).",
    ]
    floor_vs_builtin = median([f / b for f, b in zip(times["floor"], times["built-in"], strict=True)])
    section.notes.append(
        f"the floor itself costs {floor_vs_builtin:.2f}x the built-in adapter (NautilusTrader's own event "
        "construction and bus send dominate it): ours ÷ built-in can only reach "
        f"{GOAL_VS_BUILTIN} if ours ≤ {GOAL_VS_BUILTIN / floor_vs_builtin:.2f}x the floor."
    )
    section.data = {
        "median_us": {n: median(t) for n, t in times.items()},
        "ratio_vs_builtin": rb,
        "ratio_vs_floor": rf,
    }
    return section


def write_profile(bench: Bench, repeats: int = 10) -> None:
    """A pyinstrument profile of our handler on the same frames (cProfile if it is not installed)."""
    handle = bench.ours.stream_handler.handle_frame
    frames = bench.frames
    header = (
        f"# Profile of UserStreamHandler.handle_frame: {len(frames)} frames x {repeats} passes, "
        f"{len(bench.cids)} orders in the cache, ExecEngine.process replaced by a sink.\n"
        "# Regenerate: python -m benchmarks.bench_user_stream --profile\n\n"
    )
    try:
        from pyinstrument import Profiler
    except ImportError:
        import cProfile
        import io
        import pstats

        prof = cProfile.Profile()
        for _ in range(repeats):
            bench.reset_ours()
            prof.enable()
            for raw in frames:
                handle(raw)
            prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(40)
        PROFILE_PATH.write_text(header + "# (cProfile: pyinstrument is not installed)\n" + out.getvalue())
        return
    profiler = Profiler(interval=0.0001)
    for _ in range(repeats):
        bench.reset_ours()
        profiler.start()
        for raw in frames:
            handle(raw)
        profiler.stop()
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    PROFILE_PATH.write_text(header + text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=4000)
    parser.add_argument("--passes", type=int, default=15)
    parser.add_argument("--profile", action="store_true", help=f"also write {PROFILE_PATH.name}")
    args = parser.parse_args()
    print(run(args.orders, args.passes, args.profile).console())


if __name__ == "__main__":
    main()
