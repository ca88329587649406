"""BingX user-stream frame cost: gzip ORDER_TRADE_UPDATE frames -> order events, against a plain baseline.

* **ours** — ``BingxUserStreamHandler.handle_frame(raw)`` of our ``BingxExecutionClient``: gunzip,
  typed msgspec decode, the lowercase-client-id / cancel-replace order index, trade de-duplication,
  order facts (each fact exactly once) and NautilusTrader event construction (``OrderAccepted``,
  ``OrderFilled``, ``OrderCanceled``) sent to ``ExecEngine.process``;
* **decode only** — our ``decode_user_frame(raw)`` (gunzip + typed decode; no lookups, no events);
* **json + dict** — the reference design's shape: ``json.loads(gzip.decompress(raw))`` and a walk of
  the dict's order fields (client id, order id, execution type, status, last fill, trade id,
  cumulative quantity, fee); no typing, no precision, no de-duplication, no events;
* **our Binance** — our Binance USD-M handler on the same event mix (the frames, orders and sink of
  :mod:`benchmarks.bench_user_stream`), in the same passes: the issue-16 target "BingX user-stream
  frame ÷ our Binance frame" is the median of the per-pass ratios of these two, measured side by
  side under the same load and the same garbage-collector setting (not two medians from two
  benchmarks minutes apart, one with the collector on and one with it off).

The client is built on a real ``MessageBus``/``Cache``/``LiveClock`` with ``ExecEngine.process``
replaced by a counting sink, so only adapter work is timed (the engine never applies the events: the
cached orders stay ``SUBMITTED`` and our tracker is reset, untimed, before every pass). Thousands of
distinct orders rest in the cache; the frames are their lives as the BingX simulator renders them
(the venue echoes client ids lowercased; fills carry ``l``/``L``/``td``): NEW, a partial TRADE, then a
FILLED TRADE (even orders) or a CANCELED (odd orders), interleaved across orders, each frame gzip
compressed in a binary message. Before timing, our event counts are checked against the frames.
Passes are interleaved (A B C, B C A, ...); the median µs/frame and the median of the per-pass
ratios are reported.

    python -m benchmarks.bench_bingx_user_stream [--orders 4000] [--passes 15] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import gzip
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.currencies import BTC, USDT
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderSubmitted
from nautilus_trader.model.identifiers import AccountId, ClientId, InstrumentId, StrategyId, Symbol, TraderId
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.objects import Price, Quantity

from adapters.bingx.parsing import BINGX_VENUE
from adapters.bingx.schemas_user import decode_user_frame
from benchmarks import bench_user_stream
from benchmarks.common import Section, median, quiet_logging

PROFILE_PATH = Path(__file__).resolve().parent / "profile_bingx_user_stream.txt"
SYMBOL = "BTC-USDT"
IID = InstrumentId(Symbol("BTC-USDT-PERP"), BINGX_VENUE)
TRADER = TraderId("BENCH-001")
STRATEGY = StrategyId("S-001")
NAMES = ["ours", "decode only", "json + dict", "our Binance"]


def _instrument() -> CryptoPerpetual:
    return CryptoPerpetual(
        instrument_id=IID,
        raw_symbol=Symbol(SYMBOL),
        base_currency=BTC,
        quote_currency=USDT,
        settlement_currency=USDT,
        is_inverse=False,
        price_precision=1,
        size_precision=4,
        price_increment=Price.from_str("0.1"),
        size_increment=Quantity.from_str("0.0001"),
        maker_fee=Decimal("0.0002"),
        taker_fee=Decimal("0.0005"),
        ts_event=0,
        ts_init=0,
    )


# ------------------------------------------------------------------------------------------------
# Frames, as the BingX simulator renders them (adapters.sim.bingx.wire.order_trade_update)
# ------------------------------------------------------------------------------------------------
def _frame(cid: str, oid: int, x: str, status: str, last: str, cum: str, trade_id: int, t: int) -> bytes:
    now = 1_760_000_000_000 + t
    price = "60000.00000000"
    fee = Decimal(last) * Decimal("60000") * Decimal("0.0002")
    o: dict[str, Any] = {
        "s": SYMBOL, "c": cid.lower(), "i": oid, "S": "BUY", "o": "LIMIT", "q": "0.01000000",
        "p": price, "sp": "0.00000000", "ap": price if cum != "0" else "0.00000000", "x": x, "X": status,
        "N": "USDT", "n": f"{-fee:.8f}", "T": now if trade_id else 0, "wt": "MARK_PRICE", "ps": "BOTH",
        "rp": "0.00000000", "z": f"{Decimal(cum):.8f}", "sg": "false", "ti": 0, "ro": False,
    }  # fmt: skip
    if trade_id:
        o |= {"l": f"{Decimal(last):.8f}", "L": price, "td": trade_id, "tv": f"{Decimal(last) * 60000:.8f}"}
    event = {"e": "ORDER_TRADE_UPDATE", "E": now, "T": now, "o": o}
    return gzip.compress(msgspec.json.encode(event), compresslevel=6)


def build_frames(cids: list[str], seed: int = 7) -> tuple[list[bytes], Counter[str]]:
    """Each order's life in order, orders interleaved at random; and the events they must produce."""
    lives: list[list[bytes]] = []
    expected: Counter[str] = Counter()
    trade = 1
    for n, cid in enumerate(cids):
        oid = 1_900_000_000_000_000_000 + n
        life = [_frame(cid, oid, "NEW", "NEW", "0", "0", 0, 0)]
        life.append(_frame(cid, oid, "TRADE", "PARTIALLY_FILLED", "0.004", "0.004", trade, trade))
        trade += 1
        expected.update(["OrderAccepted", "OrderFilled"])
        if n % 2 == 0:
            life.append(_frame(cid, oid, "TRADE", "FILLED", "0.006", "0.010", trade, trade))
            trade += 1
            expected["OrderFilled"] += 1
        else:
            life.append(_frame(cid, oid, "CANCELED", "CANCELED", "0", "0.004", 0, trade))
            expected["OrderCanceled"] += 1
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
    return frames, expected


