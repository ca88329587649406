"""Market-data targets: frames through the real dispatcher (``StreamConnection.run_dispatcher``) into
the real data client (``on_market_event``), the order-book synchroniser and the published data.

Oracles, per case:

* the dispatcher task is still running afterwards (a decode error must not end it);
* every published quote / trade / bar / mark price / depth level is the strict reading of its wire
  fields, and no published price or size is non-positive;
* the order book: a snapshot and a chain of diffs ``D1, M, D3`` (``M`` the mutated diff). A strict
  reference book applies exactly what the venue said; when the client's book reports SYNCED at the
  end it must equal the reference, and when the reference cannot know the book (an unreadable level,
  a broken chain) the client's book must not report SYNCED.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.fuzz import mutate, strict
from tests.fuzz.base import (
    BOOK_STALE,
    FIXTURES,
    TASK_ENDED,
    WRONG_VALUE,
    Case,
    Finding,
    Target,
    location,
)
from tests.fuzz.targets.values import MISSING, classify, field

_LOG = logging.getLogger("tests.fuzz.market")
UNKNOWN = "unknown"


def _levels_truth(
    book: dict[str, dict[Decimal, Decimal]] | str, bids: Any, asks: Any, *, json_numbers: bool
) -> Any:
    """Apply one diff's levels strictly; UNKNOWN when any level is unreadable."""
    if book == UNKNOWN:
        return UNKNOWN
    assert isinstance(book, dict)
    new = {side: dict(levels) for side, levels in book.items()}
    for side, levels in (("bids", bids), ("asks", asks)):
        if levels is MISSING or levels is None:
            continue
        if not isinstance(levels, list):
            return UNKNOWN
        for lvl in levels:
            if not isinstance(lvl, list) or len(lvl) != 2:
                return UNKNOWN
            p = strict.decimal(lvl[0], json_numbers=json_numbers)
            q = strict.decimal(lvl[1], json_numbers=json_numbers)
            if not strict.price_ok(p) or q is None or q < 0 or strict.at_resolution(q) > strict.QUANTITY_MAX:
                return UNKNOWN
            assert p is not None
            p, q = strict.at_resolution(p), strict.at_resolution(q)
            if q == 0:
                new[side].pop(p, None)
            else:
                new[side][p] = q
    return new


def _fmt(book: dict[str, dict[Decimal, Decimal]]) -> str:
    return json.dumps({s: {str(p): str(q) for p, q in sorted(lv.items())} for s, lv in book.items()})[:300]


