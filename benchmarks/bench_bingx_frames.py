"""BingX market-frame cost: gzip frame -> NautilusTrader data objects, against a plain baseline, one run.

* **ours** — ``BingxDataClient.handle_frame(raw)``: gunzip, typed msgspec decode, routing, trade
  de-duplication, the incrDepth chain rule and NautilusTrader object construction (``QuoteTick``,
  ``TradeTick``, ``OrderBookDeltas``, ``MarkPriceUpdate``, ``Bar``), up to ``_handle_data``;
* **decode only** — our ``decode_market_frame(raw)`` (gunzip + typed decode, no Nautilus objects);
* **json + dict** — the reference design's shape: ``json.loads(gzip.decompress(raw))`` and a dict
  lookup of ``data``; no typing, no precision handling, no objects.

The client is built on a real ``MessageBus``/``Cache``/``LiveClock`` with ``DataEngine.process``
replaced by a counting sink, so only adapter work is timed. Frames are a busy BTC-USDT stream in the
mix a book + quotes + trades + mark + bars subscriber sees: each pass starts with an ``incrDepth``
``all`` push (200 levels a side) and then ``update`` pushes with consecutive ``lastUpdateId`` (45 %),
``bookTicker`` (25 %), ``trade`` batches of 1-3 (20 %), ``markPrice`` (7 %) and ``kline_1m`` (3 %),
all gzip-compressed like the venue's. Passes are interleaved (A B C, B C A, ...); the median µs/frame
and the median of the per-pass ratios are reported.

    python -m benchmarks.bench_bingx_frames [--frames 20000] [--passes 9]
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
from typing import Any

import msgspec
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.model.currencies import BTC, USDT
from nautilus_trader.model.identifiers import ClientId, InstrumentId, Symbol, TraderId
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
from adapters.bingx.schemas_market import decode_market_frame
from adapters.core.base.dedup import FifoDedup
from benchmarks.common import Section, median, quiet_logging

SYMBOL = "BTC-USDT"
IID = InstrumentId(Symbol("BTC-USDT-PERP"), BINGX_VENUE)


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

    def reset(self) -> None:
        """Fresh subscription state: an unsynced book (the pass starts with its ``all``), empty dedup."""
        c = self.client
        ctx = c._context(SYMBOL)
        assert ctx is not None
        c.books[SYMBOL] = BookState(SYMBOL, f"{SYMBOL}@incrDepth", BingxBookSync(ctx))
        c._trade_seen[SYMBOL] = FifoDedup(100_000)
        self.emitted = 0

    def contender(self, name: str) -> Callable[[bytes], Any]:
        if name == "ours":
            return self.client.handle_frame
        if name == "decode only":
            return decode_market_frame

        def baseline(raw: bytes) -> Any:
            return json.loads(gzip.decompress(raw))["data"]

        return baseline

    def run_once(self, name: str) -> float:
        self.reset()
        fn = self.contender(name)
        frames = self.frames
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            for raw in frames:
                fn(raw)
            elapsed = time.perf_counter() - t0
        finally:
            gc.enable()
        return elapsed / len(frames) * 1e6

    def close(self) -> None:
        self.loop.close()


def run(n_frames: int = 20_000, passes: int = 9) -> Section:
    quiet_logging()
    bench = Bench(n_frames)
    try:
        names = ["ours", "decode only", "json + dict"]
        bench.run_once("ours")  # warm-up; also checks the work done
        c = bench.client
        book = c.books[SYMBOL]
        if not book.sync.is_synced or book.sync.metrics.gaps_detected:
            raise AssertionError("the benchmark stream did not chain")
        emitted = bench.emitted
        for name in names[1:]:
            bench.run_once(name)
        times: dict[str, list[float]] = {n: [] for n in names}
        ratios: dict[str, list[float]] = {n: [] for n in names}
        for p in range(passes):
            order = names[p % 3 :] + names[: p % 3]
            this = {name: bench.run_once(name) for name in order}
            for name in names:
                times[name].append(this[name])
                ratios[name].append(this["ours"] / this[name])
    finally:
        bench.close()
    section = Section(
        title="BingX market frames: gzip frame -> Nautilus objects (µs per frame)",
        headers=["contender", "median µs/frame", "min", "max", "ours ÷ this (median of passes)"],
    )
    for name in names:
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
    section.notes = [
        f"{len(bench.frames)} frames per pass (incrDepth 45 %, bookTicker 25 %, trade 20 %, markPrice 7 %, "
        f"kline 3 %); {emitted} Nautilus objects published per pass; {passes} interleaved passes.",
        f"ours costs {ratio:.2f}x the untyped json + dict baseline, which builds no Nautilus objects, checks "
        "no sequence and keeps no precision.",
    ]
    section.data = {"median_us": {n: median(t) for n, t in times.items()}, "ratio_vs_json_dict": ratio}
    return section


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--passes", type=int, default=9)
    args = parser.parse_args()
    print(run(args.frames, args.passes).console())


if __name__ == "__main__":
    main()