def json_dict_baseline(raw: bytes) -> Any:
    """The reference design's shape: untyped json of the gunzipped frame, then a walk of the order."""
    msg = json.loads(gzip.decompress(raw))
    if msg.get("e") != "ORDER_TRADE_UPDATE":
        return None
    o = msg["o"]
    return (
        o["s"], o["c"], o["i"], o["x"], o["X"], o.get("l"), o.get("L"), o.get("td"), o["z"], o["n"], o["T"],
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Setup: one msgbus/cache/clock, our client, the orders
# ------------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, n_orders: int) -> None:
        quiet_logging()
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.clock = LiveClock()
        self.msgbus = MessageBus(TRADER, self.clock)
        self.cache = Cache(database=None)
        self.instrument = _instrument()
        self.cache.add_instrument(self.instrument)
        self.events: Counter[str] = Counter()
        events = self.events

        def sink(event: Any) -> None:
            events[type(event).__name__] += 1

        self.msgbus.register("ExecEngine.process", sink)
        self.client = self._client()
        factory = OrderFactory(TRADER, STRATEGY, self.clock)
        self.cids: list[str] = []
        self.orders: list[Any] = []
        for _ in range(n_orders):
            order = factory.limit(IID, OrderSide.BUY, Quantity.from_str("0.0100"), Price.from_str("60000.0"))
            self.cache.add_order(order)
            order.apply(
                OrderSubmitted(
                    TRADER, STRATEGY, IID, order.client_order_id, AccountId("BINGX-SWAP"), UUID4(), 0, 0
                )
            )
            self.cache.update_order(order)
            self.orders.append(order)
            self.cids.append(order.client_order_id.value)
        self.frames, self.expected = build_frames(self.cids)
        # Our Binance handler on the same event mix, for the side-by-side BingX ÷ Binance ratio.
        self.binance = bench_user_stream.Bench(n_orders)
        asyncio.set_event_loop(self.loop)

    def _client(self) -> Any:
        from adapters.bingx.config import BingxExecClientConfig
        from adapters.bingx.execution import BingxExecutionClient
        from adapters.bingx.http import BingxHttpClient
        from adapters.bingx.providers import BingxInstrumentProvider

        config = BingxExecClientConfig(
            api_key="key",
            api_secret="secret",
            base_url_http="http://127.0.0.1:9",
            base_url_ws="ws://127.0.0.1:9/swap-market",
            dual_side_position=False,
        )
        http = BingxHttpClient(config.urls().http, "key", "secret")
        provider = BingxInstrumentProvider(http, InstrumentProviderConfig(load_all=True))
        provider.add(self.instrument)
        provider.instruments_by_symbol[SYMBOL] = self.instrument
        return BingxExecutionClient(
            self.loop, ClientId("BINGX"), config, self.msgbus, self.cache, self.clock, provider, http
        )

    def reset_ours(self) -> None:
        """Our tracker and order index as right after the orders were submitted (untimed)."""
        from adapters.core.orders.order_tracking import OrderTracker

        client = self.client
        fresh = OrderTracker()
        tracker = client.tracker
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
        client.index._by_cid.clear()
        client.index._chains.clear()
        client._not_in_cache.clear()
        # What _adopt does for each order (without its scan of the cache per order: O(n^2) here).
        for order in self.orders:
            client.index.register(client._tracked_from_cache(order))

    def contenders(self) -> dict[str, tuple[Callable[[], None], Callable[[bytes], Any]]]:
        return {
            "ours": (self.reset_ours, self.client.stream_handler.handle_frame),
            "decode only": (lambda: None, decode_user_frame),
            "json + dict": (lambda: None, json_dict_baseline),
            "our Binance": (self.binance.reset_ours, self.binance.ours.stream_handler.handle_frame),
        }

    def run_once(self, name: str) -> tuple[float, Counter[str]]:
        reset, handle = self.contenders()[name]
        reset()
        self.events.clear()
        self.binance.events.clear()
        frames = self.binance.frames if name == "our Binance" else self.frames
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter_ns()
            for raw in frames:
                handle(raw)
            elapsed = time.perf_counter_ns() - start
        finally:
            gc.enable()
        events = self.binance.events if name == "our Binance" else self.events
        return elapsed / 1000 / len(frames), Counter(events)

    def close(self) -> None:
        self.binance.close()
        self.loop.close()


def write_profile(bench: Bench, repeats: int = 10) -> None:
    """A pyinstrument profile of our BingX handler on the benchmark's frames."""
    from pyinstrument import Profiler

    handle = bench.client.stream_handler.handle_frame
    profiler = Profiler(interval=0.0001)
    for _ in range(repeats):
        bench.reset_ours()
        profiler.start()
        for raw in bench.frames:
            handle(raw)
        profiler.stop()
    header = (
        f"# Profile of BingxUserStreamHandler.handle_frame: {len(bench.frames)} gzip frames x {repeats} "
        f"passes, {len(bench.cids)} orders in the cache, ExecEngine.process replaced by a sink.\n"
        "# Regenerate: python -m benchmarks.bench_bingx_user_stream --profile\n\n"
    )
    PROFILE_PATH.write_text(header + profiler.output_text(unicode=True, color=False, show_all=False))


def run(n_orders: int = 4000, passes: int = 15, profile: bool = False) -> Section:
    bench = Bench(n_orders)
    try:
        got = bench.run_once("ours")[1]  # warm-up; also checks our handler did all the work
        handler = bench.client.stream_handler
        if got != bench.expected or handler.errors or handler.malformed or handler.missing_last_fill:
            raise AssertionError(f"ours emitted {dict(got)}, the frames need {dict(bench.expected)}")
        binance = bench.run_once("our Binance")[1]
        if binance != bench.expected:
            raise AssertionError(
                f"our Binance emitted {dict(binance)}, the BingX frames {dict(bench.expected)}"
            )
        for name in NAMES[1:3]:
            bench.run_once(name)
        times: dict[str, list[float]] = {n: [] for n in NAMES}
        ratios: dict[str, list[float]] = {n: [] for n in NAMES}
        for p in range(passes):
            order = NAMES[p % 4 :] + NAMES[: p % 4]
            this = {name: bench.run_once(name)[0] for name in order}
            for name in NAMES:
                times[name].append(this[name])
                ratios[name].append(this["ours"] / this[name])
        if profile:
            write_profile(bench)
    finally:
        bench.close()
    section = Section(
        title="BingX user-stream event cost: gzip ORDER_TRADE_UPDATE frame -> order events (µs per frame)",
        headers=["contender", "median µs/frame", "min", "max", "ours ÷ this (median of passes)"],
    )
    for name in NAMES:
        section.rows.append(
            [
                name,
                f"{median(times[name]):.2f}",
                f"{min(times[name]):.2f}",
                f"{max(times[name]):.2f}",
                f"{median(ratios[name]):.2f}x",
            ]
        )
    ratio = median(ratios["json + dict"])
    vs_binance = median(ratios["our Binance"])
    events = median(times["ours"]) - median(times["decode only"])
    section.notes = [
        f"{n_orders} distinct orders resting in the cache; {len(bench.frames)} gzip frames per pass "
        f"({dict(bench.expected)} events from ours); {passes} interleaved passes.",
        f"ours costs {ratio:.2f}x the untyped json + dict baseline, which emits no events, keeps no "
        "precision and de-duplicates nothing; of ours, gunzip + typed decode is "
        f"{median(times['decode only']):.2f} µs and the rest ({events:.2f} µs) is order lookup, facts "
        "and NautilusTrader event construction.",
        f"ours costs {vs_binance:.2f}x our Binance handler on the same event mix (same passes; Binance "
        "frames are uncompressed JSON, BingX frames gzip: the gunzip is part of the decode above).",
    ]
    section.data = {
        "median_us": {n: median(t) for n, t in times.items()},
        "ratio_vs_json_dict": ratio,
        "ratio_vs_binance": vs_binance,
    }
    return section


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