class _MarketBase(Target):
    """Shared wiring: one event loop, one data client and one dispatcher per executor process."""

    venue = ""
    symbol = ""
    framing = False

    def setup(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- per-executor state (created after the fork) ------------------------------------------------
    def _ensure(self) -> None:
        if self._loop is not None:
            return
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._build())

    async def _build(self) -> None:
        raise NotImplementedError

    async def _start_dispatcher(self) -> None:
        from adapters.core.net.stream_pool import StreamConnection
        from adapters.core.net.ws_connection import WsConfig

        self.conn = StreamConnection(self.client.pool, "fuzz-1", "ws://127.0.0.1:1/x", "", WsConfig())
        self.task = asyncio.get_running_loop().create_task(self.conn.run_dispatcher())
        await asyncio.sleep(0)

    async def _feed(self, frames: list[bytes | str]) -> list[Finding]:
        queue = self.conn.ws.queue
        for f in frames:
            queue.put_nowait(f)
        for _ in range(len(frames) + 3):
            await asyncio.sleep(0)
            if queue.empty():
                break
        await asyncio.sleep(0)
        if self.task.done():
            exc = self.task.exception() if not self.task.cancelled() else None
            where = location(exc.__traceback__, exc) if exc is not None else "returned"
            finding = Finding(TASK_ENDED, f"market dispatcher ended: {where}", repr(exc)[:300])
            await self._start_dispatcher()
            return [finding]
        return []

    def execute(self, case: Case) -> list[Finding]:
        self._ensure()
        assert self._loop is not None
        return self._loop.run_until_complete(self._execute(case))

    async def _execute(self, case: Case) -> list[Finding]:
        raise NotImplementedError

    # -- shared checks --------------------------------------------------------------------------------
    def _published_book(self, out: list[Any], start: int) -> dict[str, dict[Decimal, Decimal]]:
        """The book a NautilusTrader subscriber holds after the published deltas."""
        from nautilus_trader.model.data import OrderBookDeltas
        from nautilus_trader.model.enums import BookAction, OrderSide

        book: dict[str, dict[Decimal, Decimal]] = {"bids": {}, "asks": {}}
        for item in out[start:]:
            if not isinstance(item, OrderBookDeltas):
                continue
            for d in item.deltas:
                if d.action == BookAction.CLEAR:
                    book = {"bids": {}, "asks": {}}
                    continue
                side = "bids" if d.order.side == OrderSide.BUY else "asks"
                px = d.order.price.as_decimal()
                if d.action == BookAction.DELETE:
                    book[side].pop(px, None)
                else:
                    book[side][px] = d.order.size.as_decimal()
        return book

    def _level_values(self, out: list[Any], start: int) -> list[Finding]:
        from nautilus_trader.model.data import OrderBookDeltas, OrderBookDepth10
        from nautilus_trader.model.enums import BookAction

        found: list[Finding] = []
        for item in out[start:]:
            if isinstance(item, OrderBookDeltas):
                for d in item.deltas:
                    if d.action in (BookAction.ADD, BookAction.UPDATE) and (
                        d.order.price.as_decimal() <= 0 or d.order.size.as_decimal() <= 0
                    ):
                        found.append(
                            Finding(
                                WRONG_VALUE,
                                f"{self.venue}: book level with a non-positive price/size",
                                repr(d)[:200],
                            )
                        )
            elif isinstance(item, OrderBookDepth10):
                for o in [*item.bids, *item.asks]:
                    if o.size.as_decimal() > 0 and o.price.as_decimal() <= 0:
                        found.append(
                            Finding(
                                WRONG_VALUE,
                                f"{self.venue}: depth10 level with a non-positive price",
                                repr(o)[:200],
                            )
                        )
        return found


def _check_value(
    found: list[Finding],
    label: str,
    emitted: Decimal,
    raw: Any,
    *,
    json_numbers: bool,
    limit: Decimal,
    rounded_to: int | None = None,
    positive: bool = True,
) -> None:
    cls = classify(raw, json_numbers=json_numbers, limit=limit, positive=positive)
    d = strict.decimal(raw, json_numbers=json_numbers) if cls == "valid" and not positive else None
    if d is not None and d < 0:
        cls = "negative"
    if cls != "valid":
        found.append(
            Finding(
                WRONG_VALUE, f"{label} believed from a {cls} wire value", f"wire {raw!r:.60} -> {emitted}"
            )
        )
        return
    wire = strict.decimal(raw, json_numbers=json_numbers)
    assert wire is not None
    if rounded_to is not None:
        ok = abs(emitted - wire) <= Decimal(1).scaleb(-rounded_to) / 2
    else:
        ok = strict.same(emitted, wire)
    if not ok:
        found.append(Finding(WRONG_VALUE, f"{label} differs from the wire", f"wire {raw!r:.60} -> {emitted}"))


# ==================================================================================================
# Binance
# ==================================================================================================

_BINANCE_EVENT_SEEDS = (
    "agg_trade_buyer_maker",
    "agg_trade_taker_buy",
    "book_ticker",
    "book_ticker_wrapped_pepe",
    "depth10_partial",
    "depth_diff",
    "depth_diff_empty",
    "force_order_unknown",
    "kline_closed",
    "kline_open",
    "mark_price",
    "mark_price_delivery_nulls",
    "subscribe_error",
    "subscribe_ok",
    "trade",
)


