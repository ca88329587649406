"""Binance market-frame cost per kind: the same combined-stream frames through three contenders, and
our adapter-only capacity as instruments are added.

* **ours** — what our market socket's dispatcher does per frame: ``BinanceStreamCodec.decode`` then
  ``BinanceFuturesDataClient.on_market_event`` (routing, the book's chain rule, range checks,
  precision, NautilusTrader object construction), up to ``DataEngine.process``;
* **built-in** — NautilusTrader 1.221's ``BinanceFuturesDataClient._handle_ws_message`` (same frames);
* **floor** — a typed msgspec decode of the frame plus the bare construction of the same NautilusTrader
  objects (``Price``/``Quantity`` from the wire strings through a string cache kept across passes, as
  ours keeps its own; mark/index prices rounded to the instrument's precision through ``float``; a
  ``BinanceBar`` for a closed kline, as both adapters publish) and the same ``DataEngine.process``
  send: no routing, no checks, no chain rule.

``DataEngine.process`` is a counting sink shared by all three (only adapter work is timed). Kinds:
``depth`` (diff frames of 1-5 levels a side continuing a synchronised book's ``U``/``u``/``pu``
chain), ``quotes`` (bookTicker), ``trades`` (aggTrade), ``mark`` (markPriceUpdate: ours publishes
mark, index and funding, the built-in its mark price and its own custom mark update),
``kline closed``, ``kline open`` (both adapters drop it). Passes are interleaved (A B C, B C A, ...);
the median µs/frame and the median of per-pass ratios are reported.

Capacity (ours only): frames/s = 1e6 / µs per frame through the same dispatch into the sink, per kind,
with the frames spread round-robin over 1, 10 and 100 subscribed instruments.

    python -m benchmarks.bench_market_frames [--frames 4000] [--passes 9] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import (
    BarType,
    BookOrder,
    OrderBookDelta,
    OrderBookDeltas,
    QuoteTick,
    TradeTick,
)
from nautilus_trader.model.enums import AggressorSide, BookAction, OrderSide
from nautilus_trader.model.identifiers import ClientId, InstrumentId, Symbol, TradeId, TraderId
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.objects import Currency, Price, Quantity

from benchmarks.common import Section, median, quiet_logging

PROFILE_PATH = Path(__file__).resolve().parent / "profile_market_frames.txt"
KINDS = ("depth", "quotes", "trades", "mark", "kline closed", "kline open")
T0 = 1_760_000_000_000


def _sym(k: int) -> str:
    return "BTCUSDT" if k == 0 else f"X{k:03d}USDT"


def _instrument(symbol: str) -> CryptoPerpetual:
    from adapters.binance_futures.parsing import BINANCE_VENUE

    base = (
        Currency.from_str(symbol[:-4]) if symbol == "BTCUSDT" else Currency(symbol[:-4], 8, 0, symbol[:-4], 2)
    )
    return CryptoPerpetual(
        instrument_id=InstrumentId(Symbol(f"{symbol}-PERP"), BINANCE_VENUE),
        raw_symbol=Symbol(symbol),
        base_currency=base,
        quote_currency=USDT,
        settlement_currency=USDT,
        is_inverse=False,
        price_precision=1,
        size_precision=3,
        price_increment=Price.from_str("0.1"),
        size_increment=Quantity.from_str("0.001"),
        ts_event=0,
        ts_init=0,
    )


class _Chain:
    def __init__(self) -> None:
        self.uid = 5_000_000


def make_frames(
    kind: str, n: int, n_instruments: int, chains: dict[str, _Chain], seed: int = 7
) -> list[bytes]:
    rnd = random.Random(seed)
    out: list[bytes] = []
    t = T0
    for i in range(n):
        sym = _sym(i % n_instruments)
        low = sym.lower()
        t += rnd.randint(0, 3)
        mid = Decimal(60000) + Decimal(rnd.randint(-50, 50)) / 10

        def q() -> str:
            return f"{Decimal(rnd.randint(1, 5000)) / 1000:.3f}"

        if kind == "depth":
            c = chains[sym]
            prev = c.uid
            c.uid += rnd.randint(1, 4)
            bids = [
                [f"{mid - Decimal(rnd.randint(1, 200)) / 10:.1f}", "0.000" if rnd.random() < 0.2 else q()]
                for _ in range(rnd.randint(1, 5))
            ]
            asks = [
                [f"{mid + Decimal(rnd.randint(1, 200)) / 10:.1f}", "0.000" if rnd.random() < 0.2 else q()]
                for _ in range(rnd.randint(1, 5))
            ]
            data: dict[str, Any] = {
                "e": "depthUpdate", "E": t, "T": t, "s": sym, "U": prev + 1, "u": c.uid, "pu": prev,
                "b": bids, "a": asks,
            }  # fmt: skip
            stream = f"{low}@depth@100ms"
        elif kind == "quotes":
            data = {
                "e": "bookTicker", "u": 1, "s": sym, "b": f"{mid:.1f}", "B": q(), "a": f"{mid + 1:.1f}",
                "A": q(), "T": t, "E": t,
            }  # fmt: skip
            stream = f"{low}@bookTicker"
        elif kind == "trades":
            data = {
                "e": "aggTrade", "E": t, "a": 1000 + i, "s": sym, "p": f"{mid:.1f}", "q": q(),
                "f": 2000 + i, "l": 2000 + i, "T": t, "m": rnd.random() < 0.5,
            }  # fmt: skip
            stream = f"{low}@aggTrade"
        elif kind == "mark":
            data = {
                "e": "markPriceUpdate", "E": t, "s": sym, "p": f"{mid + Decimal('0.12345678'):.8f}",
                "i": f"{mid - Decimal('0.87654321'):.8f}", "P": f"{mid:.8f}", "r": "0.00010000",
                "T": T0 + 8 * 3_600_000,
            }  # fmt: skip
            stream = f"{low}@markPrice@1s"
        else:
            closed = kind == "kline closed"
            start = T0 - T0 % 60_000 + (i // n_instruments) * 60_000
            k = {
                "t": start, "T": start + 59_999, "s": sym, "i": "1m", "f": 100, "L": 200,
                "o": f"{mid:.1f}", "c": f"{mid + 1:.1f}", "h": f"{mid + 2:.1f}", "l": f"{mid - 1:.1f}",
                "v": q(), "n": 100, "x": closed, "q": "1000.0", "V": q(), "Q": "500.0", "B": "0",
            }  # fmt: skip
            data = {"e": "kline", "E": start + 59_999 if closed else t, "s": sym, "k": k}
            stream = f"{low}@kline_1m"
        out.append(msgspec.json.encode({"stream": stream, "data": data}))
    return out


# ------------------------------------------------------------------------------------------------
# The floor's wire types
# ------------------------------------------------------------------------------------------------
class _Depth(msgspec.Struct):
    s: str
    E: int
    u: int
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]


class _Quote(msgspec.Struct):
    s: str
    b: str
    B: str
    a: str
    A: str
    T: int


class _Agg(msgspec.Struct):
    s: str
    a: int
    p: str
    q: str
    T: int
    m: bool


class _Mark(msgspec.Struct):
    s: str
    E: int
    p: str
    i: str
    r: str
    T: int


class _K(msgspec.Struct):
    t: int
    T: int
    o: str
    c: str
    h: str
    l: str  # noqa: E741 - the venue's field name
    v: str
    x: bool
    n: int
    q: str
    V: str
    Q: str


class _Kline(msgspec.Struct):
    s: str
    k: _K


def _wrapped(tp: Any) -> Any:
    return msgspec.defstruct("W", [("stream", str), ("data", tp)])


class Bench:
    def __init__(self, n_instruments: int = 1, with_builtin: bool = True) -> None:
        quiet_logging()
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.clock = LiveClock()
        self.msgbus = MessageBus(TraderId("BENCH-001"), self.clock)
        self.cache = Cache(database=None)
        self.emitted = 0

        def sink(_: Any) -> None:
            self.emitted += 1

        self.msgbus.register("DataEngine.process", sink)
        self.n = n_instruments
        self.instruments = [_instrument(_sym(k)) for k in range(n_instruments)]
        for inst in self.instruments:
            self.cache.add_instrument(inst)
        self.chains = {_sym(k): _Chain() for k in range(n_instruments)}
        self.floor_prices: dict[str, Price] = {}
        self.floor_sizes: dict[str, Quantity] = {}
        self.ours = self._ours()
        self.builtin = self._builtin() if with_builtin else None

    def _ours(self) -> Any:
        from adapters.binance_futures.book import BinanceBookSync
        from adapters.binance_futures.config import BinanceFuturesDataClientConfig
        from adapters.binance_futures.data import (
            OWN_FUNDING,
            OWN_INDEX,
            OWN_MARK,
            BinanceFuturesDataClient,
            BookState,
        )
        from adapters.binance_futures.http import BinanceFuturesHttpClient
        from adapters.binance_futures.providers import BinanceFuturesInstrumentProvider

        config = BinanceFuturesDataClientConfig(
            api_key="k", api_secret="s", base_url_http="http://127.0.0.1:9", base_url_ws="ws://127.0.0.1:9"
        )
        http = BinanceFuturesHttpClient("http://127.0.0.1:9", "k", "s")
        provider = BinanceFuturesInstrumentProvider(http, InstrumentProviderConfig(load_all=True))
        client = BinanceFuturesDataClient(
            self.loop, ClientId("BINANCE"), config, self.msgbus, self.cache, self.clock, provider, http
        )
        for inst in self.instruments:
            sym = inst.raw_symbol.value
            provider.add(inst)
            provider.instruments_by_symbol[sym] = inst
            client._quote_symbols.add(sym)
            client._trade_symbols.add(sym)
            client._mark_kinds[sym] = {OWN_MARK, OWN_INDEX, OWN_FUNDING}
            client._bar_types[f"{sym.lower()}@kline_1m"] = BarType.from_str(
                f"{inst.id}-1-MINUTE-LAST-EXTERNAL"
            )
            ctx = client._context(sym)
            book = BookState(sym, BinanceBookSync(ctx))
            client.books[sym] = book
        self._ours_sync_books(client)
        return client

    def _ours_sync_books(self, client: Any) -> None:
        from adapters.binance_futures.schemas_market import decode_depth_snapshot

        for sym, book in client.books.items():
            book.sync.reset()
            uid = self.chains[sym].uid
            levels = [[f"{60000 - k / 10:.1f}", "1.000"] for k in range(1, 201)]
            asks = [[f"{60000 + k / 10:.1f}", "1.000"] for k in range(1, 201)]
            snap = decode_depth_snapshot(
                msgspec.json.encode({"lastUpdateId": uid, "E": T0, "T": T0, "bids": levels, "asks": asks})
            )
            book.sync.on_snapshot(snap, self.clock.timestamp_ns())
            assert book.sync.is_synced

    def _builtin(self) -> Any:
        from nautilus_trader.adapters.binance.common.enums import BinanceAccountType
        from nautilus_trader.adapters.binance.config import BinanceDataClientConfig
        from nautilus_trader.adapters.binance.futures.data import BinanceFuturesDataClient
        from nautilus_trader.adapters.binance.futures.providers import BinanceFuturesInstrumentProvider
        from nautilus_trader.adapters.binance.http.client import BinanceHttpClient

        http = BinanceHttpClient(clock=self.clock, api_key="k", api_secret="s", base_url="http://127.0.0.1:9")
        provider = BinanceFuturesInstrumentProvider(http, self.clock, BinanceAccountType.USDT_FUTURES)
        for inst in self.instruments:
            provider.add(inst)
        config = BinanceDataClientConfig(account_type=BinanceAccountType.USDT_FUTURES)
        return BinanceFuturesDataClient(
            loop=self.loop, client=http, msgbus=self.msgbus, cache=self.cache, clock=self.clock,
            instrument_provider=provider, base_url_ws="ws://127.0.0.1:9", config=config,
            account_type=BinanceAccountType.USDT_FUTURES, name=None,
        )  # fmt: skip

    # --- contenders ----------------------------------------------------------------------------
    def ours_handler(self) -> Callable[[bytes], None]:
        from adapters.binance_futures.market_connections import BinanceStreamCodec

        decode = BinanceStreamCodec("bench").decode
        on_event = self.ours.on_market_event

        def handle(raw: bytes) -> None:
            decoded = decode(raw)
            if type(decoded) is tuple:
                on_event(decoded[0], decoded[1])

        return handle

    def floor_handler(self, kind: str) -> Callable[[bytes], None]:
        send = self.msgbus.send
        ids = {inst.raw_symbol.value: inst.id for inst in self.instruments}
        clock = self.clock
        # Price/Quantity from the wire strings through a string cache kept across passes, as ours keeps
        # its own (without it the floor re-parses what ours looks up, and is no floor).
        prices, sizes = self.floor_prices, self.floor_sizes

        def price_of(s: str) -> Price:
            p = prices.get(s)
            if p is None:
                p = prices[s] = Price.from_str(s)
            return p

        def size_of(s: str) -> Quantity:
            q = sizes.get(s)
            if q is None:
                q = sizes[s] = Quantity.from_str(s)
            return q

        if kind == "depth":
            dec = msgspec.json.Decoder(_wrapped(_Depth)).decode

            def depth(raw: bytes) -> None:
                d = dec(raw).data
                iid = ids[d.s]
                ts = d.E * 1_000_000
                now = clock.timestamp_ns()
                deltas = []
                for side, rows in ((OrderSide.BUY, d.b), (OrderSide.SELL, d.a)):
                    for p, q in rows:
                        size = size_of(q)
                        action = BookAction.DELETE if size.raw == 0 else BookAction.UPDATE
                        order = BookOrder(side, price_of(p), size, 0)
                        deltas.append(OrderBookDelta(iid, action, order, 0, d.u, ts, now))
                send("DataEngine.process", OrderBookDeltas(iid, deltas))

            return depth
        if kind == "quotes":
            dec = msgspec.json.Decoder(_wrapped(_Quote)).decode

            def quote(raw: bytes) -> None:
                d = dec(raw).data
                send(
                    "DataEngine.process",
                    QuoteTick(
                        ids[d.s], price_of(d.b), price_of(d.a), size_of(d.B),
                        size_of(d.A), d.T * 1_000_000, clock.timestamp_ns(),
                    ),
                )  # fmt: skip

            return quote
        if kind == "trades":
            dec = msgspec.json.Decoder(_wrapped(_Agg)).decode

            def trade(raw: bytes) -> None:
                d = dec(raw).data
                send(
                    "DataEngine.process",
                    TradeTick(
                        ids[d.s], price_of(d.p), size_of(d.q),
                        AggressorSide.SELLER if d.m else AggressorSide.BUYER, TradeId(str(d.a)),
                        d.T * 1_000_000, clock.timestamp_ns(),
                    ),
                )  # fmt: skip

            return trade
        if kind == "mark":
            from nautilus_trader.model.data import FundingRateUpdate, IndexPriceUpdate, MarkPriceUpdate

            dec = msgspec.json.Decoder(_wrapped(_Mark)).decode

            def mark(raw: bytes) -> None:
                d = dec(raw).data
                iid = ids[d.s]
                ts = d.E * 1_000_000
                now = clock.timestamp_ns()
                send("DataEngine.process", MarkPriceUpdate(iid, Price(float(d.p), 1), ts, now))
                send("DataEngine.process", IndexPriceUpdate(iid, Price(float(d.i), 1), ts, now))
                send(
                    "DataEngine.process",
                    FundingRateUpdate(iid, Decimal(d.r), ts, now, next_funding_ns=d.T * 1_000_000),
                )

            return mark
        from adapters.binance_futures.types import BinanceBar

        dec = msgspec.json.Decoder(_wrapped(_Kline)).decode
        bar_types = {
            inst.raw_symbol.value: BarType.from_str(f"{inst.id}-1-MINUTE-LAST-EXTERNAL")
            for inst in self.instruments
        }

        def kline(raw: bytes) -> None:
            d = dec(raw).data
            k = d.k
            if not k.x:
                return
            # The object both adapters publish: a BinanceBar (a Bar with Binance's kline extras).
            send(
                "DataEngine.process",
                BinanceBar(
                    bar_type=bar_types[d.s], open=price_of(k.o), high=price_of(k.h), low=price_of(k.l),
                    close=price_of(k.c), volume=size_of(k.v), quote_volume=Decimal(k.q), count=k.n,
                    taker_buy_base_volume=Decimal(k.V), taker_buy_quote_volume=Decimal(k.Q),
                    ts_event=(k.T + 1) * 1_000_000, ts_init=clock.timestamp_ns(),
                ),
            )  # fmt: skip

        return kline

    def run_once(self, kind: str, name: str, frames: list[bytes]) -> tuple[float, int]:
        if name == "ours":
            if kind == "depth":
                self._ours_sync_books(self.ours)
            handle = self.ours_handler()
        elif name == "built-in":
            assert self.builtin is not None
            handle = self.builtin._handle_ws_message
        else:
            handle = self.floor_handler(kind)
        self.emitted = 0
        gc.collect()
        # CPU time of this thread: on a shared machine wall time also counts the time the process
        # waited for a core, which lands on whichever contender was running (the work is all on
        # this thread; the sink and the clock included).
        start = time.thread_time_ns()
        for raw in frames:
            handle(raw)
        elapsed = time.thread_time_ns() - start
        return elapsed / 1000 / len(frames), self.emitted

    def close(self) -> None:
        self.loop.close()


def _frames_for(bench: Bench, kind: str, n: int) -> list[bytes]:
    # Depth frames continue the chains from where the books were synchronised.
    saved = {s: c.uid for s, c in bench.chains.items()}
    frames = make_frames(kind, n, bench.n, bench.chains)
    for s, c in bench.chains.items():
        c.uid = saved[s]
    return frames


def run(n_frames: int = 4000, passes: int = 9, profile: bool = False) -> list[Section]:
    bench = Bench(1)
    names = ["ours", "built-in", "floor"]
    results: dict[str, dict[str, list[float]]] = {}
    ratios: dict[str, dict[str, list[float]]] = {}
    emitted: dict[str, dict[str, int]] = {}
    try:
        for kind in KINDS:
            frames = _frames_for(bench, kind, n_frames)
            emitted[kind] = {name: bench.run_once(kind, name, frames)[1] for name in names}  # warm-up
            times: dict[str, list[float]] = {n: [] for n in names}
            rb: list[float] = []
            rf: list[float] = []
            for p in range(passes):
                order = names[p % 3 :] + names[: p % 3]
                this = {name: bench.run_once(kind, name, frames)[0] for name in order}
                for name in names:
                    times[name].append(this[name])
                rb.append(this["ours"] / this["built-in"])
                rf.append(this["ours"] / this["floor"])
            results[kind] = times
            ratios[kind] = {"built-in": rb, "floor": rf}
        if profile:
            write_profile(bench, n_frames)
    finally:
        bench.close()
    section = Section(
        title="Binance market frames per kind: frame -> Nautilus objects (µs per frame)",
        headers=[
            "kind",
            "ours",
            "built-in",
            "floor",
            "ours ÷ built-in",
            "ours ÷ floor",
            "objects ours/built-in/floor",
        ],
    )
    data: dict[str, dict[str, float]] = {}
    for kind in KINDS:
        t = results[kind]
        b, f = median(ratios[kind]["built-in"]), median(ratios[kind]["floor"])
        data[kind] = {"vs_builtin": b, "vs_floor": f, **{n: median(t[n]) for n in names}}
        e = emitted[kind]
        section.rows.append(
            [
                kind,
                f"{median(t['ours']):.2f}",
                f"{median(t['built-in']):.2f}",
                f"{median(t['floor']):.2f}",
                f"{b:.2f}x",
                f"{f:.2f}x",
                f"{e['ours']}/{e['built-in']}/{e['floor']}",
            ]
        )
    section.notes = [
        f"{n_frames} frames per kind and pass, one instrument; {passes} interleaved passes; ratios are "
        "medians of per-pass ratios.",
        "mark: ours publishes MarkPriceUpdate + IndexPriceUpdate + FundingRateUpdate (subscribed to all "
        "three); the built-in a MarkPriceUpdate and its own BinanceFuturesMarkPriceUpdate (CustomData); "
        "the floor the same three objects as ours (mark and index rounded through float: cheaper than any "
        "exact rounding).",
        "floor: Price/Quantity through a string cache kept across passes (as ours); kline closed: a "
        "BinanceBar, the object both adapters publish.",
        "kline open: both adapters drop a kline still open (ours: bars_closed_only); the floor decodes "
        "and drops it.",
        f"profile of ours: [{PROFILE_PATH.name}]({PROFILE_PATH.name}).",
    ]
    section.data = data
    return [section, capacity(max(1000, n_frames // 2), 3 if passes < 9 else 5)]


def capacity(n_frames: int, passes: int) -> Section:
    section = Section(
        title="Adapter-only capacity, Binance market data: frames/s through our dispatch into a sink",
        headers=["kind", "1 instrument", "10 instruments", "100 instruments"],
    )
    table: dict[str, dict[int, float]] = {k: {} for k in KINDS}
    for n in (1, 10, 100):
        bench = Bench(n, with_builtin=False)
        try:
            for kind in KINDS:
                frames = _frames_for(bench, kind, n_frames)
                bench.run_once(kind, "ours", frames)
                us = median([bench.run_once(kind, "ours", frames)[0] for _ in range(passes)])
                table[kind][n] = 1e6 / us
        finally:
            bench.close()
    for kind in KINDS:
        section.rows.append([kind, *[f"{table[kind][n]:,.0f}" for n in (1, 10, 100)]])
    section.notes = [
        f"{n_frames} frames per kind, spread round-robin over the subscribed instruments (each with its "
        f"own synchronised book, quote, trade, mark and 1-minute bar subscriptions); median of {passes} "
        "passes; one core, the engine replaced by a counting sink.",
    ]
    section.data = table
    return section


def write_profile(bench: Bench, n_frames: int) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0001)
    for kind in KINDS:
        frames = _frames_for(bench, kind, n_frames)
        if kind == "depth":
            bench._ours_sync_books(bench.ours)
        handle = bench.ours_handler()
        profiler.start()
        for _ in range(3):
            if kind == "depth":
                profiler.stop()
                bench._ours_sync_books(bench.ours)
                profiler.start()
            for raw in frames:
                handle(raw)
        profiler.stop()
    header = (
        f"# Profile of our Binance market dispatch (codec.decode + on_market_event): {n_frames} frames x 3 "
        f"per kind ({', '.join(KINDS)}), DataEngine.process replaced by a sink.\n"
        "# Regenerate: python -m benchmarks.bench_market_frames --profile\n\n"
    )
    PROFILE_PATH.write_text(header + profiler.output_text(unicode=True, color=False, show_all=False))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=4000)
    parser.add_argument("--passes", type=int, default=9)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    for s in run(args.frames, args.passes, args.profile):
        print(s.console())


if __name__ == "__main__":
    main()
