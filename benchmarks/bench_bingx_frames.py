"""BingX market-frame cost: gzip frame -> NautilusTrader data objects, against baselines, one run.

* **ours** — ``BingxDataClient.handle_frame(raw)``: gunzip, typed msgspec decode, routing, trade
  de-duplication, the incrDepth chain rule and NautilusTrader object construction (``QuoteTick``,
  ``TradeTick``, ``OrderBookDeltas``, ``MarkPriceUpdate``, ``Bar``), up to ``_handle_data``;
* **json + dict -> objects** — the reference design's shape doing the same job:
  ``json.loads(gzip.decompress(raw))``, a walk of the dicts, and the same NautilusTrader objects
  sent the same way (``Price.from_str`` / ``Quantity.from_str`` through a string cache, as ours
  caches; the mark price rounded through ``float``; trade id ``<T>-<index>``), with no chain rule,
  no de-duplication and no range checks. The issue-16 target is measured against it;
* **floor** — our typed decode (``decode_market_frame``) and the same bare construction as the
  baseline above: what is left of ours without routing, checks, chain rule or de-duplication;
* **decode only** — our ``decode_market_frame(raw)`` (gunzip + typed decode, no Nautilus objects);
* **json + dict** — ``json.loads(gzip.decompress(raw))`` and a dict lookup of ``data``; no typing,
  no precision handling, no objects (the baseline the target was first written against: building
  the objects alone costs more than 20 % of it, so ``ours ÷ json + dict`` is kept as information).

All contenders take the same gzip bytes. The client is built on a real ``MessageBus``/``Cache``/
``LiveClock`` with ``DataEngine.process`` replaced by a counting sink, so only adapter work is timed;
the object counts of ours and the two object-building baselines are checked equal before timing.
Frames are a busy BTC-USDT stream in the mix a book + quotes + trades + mark + bars subscriber sees:
each pass starts with an ``incrDepth`` ``all`` push (200 levels a side) and then ``update`` pushes with
consecutive ``lastUpdateId`` (45 %), ``bookTicker`` (25 %), ``trade`` batches of 1-3 (20 %),
``markPrice`` (7 %) and ``kline_1m`` (3 %), all gzip-compressed like the venue's. Passes are
interleaved (a different contender first each pass); the median µs/frame and the median of the
per-pass ratios are reported.

    python -m benchmarks.bench_bingx_frames [--frames 20000] [--passes 10] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import gzip
import json
import random
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.model.currencies import BTC, USDT
from nautilus_trader.model.data import (
    Bar,
    BarType,
    BookOrder,
    MarkPriceUpdate,
    OrderBookDelta,
    OrderBookDeltas,
    QuoteTick,
    TradeTick,
)
from nautilus_trader.model.enums import AggressorSide, BookAction, OrderSide, RecordFlag
from nautilus_trader.model.identifiers import ClientId, InstrumentId, Symbol, TradeId, TraderId
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.objects import Price, Quantity

from adapters.bingx.book import BingxBookSync
from adapters.bingx.config import BingxDataClientConfig
from adapters.bingx.data import BingxDataClient, BookState
from adapters.bingx.http import BingxHttpClient
from adapters.bingx.parsing import BINGX_VENUE
from adapters.bingx.parsing_market import (
    KLINE_INTERVALS,
    BarTracker,
    MarketContext,
    bar_type_for,
)
from adapters.bingx.providers import BingxInstrumentProvider
from adapters.bingx.schemas_market import (
    BookTickerFrame,
    IncrDepthFrame,
    KlineFrame,
    MarkPriceFrame,
    TradeFrame,
    decode_market_frame,
)
from adapters.core.base.dedup import FifoDedup
from benchmarks.common import Section, median, quiet_logging

PROFILE_PATH = Path(__file__).resolve().parent / "profile_bingx_market_frames.txt"
SYMBOL = "BTC-USDT"
IID = InstrumentId(Symbol("BTC-USDT-PERP"), BINGX_VENUE)
PRICE_PRECISION = 1
NAMES = ["ours", "json + dict -> objects", "floor", "decode only", "json + dict"]
OBJECT_BUILDERS = ("ours", "json + dict -> objects", "floor")


def _instrument() -> CryptoPerpetual:
    return CryptoPerpetual(
        instrument_id=IID,
        raw_symbol=Symbol(SYMBOL),
        base_currency=BTC,
        quote_currency=USDT,
        settlement_currency=USDT,
        is_inverse=False,
        price_precision=PRICE_PRECISION,
        size_precision=4,
        price_increment=Price.from_str("0.1"),
        size_increment=Quantity.from_str("0.0001"),
        ts_event=0,
        ts_init=0,
    )


def _gz(obj: Any) -> bytes:
    return gzip.compress(msgspec.json.encode(obj), compresslevel=6)


def make_frames(n: int, seed: int = 7) -> list[bytes]:
    rnd = random.Random(seed)
    mid = Decimal("60000.0")
    tick = Decimal("0.1")

    def px(d: Decimal) -> str:
        return f"{d:.1f}"

    def qty() -> str:
        return f"{Decimal(rnd.randint(1, 50_000)) / 10_000:.4f}"

    uid = 1_000
    t = 1_760_000_000_000
    bids = [[px(mid - tick * (i + 1)), qty()] for i in range(200)]
    asks = [[px(mid + tick * (i + 1)), qty()] for i in range(200)]
    frames = [
        _gz(
            {
                "code": 0,
                "dataType": f"{SYMBOL}@incrDepth",
                "data": {"action": "all", "lastUpdateId": uid, "time": t, "bids": bids, "asks": asks},
            }
        )
    ]
    kline_open = t - t % 60_000
    for _ in range(n - 1):
        t += rnd.randint(1, 20)
        r = rnd.random()
        if r < 0.45:
            uid += 1
            changes = rnd.randint(1, 8)
            b = [
                [px(mid - tick * rnd.randint(1, 200)), "0.0000" if rnd.random() < 0.2 else qty()]
                for _ in range(changes)
            ]
            a = [
                [px(mid + tick * rnd.randint(1, 200)), "0.0000" if rnd.random() < 0.2 else qty()]
                for _ in range(changes)
            ]
            data: Any = {"action": "update", "lastUpdateId": uid, "time": t, "bids": b, "asks": a}
            frames.append(_gz({"code": 0, "dataType": f"{SYMBOL}@incrDepth", "data": data}))
        elif r < 0.70:
            data = {
                "e": "bookTicker",
                "u": uid,
                "E": t,
                "T": t,
                "s": SYMBOL,
                "b": px(mid - tick),
                "B": qty(),
                "a": px(mid + tick),
                "A": qty(),
            }
            frames.append(_gz({"code": 0, "dataType": f"{SYMBOL}@bookTicker", "data": data}))
        elif r < 0.90:
            data = [
                {
                    "q": qty(),
                    "p": px(mid + tick * rnd.randint(-5, 5)),
                    "T": t,
                    "m": rnd.random() < 0.5,
                    "s": SYMBOL,
                }
                for _ in range(rnd.randint(1, 3))
            ]
            frames.append(_gz({"code": 0, "dataType": f"{SYMBOL}@trade", "data": data}))
        elif r < 0.97:
            data = {
                "e": "markPriceUpdate",
                "E": t,
                "s": SYMBOL,
                "p": f"{mid + tick * rnd.randint(-9, 9):.2f}",
            }
            frames.append(_gz({"code": 0, "dataType": f"{SYMBOL}@markPrice", "data": data}))
        else:
            if t - kline_open >= 60_000:
                kline_open = t - t % 60_000
            o = px(mid)
            item = {"c": px(mid + tick), "o": o, "h": px(mid + tick * 3), "l": px(mid - tick * 2), "v": qty()}
            item["T"] = kline_open  # type: ignore[assignment]
            frames.append(_gz({"code": 0, "dataType": f"{SYMBOL}@kline_1m", "s": SYMBOL, "data": [item]}))
        mid += tick * rnd.randint(-1, 1)
    return frames


_UPDATE, _DELETE, _ADD, _CLEAR = BookAction.UPDATE, BookAction.DELETE, BookAction.ADD, BookAction.CLEAR
_BUY, _SELL = OrderSide.BUY, OrderSide.SELL
_F_LAST, _F_SNAPSHOT = int(RecordFlag.F_LAST), int(RecordFlag.F_SNAPSHOT)
_BAR_TYPE = BarType.from_str(f"{IID}-1-MINUTE-LAST-EXTERNAL")
_MINUTE_MS = 60_000


class _BareObjects:
    """The bare construction both object-building baselines share: the same NautilusTrader objects as
    ours from already-decoded values, sent to the same sink, with nothing checked. Price/Quantity from
    the wire strings (``from_str``) through an unbounded string cache; the mark price rounded through
    ``float``; a kline held until a later one closes it (BingX has no closed flag), as ours."""

    def __init__(self, msgbus: MessageBus, clock: LiveClock) -> None:
        self.send = msgbus.send
        self.clock = clock
        self.prices: dict[str, Price] = {}
        self.sizes: dict[str, Quantity] = {}
        self.held: tuple[int, str, str, str, str, str] | None = None

    def price(self, s: str) -> Price:
        p = self.prices.get(s)
        if p is None:
            p = self.prices[s] = Price.from_str(s)
        return p

    def size(self, s: str) -> Quantity:
        q = self.sizes.get(s)
        if q is None:
            q = self.sizes[s] = Quantity.from_str(s)
        return q

    def book(self, snapshot: bool, uid: int, ms: int, bids: Any, asks: Any, now: int) -> None:
        ts = ms * 1_000_000
        price, size = self.price, self.size
        deltas = []
        if snapshot:
            deltas.append(OrderBookDelta(IID, _CLEAR, None, _F_SNAPSHOT, uid, ts, now))
            for side, rows in ((_BUY, bids), (_SELL, asks)):
                for p, q in rows:
                    order = BookOrder(side, price(p), size(q), 0)
                    deltas.append(OrderBookDelta(IID, _ADD, order, _F_SNAPSHOT, uid, ts, now))
        else:
            for side, rows in ((_BUY, bids), (_SELL, asks)):
                for p, q in rows:
                    sz = size(q)
                    action = _DELETE if sz.raw == 0 else _UPDATE
                    order = BookOrder(side, price(p), sz, 0)
                    deltas.append(OrderBookDelta(IID, action, order, 0, uid, ts, now))
        last = deltas[-1]
        deltas[-1] = OrderBookDelta(IID, last.action, last.order, last.flags | _F_LAST, uid, ts, now)
        self.send("DataEngine.process", OrderBookDeltas(IID, deltas))

    def quote(self, b: str, a: str, bq: str, aq: str, ms: int, now: int) -> None:
        self.send(
            "DataEngine.process",
            QuoteTick(IID, self.price(b), self.price(a), self.size(bq), self.size(aq), ms * 1_000_000, now),
        )

    def trade(self, i: int, p: str, q: str, maker: bool, ms: int, now: int) -> None:
        side = AggressorSide.SELLER if maker else AggressorSide.BUYER
        self.send(
            "DataEngine.process",
            TradeTick(IID, self.price(p), self.size(q), side, TradeId(f"{ms}-{i}"), ms * 1_000_000, now),
        )

    def mark(self, p: str, ms: int, now: int) -> None:
        self.send(
            "DataEngine.process", MarkPriceUpdate(IID, Price(float(p), PRICE_PRECISION), ms * 1_000_000, now)
        )

    def kline(self, k: tuple[int, str, str, str, str, str], now: int) -> None:
        held = self.held
        if held is not None and k[0] > held[0]:
            t, o, h, low, c, v = held
            bar = Bar(
                _BAR_TYPE, self.price(o), self.price(h), self.price(low), self.price(c), self.size(v),
                (t + _MINUTE_MS) * 1_000_000, now,
            )  # fmt: skip
            self.send("DataEngine.process", bar)
        if held is None or k[0] >= held[0]:
            self.held = k


class _JsonObjects(_BareObjects):
    """json + dict -> objects: untyped decode of the gunzipped frame, a walk of the dicts."""

    def handle(self, raw: bytes) -> None:
        msg = json.loads(gzip.decompress(raw))
        topic = msg["dataType"].partition("@")[2]
        d = msg["data"]
        now = self.clock.timestamp_ns()
        if topic == "incrDepth":
            self.book(d["action"] == "all", d["lastUpdateId"], d["time"], d["bids"], d["asks"], now)
        elif topic == "bookTicker":
            self.quote(d["b"], d["a"], d["B"], d["A"], d["T"], now)
        elif topic == "trade":
            for i, t in enumerate(d):
                self.trade(i, t["p"], t["q"], t["m"], t["T"], now)
        elif topic == "markPrice":
            self.mark(d["p"], d["E"], now)
        elif topic.startswith("kline_"):
            for k in d:
                self.kline((k["T"], k["o"], k["h"], k["l"], k["c"], k["v"]), now)


class _TypedObjects(_BareObjects):
    """floor: our typed decode, then the same bare construction."""

    def handle(self, raw: bytes) -> None:
        ev = decode_market_frame(raw)
        tp = type(ev)
        now = self.clock.timestamp_ns()
        if tp is IncrDepthFrame:
            d = ev.data  # type: ignore[union-attr]
            self.book(d.action == "all", d.lastUpdateId, d.time, d.bids, d.asks, now)
        elif tp is BookTickerFrame:
            q = ev.data  # type: ignore[union-attr]
            self.quote(q.b, q.a, q.B, q.A, q.T, now)
        elif tp is TradeFrame:
            for i, t in enumerate(ev.data):  # type: ignore[union-attr]
                self.trade(i, t.p, t.q, t.m, t.T, now)
        elif tp is MarkPriceFrame:
            self.mark(ev.data.p, ev.data.E, now)  # type: ignore[union-attr]
        elif tp is KlineFrame:
            for k in ev.data:  # type: ignore[union-attr]
                self.kline((k.T, k.o, k.h, k.l, k.c, k.v), now)


class Bench:
    def __init__(self, n_frames: int) -> None:
        self.frames = make_frames(n_frames)
        self.loop = asyncio.new_event_loop()
        self.clock = LiveClock()
        self.msgbus = MessageBus(TraderId("BENCH-001"), self.clock)
        self.cache = Cache(database=None)
        self.emitted = 0

        def sink(_: Any) -> None:
            self.emitted += 1

        self.msgbus.register("DataEngine.process", sink)
        config = BingxDataClientConfig(
            base_url_http="http://127.0.0.1:9", base_url_ws="ws://127.0.0.1:9/swap-market"
        )
        http = BingxHttpClient(config.urls().http)
        provider = BingxInstrumentProvider(http)
        inst = _instrument()
        provider.add(inst)
        provider.instruments_by_symbol[SYMBOL] = inst
        self.client = BingxDataClient(
            self.loop, ClientId("BINGX"), config, self.msgbus, self.cache, self.clock, provider, http
        )
        self.ctx = MarketContext.from_instrument(inst)
        self.client._quote_symbols.add(SYMBOL)
        self.client._mark_symbols.add(SYMBOL)
        self.client._bars[f"{SYMBOL}@kline_1m"] = BarTracker(
            bar_type_for(IID, "1m"),
            KLINE_INTERVALS["1m"],
            self.client._context(SYMBOL),  # type: ignore[arg-type]
        )

        self.json_objects = _JsonObjects(self.msgbus, self.clock)
        self.typed_objects = _TypedObjects(self.msgbus, self.clock)

    def reset(self) -> None:
        """Fresh subscription state: an unsynced book (the pass starts with its ``all``), empty dedup."""
        c = self.client
        ctx = c._context(SYMBOL)
        assert ctx is not None
        c.books[SYMBOL] = BookState(SYMBOL, f"{SYMBOL}@incrDepth", BingxBookSync(ctx))
        c._trade_seen[SYMBOL] = FifoDedup(100_000)
        # Every contender starts the pass with no kline held (the caches are kept, as ours keeps its own).
        c._bars[f"{SYMBOL}@kline_1m"].invalidate()
        self.json_objects.held = None
        self.typed_objects.held = None
        self.emitted = 0

    def contender(self, name: str) -> Callable[[bytes], Any]:
        if name == "ours":
            return self.client.handle_frame
        if name == "decode only":
            return decode_market_frame
        if name == "json + dict -> objects":
            return self.json_objects.handle
        if name == "floor":
            return self.typed_objects.handle

        def baseline(raw: bytes) -> Any:
            return json.loads(gzip.decompress(raw))["data"]

        return baseline

    def run_once(self, name: str) -> tuple[float, int]:
        """µs per frame of one pass of ``name`` over the frames, and the objects it published."""
        self.reset()
        fn = self.contender(name)
        frames = self.frames
        gc.collect()
        gc.disable()
        try:
            # CPU time of this thread: on a shared machine wall time also counts the time the process
            # waited for a core, which lands on whichever contender was running.
            t0 = time.thread_time_ns()
            for raw in frames:
                fn(raw)
            elapsed = time.thread_time_ns() - t0
        finally:
            gc.enable()
        return elapsed / len(frames) / 1000, self.emitted

    def close(self) -> None:
        self.loop.close()


def run(n_frames: int = 20_000, passes: int = 10, profile: bool = False) -> Section:
    quiet_logging()
    bench = Bench(n_frames)
    try:
        emitted = {"ours": bench.run_once("ours")[1]}  # warm-up; also checks the work done
        book = bench.client.books[SYMBOL]
        if not book.sync.is_synced or book.sync.metrics.gaps_detected:
            raise AssertionError("the benchmark stream did not chain")
        emitted.update({name: bench.run_once(name)[1] for name in NAMES[1:]})
        if len({emitted[n] for n in OBJECT_BUILDERS}) != 1:
            raise AssertionError(f"the contenders did not publish the same objects: {emitted}")
        times: dict[str, list[float]] = {n: [] for n in NAMES}
        ratios: dict[str, list[float]] = {n: [] for n in NAMES}
        for p in range(passes):
            k = p % len(NAMES)
            order = NAMES[k:] + NAMES[:k]
            this = {name: bench.run_once(name)[0] for name in order}
            for name in NAMES:
                times[name].append(this[name])
                ratios[name].append(this["ours"] / this[name])
        if profile:
            write_profile(bench)
    finally:
        bench.close()
    section = Section(
        title="BingX market frames: gzip frame -> Nautilus objects (µs per frame)",
        headers=["contender", "median µs/frame", "min", "max", "ours ÷ this (median of passes)", "objects"],
    )
    for name in NAMES:
        section.rows.append(
            [
                name,
                f"{median(times[name]):.2f}",
                f"{min(times[name]):.2f}",
                f"{max(times[name]):.2f}",
                f"{median(ratios[name]):.2f}x",
                str(emitted[name]) if name in OBJECT_BUILDERS else "-",
            ]
        )
    ratio = median(ratios["json + dict -> objects"])
    untyped = median(ratios["json + dict"])
    section.notes = [
        f"{len(bench.frames)} frames per pass (incrDepth 45 %, bookTicker 25 %, trade 20 %, markPrice 7 %, "
        f"kline 3 %); {passes} interleaved passes; the same gzip bytes for every contender.",
        f"ours costs {ratio:.2f}x the json + dict baseline building the same objects (no chain rule, no "
        f"de-duplication, no range checks), {median(ratios['floor']):.2f}x the floor (our typed decode + "
        "the same bare construction).",
        f"against the untyped json + dict that builds no objects: ours {untyped:.2f}x, the floor "
        f"{median(times['floor']) / median(times['json + dict']):.2f}x (the objects alone cost more than "
        "the 20 % the first target allowed).",
        f"profile of ours: [{PROFILE_PATH.name}]({PROFILE_PATH.name}).",
    ]
    section.data = {
        "median_us": {n: median(t) for n, t in times.items()},
        "ratio_vs_json_dict_objects": ratio,
        "ratio_vs_json_dict": untyped,
        "ratio_vs_floor": median(ratios["floor"]),
    }
    return section


def write_profile(bench: Bench) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0001)
    handle = bench.client.handle_frame
    for _ in range(3):
        bench.reset()
        profiler.start()
        for raw in bench.frames:
            handle(raw)
        profiler.stop()
    header = (
        f"# Profile of our BingX market dispatch (BingxDataClient.handle_frame: gunzip, decode, routing, "
        f"objects): {len(bench.frames)} frames x 3 of the benchmark's mix, DataEngine.process replaced by "
        "a sink.\n# Regenerate: python -m benchmarks.bench_bingx_frames --profile\n\n"
    )
    PROFILE_PATH.write_text(header + profiler.output_text(unicode=True, color=False, show_all=False))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--passes", type=int, default=10)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(run(args.frames, args.passes, args.profile).console())


if __name__ == "__main__":
    main()