class BinanceMarketTarget(_MarketBase):
    name = "binance-market"
    description = (
        "Binance market frames: codec -> dispatcher -> data client -> book sync / NautilusTrader data"
    )
    weight = 1.2
    venue = "binance"
    symbol = "BTCUSDT"

    def setup(self) -> None:
        super().setup()
        folder = FIXTURES / "binance_futures" / "market"
        self.seeds: dict[str, Any] = {}
        for name in _BINANCE_EVENT_SEEDS:
            p = folder / f"{name}.json"
            if p.exists():
                self.seeds[name] = json.loads(p.read_text())
        # The book scenario: snapshot, D1 (the fixture), the mutated D2, D3.
        self.snapshot_raw = (folder / "rest_depth.json").read_bytes()
        d1 = self.seeds["depth_diff"]
        d2 = json.loads(json.dumps(d1))
        d2["data"].update(
            {
                "U": 9000000141,
                "u": 9000000160,
                "pu": 9000000140,
                "E": 1717000003201,
                "T": 1717000003200,
                "b": [["64250.00", "0.000"], ["64249.90", "3.000"]],
                "a": [["64250.30", "1.500"]],
            }
        )
        d3 = json.loads(json.dumps(d1))
        d3["data"].update(
            {
                "U": 9000000161,
                "u": 9000000180,
                "pu": 9000000160,
                "E": 1717000003301,
                "T": 1717000003300,
                "b": [["64250.10", "0.000"]],
                "a": [["64251.50", "6.000"]],
            }
        )
        self.seeds["book_d2"] = d2
        self.d1, self.d3 = d1, d3

    def random_case(self, rng: random.Random) -> Case:
        seed = "book_d2" if rng.random() < 0.35 else rng.choice(sorted(self.seeds))
        doc = self.seeds[seed]
        case: Case = {"seed": seed, "ops": mutate.random_ops(rng, doc)}
        if rng.random() < 0.05:
            case["ops"].append(
                {"op": "set", "path": ["stream"], "value": {"$bytes": "ff fe 40 64 65 70 74 68"}}
            )
        return case

    def hypothesis_case(self) -> Any:
        from hypothesis import strategies as st

        return st.sampled_from(sorted(self.seeds)).flatmap(
            lambda s: mutate.hypothesis_ops(self.seeds[s]).map(lambda ops: {"seed": s, "ops": ops})
        )

    def frame_bytes(self, case: Case) -> bytes:
        return mutate.build(self.seeds[case["seed"]], case["ops"])

    async def _build(self) -> None:
        from nautilus_trader.cache.cache import Cache
        from nautilus_trader.common.component import LiveClock, MessageBus
        from nautilus_trader.config import InstrumentProviderConfig
        from nautilus_trader.model.identifiers import TraderId

        from adapters.binance_futures.config import BinanceFuturesDataClientConfig
        from adapters.binance_futures.data import OWN_FUNDING, OWN_INDEX, OWN_MARK
        from adapters.binance_futures.factories import BINANCE, BinanceFuturesLiveDataClientFactory
        from adapters.binance_futures.parsing_market import bar_type_for
        from adapters.core.market.market_context import MarketContext

        clock = LiveClock()
        msgbus = MessageBus(TraderId("FUZZ-001"), clock)
        self.out: list[Any] = []
        msgbus.register("DataEngine.process", self.out.append)
        config = BinanceFuturesDataClientConfig(
            instrument_provider=InstrumentProviderConfig(load_all=False),
            base_url_http="http://127.0.0.1:1",
            base_url_ws="ws://127.0.0.1:1",
        )
        client = BinanceFuturesLiveDataClientFactory.create(
            asyncio.get_running_loop(), BINANCE, config, msgbus, Cache(), clock
        )
        self.client = client
        from nautilus_trader.model.identifiers import InstrumentId

        self.iid = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")
        self.pepe = InstrumentId.from_str("1000PEPEUSDT-PERP.BINANCE")
        client._contexts["BTCUSDT"] = MarketContext(self.iid, 2, 3)
        client._contexts["1000PEPEUSDT"] = MarketContext(self.pepe, 7, 0)
        for sym in ("BTCUSDT", "1000PEPEUSDT"):
            client._quote_symbols.add(sym)
            client._trade_symbols.add(sym)
            client._depth10_symbols.add(sym)
            client._mark_kinds[sym] = {OWN_MARK, OWN_INDEX, OWN_FUNDING}
        client._bar_types["btcusdt@kline_1m"] = bar_type_for(self.iid, "1m")
        client._request_book_snapshot = lambda book: None  # the harness feeds snapshots itself
        await self._start_dispatcher()

    async def _execute(self, case: Case) -> list[Finding]:
        from adapters.binance_futures.book import BinanceBookSync
        from adapters.binance_futures.data import BookState
        from adapters.binance_futures.schemas_market import decode_depth_snapshot

        client = self.client
        found: list[Finding] = []
        frame = self.frame_bytes(case)
        start = len(self.out)
        if case["seed"] == "book_d2":
            ctx = client._contexts["BTCUSDT"]
            book = BookState("BTCUSDT", BinanceBookSync(ctx, logger=_LOG))
            client.books["BTCUSDT"] = book
            client._publish_deltas(book.sync.on_snapshot(decode_depth_snapshot(self.snapshot_raw), 1))
            found += await self._feed([mutate.dumps(self.d1), frame, mutate.dumps(self.d3)])
            found += self._book_oracle(frame, book, start)
            client.books.pop("BTCUSDT", None)
        else:
            found += await self._feed([frame])
            found += self._values_oracle(frame, start)
        found += self._level_values(self.out, start)
        del self.out[:]
        return found

    def _book_oracle(self, frame: bytes, book: Any, start: int) -> list[Finding]:
        snap = json.loads(self.snapshot_raw)
        truth: Any = {
            "bids": {Decimal(p): Decimal(q) for p, q in snap["bids"]},
            "asks": {Decimal(p): Decimal(q) for p, q in snap["asks"]},
        }
        truth = _levels_truth(truth, self.d1["data"]["b"], self.d1["data"]["a"], json_numbers=False)
        last = self.d1["data"]["u"]
        doc = strict.loads(frame)
        data = field(doc, "data") if doc is not strict.INVALID else MISSING
        ok_frame = (
            isinstance(data, dict)
            and data.get("e") == "depthUpdate"
            and data.get("s") == "BTCUSDT"
            and isinstance(field(doc, "stream"), str)
            and field(doc, "stream").startswith("btcusdt@depth@")
            and strict.integer(data.get("pu")) == last
            and strict.integer(data.get("u")) is not None
            and strict.integer(data.get("U")) is not None
            and all(classify(data.get(k, 1), positive=False) in ("valid", "json-number") for k in ("E",))
        )
        if ok_frame:
            assert isinstance(data, dict)
            truth = _levels_truth(truth, data.get("b", MISSING), data.get("a", MISSING), json_numbers=False)
            last = strict.integer(data.get("u"))
        else:
            truth = UNKNOWN
        if last != self.d3["data"]["pu"]:
            truth = UNKNOWN
        if truth != UNKNOWN:
            truth = _levels_truth(truth, self.d3["data"]["b"], self.d3["data"]["a"], json_numbers=False)
        if not book.sync.is_synced:
            return []
        published = self._published_book(self.out, start)
        if truth == UNKNOWN:
            reason = "an unreadable or unchained diff" if doc is not strict.INVALID else "an invalid frame"
            return [
                Finding(BOOK_STALE, f"binance: book SYNCED after {reason}", f"published {_fmt(published)}")
            ]
        if published != truth:
            deleted = [(s, p) for s in ("bids", "asks") for p in published[s] if p not in truth[s]]
            what = "a level the venue deleted" if deleted else "levels that differ from the venue's"
            return [
                Finding(
                    BOOK_STALE,
                    f"binance: book SYNCED with {what}",
                    f"published {_fmt(published)} venue {_fmt(truth)}",
                )
            ]
        return []

    def _values_oracle(self, frame: bytes, start: int) -> list[Finding]:
        from nautilus_trader.model.data import Bar, MarkPriceUpdate, QuoteTick, TradeTick

        found: list[Finding] = []
        doc = strict.loads(frame)
        if doc is strict.INVALID:
            return found
        data = doc.get("data", doc) if isinstance(doc, dict) else doc
        for item in self.out[start:]:
            if isinstance(item, QuoteTick):
                # A quote's size may be zero (an empty side); its prices must be positive.
                for attr, key, lim in (
                    ("bid_price", "b", strict.PRICE_MAX),
                    ("ask_price", "a", strict.PRICE_MAX),
                    ("bid_size", "B", strict.QUANTITY_MAX),
                    ("ask_size", "A", strict.QUANTITY_MAX),
                ):
                    _check_value(
                        found,
                        f"binance: quote {attr}",
                        getattr(item, attr).as_decimal(),
                        field(data, key),
                        json_numbers=False,
                        limit=lim,
                        positive=attr.endswith("price"),
                    )
            elif isinstance(item, TradeTick):
                _check_value(
                    found,
                    "binance: trade price",
                    item.price.as_decimal(),
                    field(data, "p"),
                    json_numbers=False,
                    limit=strict.PRICE_MAX,
                )
                _check_value(
                    found,
                    "binance: trade size",
                    item.size.as_decimal(),
                    field(data, "q"),
                    json_numbers=False,
                    limit=strict.QUANTITY_MAX,
                )
                raw_id = field(data, "a") if field(data, "e") == "aggTrade" else field(data, "t")
                tid = strict.integer(raw_id)
                if tid is None or tid < 0 or item.trade_id.value != str(tid):
                    found.append(
                        Finding(
                            WRONG_VALUE,
                            f"binance: trade id believed from a {classify(raw_id, json_numbers=True)} value",
                            f"wire {raw_id!r:.60} -> {item.trade_id}",
                        )
                    )
                t = strict.integer(field(data, "T"))
                if t is not None and t > 0 and item.ts_event != t * 1_000_000:
                    found.append(
                        Finding(
                            WRONG_VALUE,
                            "binance: trade time differs from the wire",
                            f"T={t} -> {item.ts_event}",
                        )
                    )
            elif isinstance(item, Bar):
                k = field(data, "k")
                for attr, key in (("open", "o"), ("high", "h"), ("low", "l"), ("close", "c")):
                    _check_value(
                        found,
                        f"binance: bar {attr}",
                        getattr(item, attr).as_decimal(),
                        field(k, key),
                        json_numbers=False,
                        limit=strict.PRICE_MAX,
                    )
                vol = field(k, "v")
                if classify(vol, positive=False) != "valid":
                    found.append(
                        Finding(
                            WRONG_VALUE,
                            f"binance: bar volume believed from a {classify(vol)} wire value",
                            repr(vol)[:60],
                        )
                    )
            elif isinstance(item, MarkPriceUpdate):
                _check_value(
                    found,
                    "binance: mark price",
                    item.value.as_decimal(),
                    field(data, "p"),
                    json_numbers=False,
                    limit=strict.PRICE_MAX,
                    rounded_to=2 if field(data, "s") == "BTCUSDT" else 7,
                )
        return found


# ==================================================================================================
# BingX
# ==================================================================================================

_BINGX_SEEDS = json.loads((Path(__file__).resolve().parents[1] / "seeds" / "bingx_market.json").read_text())


class BingxMarketTarget(_MarketBase):
    name = "bingx-market"
    description = "BingX market frames (gzip): codec -> dispatcher -> data client -> incrDepth book"
    weight = 1.0
    venue = "bingx"
    symbol = "BTC-USDT"

    def setup(self) -> None:
        super().setup()
        self.seeds = dict(_BINGX_SEEDS)
        self.seeds["ping"] = "Ping"
        incr = self.seeds["incr_depth"]
        self.all = json.loads(json.dumps(incr))
        self.all["data"].update(
            {
                "action": "all",
                "lastUpdateId": 100,
                "bids": [["121825.7", "7.7622"], ["121825.6", "0.0100"]],
                "asks": [["121827.3", "0.0025"], ["121827.1", "0.0010"]],
            }
        )
        self.u101 = json.loads(json.dumps(incr))
        self.u101["data"].update({"lastUpdateId": 101, "bids": [["121825.7", "5.0000"]], "asks": []})
        self.u103 = json.loads(json.dumps(incr))
        self.u103["data"].update(
            {"lastUpdateId": 103, "bids": [["121825.7", "0"]], "asks": [["121827.1", "0.2000"]]}
        )

    def random_case(self, rng: random.Random) -> Case:
        seed = "incr_depth" if rng.random() < 0.35 else rng.choice(sorted(self.seeds))
        if seed == "ping":
            return {"seed": seed, "ops": [mutate.random_framing_op(rng)] if rng.random() < 0.5 else []}
        case: Case = {"seed": seed, "ops": mutate.random_ops(rng, self.seeds[seed], framing=True)}
        if rng.random() < 0.05:
            case["ops"].append(
                {"op": "set", "path": ["dataType"], "value": {"$bytes": "42 54 43 ff fe 40 74 72 61 64 65"}}
            )
        return case

    def hypothesis_case(self) -> Any:
        from hypothesis import strategies as st

        seeds = sorted(k for k in self.seeds if k != "ping")
        return st.sampled_from(seeds).flatmap(
            lambda s: mutate.hypothesis_ops(self.seeds[s], framing=True).map(
                lambda ops: {"seed": s, "ops": ops}
            )
        )

    def frame_bytes(self, case: Case) -> bytes:
        if case["seed"] == "ping":
            return mutate.apply_framing(b"Ping", case["ops"])
        return mutate.build(self.seeds[case["seed"]], case["ops"], framing=True)

    async def _build(self) -> None:
        from nautilus_trader.cache.cache import Cache
        from nautilus_trader.common.component import LiveClock, MessageBus
        from nautilus_trader.config import InstrumentProviderConfig
        from nautilus_trader.model.identifiers import InstrumentId, TraderId

        from adapters.bingx.config import BingxDataClientConfig
        from adapters.bingx.factories import BingxLiveDataClientFactory
        from adapters.bingx.parsing_market import KLINE_INTERVALS, BarTracker, bar_type_for
        from adapters.core.base.dedup import FifoDedup
        from adapters.core.market.market_context import MarketContext

        clock = LiveClock()
        msgbus = MessageBus(TraderId("FUZZ-001"), clock)
        self.out: list[Any] = []
        msgbus.register("DataEngine.process", self.out.append)
        config = BingxDataClientConfig(
            instrument_provider=InstrumentProviderConfig(load_all=False),
            base_url_http="http://127.0.0.1:1",
            base_url_ws="ws://127.0.0.1:1",
        )
        client = BingxLiveDataClientFactory.create(
            asyncio.get_running_loop(), "BINGX", config, msgbus, Cache(), clock
        )
        self.client = client
        self.iid = InstrumentId.from_str("BTC-USDT-PERP.BINGX")
        ctx = MarketContext(self.iid, 1, 4)
        client._contexts["BTC-USDT"] = ctx
        client._quote_symbols.add("BTC-USDT")
        client._depth10_symbols.add("BTC-USDT")
        client._mark_symbols.add("BTC-USDT")
        client._trade_seen["BTC-USDT"] = FifoDedup(1000)
        client._bars["BTC-USDT@kline_1m"] = BarTracker(
            bar_type_for(self.iid, "1m"), KLINE_INTERVALS["1m"], ctx
        )
        client._start_resync = lambda book, refresh_first: None  # the harness feeds snapshots itself
        await self._start_dispatcher()

    async def _execute(self, case: Case) -> list[Finding]:
        import gzip

        from adapters.bingx.book import BingxBookSync
        from adapters.bingx.data import BookState
        from adapters.bingx.parsing_market import incr_depth_topic

        client = self.client
        found: list[Finding] = []
        frame = self.frame_bytes(case)
        start = len(self.out)
        gz = lambda doc: gzip.compress(mutate.dumps(doc), mtime=0)  # noqa: E731
        if case["seed"] == "incr_depth":
            ctx = client._contexts["BTC-USDT"]
            book = BookState("BTC-USDT", incr_depth_topic("BTC-USDT"), BingxBookSync(ctx, logger=_LOG))
            client.books["BTC-USDT"] = book
            found += await self._feed([gz(self.all), gz(self.u101), frame, gz(self.u103)])
            found += self._book_oracle(frame, book, start)
            client.books.pop("BTC-USDT", None)
        else:
            found += await self._feed([frame])
            found += self._values_oracle(frame, start)
        found += self._level_values(self.out, start)
        del self.out[:]
        return found

    def _payload(self, frame: bytes) -> Any:
        from tests.fuzz.targets.user_streams import _strict_gunzip

        payload = _strict_gunzip(frame)
        return strict.loads(payload) if payload is not None else strict.INVALID

    def _book_oracle(self, frame: bytes, book: Any, start: int) -> list[Finding]:
        truth: Any = {"bids": {}, "asks": {}}
        truth = _levels_truth(truth, self.all["data"]["bids"], self.all["data"]["asks"], json_numbers=True)
        truth = _levels_truth(truth, self.u101["data"]["bids"], self.u101["data"]["asks"], json_numbers=True)
        doc = self._payload(frame)
        data = field(doc, "data") if doc is not strict.INVALID else MISSING
        if (
            isinstance(data, dict)
            and field(doc, "dataType") == "BTC-USDT@incrDepth"
            and data.get("action") == "update"
            and strict.integer(data.get("lastUpdateId")) == 102
        ):
            truth = _levels_truth(
                truth, data.get("bids", MISSING), data.get("asks", MISSING), json_numbers=True
            )
            truth = _levels_truth(
                truth, self.u103["data"]["bids"], self.u103["data"]["asks"], json_numbers=True
            )
        else:
            truth = UNKNOWN
        if not book.sync.is_synced:
            return []
        published = self._published_book(self.out, start)
        if truth == UNKNOWN:
            return [
                Finding(
                    BOOK_STALE,
                    "bingx: book SYNCED after an unreadable or unchained update",
                    f"published {_fmt(published)}",
                )
            ]
        if published != truth:
            deleted = [(s, p) for s in ("bids", "asks") for p in published[s] if p not in truth[s]]
            what = "a level the venue deleted" if deleted else "levels that differ from the venue's"
            return [
                Finding(
                    BOOK_STALE,
                    f"bingx: book SYNCED with {what}",
                    f"published {_fmt(published)} venue {_fmt(truth)}",
                )
            ]
        return []

    def _values_oracle(self, frame: bytes, start: int) -> list[Finding]:
        from nautilus_trader.model.data import MarkPriceUpdate, QuoteTick, TradeTick

        found: list[Finding] = []
        doc = self._payload(frame)
        if doc is strict.INVALID or not isinstance(doc, dict):
            return found
        data = doc.get("data")
        trades = [t for t in data if isinstance(t, dict)] if isinstance(data, list) else []
        ti = 0
        for item in self.out[start:]:
            if isinstance(item, QuoteTick):
                # A quote's size may be zero (an empty side); its prices must be positive.
                for attr, key, lim in (
                    ("bid_price", "b", strict.PRICE_MAX),
                    ("ask_price", "a", strict.PRICE_MAX),
                    ("bid_size", "B", strict.QUANTITY_MAX),
                    ("ask_size", "A", strict.QUANTITY_MAX),
                ):
                    _check_value(
                        found,
                        f"bingx: quote {attr}",
                        getattr(item, attr).as_decimal(),
                        field(data, key),
                        json_numbers=True,
                        limit=lim,
                        positive=attr.endswith("price"),
                    )
            elif isinstance(item, TradeTick):
                # Trades are published in wire order, zero sizes and duplicates skipped: match by price+size.
                match = None
                while ti < len(trades):
                    t = trades[ti]
                    ti += 1
                    p = strict.decimal(t.get("p"), json_numbers=True)
                    q = strict.decimal(t.get("q"), json_numbers=True)
                    if (
                        p is not None
                        and q is not None
                        and strict.same(item.price.as_decimal(), p)
                        and strict.same(item.size.as_decimal(), q)
                    ):
                        match = t
                        break
                if match is None:
                    found.append(
                        Finding(
                            WRONG_VALUE,
                            "bingx: trade published that no strictly readable wire trade says",
                            f"{item.price} x {item.size}",
                        )
                    )
            elif isinstance(item, MarkPriceUpdate):
                _check_value(
                    found,
                    "bingx: mark price",
                    item.value.as_decimal(),
                    field(data, "p"),
                    json_numbers=True,
                    limit=strict.PRICE_MAX,
                    rounded_to=1,
                )
        return found
