"""BingX market-data subscriptions (``reqType`` sub/unsub by ``dataType``) and their frames.

Every frame is gzip-compressed JSON sent as a binary websocket message. Topics:

* ``<SYM>@trade``: ``data`` is an array of ``{q, p, T, m, s}`` (no trade id). The venue's quirk is
  reproduced: every ``duplicate_trade_every``-th trade frame is sent twice (0 turns it off).
* ``<SYM>@depth<N>[@<X>ms]`` (N 5/10/20/50/100, X 100/200/500/1000): a full snapshot of N levels
  on subscribe and after every book change; bids best first, asks far-to-best (descending), as
  the venue sends them.
* ``<SYM>@incrDepth``: ``action: "all"`` (the whole book) first, then ``action: "update"`` with
  the changed levels (qty ``0`` deletes); ``lastUpdateId`` rises by exactly 1 per push per symbol.
* ``<SYM>@kline_<interval>``: ``data`` is ``[{c, o, h, l, v, T}]`` with ``T`` the bar open time
  (no closed flag); pushed on every trade.
* ``<SYM>@bookTicker``, ``<SYM>@markPrice``, ``<SYM>@lastPrice``.

Limits: 200 topics per connection (``80403``); an unknown or malformed request gets ``80014``.

Fault: :meth:`MarketStreams.inject_gap` (``/sim/market/gap``) loses the next ``@incrDepth``
update(s) of a symbol: the venue's book and ``lastUpdateId`` still move, so the next update a
subscriber sees skips ids. Snapshots (``action: "all"``, ``@depthN``) are unaffected.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.sim.bingx import wire
from adapters.sim.faults import LiveConnection
from adapters.sim.market_feed import INTERVAL_MS, BookMirror, LiveKline, MarketFeed
from adapters.sim.model import BookDelta, MarkPriceEvent, PublicTrade, SymbolSpec

log = logging.getLogger(__name__)

MAX_TOPICS = 200
_DEPTH_RE = re.compile(r"^depth(?P<n>5|10|20|50|100)(?:@(?:100|200|500|1000)ms)?$")
_KLINE_RE = re.compile(r"^kline_(?P<i>\w+)$")
_SIMPLE = frozenset({"trade", "incrDepth", "bookTicker", "markPrice", "lastPrice"})


def parse_topic(data_type: str, specs: dict[str, SymbolSpec]) -> tuple[str, str] | None:
    """(symbol, kind) for a valid dataType, else None."""
    symbol, sep, kind = data_type.partition("@")
    if not sep or symbol not in specs:
        return None
    if kind in _SIMPLE or _DEPTH_RE.match(kind):
        return symbol, kind
    m = _KLINE_RE.match(kind)
    if m and m.group("i") in INTERVAL_MS:
        return symbol, kind
    return None


@dataclass(slots=True)
class MarketSocketInfo:
    topics: set[str] = field(default_factory=set)


class MarketStreams(MarketFeed):
    def __init__(self, specs: dict[str, SymbolSpec], *, duplicate_trade_every: int = 0) -> None:
        super().__init__(specs)
        self.duplicate_trade_every = duplicate_trade_every
        self.incr_ids: dict[str, int] = {}
        self._trade_frames: dict[str, int] = {}
        self._sockets: dict[LiveConnection, MarketSocketInfo] = {}
        self.counters: dict[str, int] = {"public_trades_duplicated": 0, "incr_depth_lost": 0}

    def inject_gap(self, symbol: str, count: int = 1) -> None:
        """The next ``count`` incrDepth updates of ``symbol`` never reach any subscriber."""
        if symbol not in self._specs:
            raise ValueError(f"unknown symbol {symbol!r}")
        self._gaps[symbol] = self._gaps.get(symbol, 0) + count

    # --- subscriptions -------------------------------------------------------------------------
    def attach(self, conn: LiveConnection) -> MarketSocketInfo:
        info = self._sockets.get(conn)
        if info is None:
            info = self._sockets[conn] = MarketSocketInfo()
        return info

    def check(self, conn: LiveConnection, data_type: str) -> int:
        """0 when ``subscribe`` would succeed, else the BingX error code (80014 invalid dataType,
        80403 more than 200 topics on the connection)."""
        if parse_topic(data_type, self._specs) is None:
            return 80014
        info = self.attach(conn)
        if data_type not in info.topics and len(info.topics) >= MAX_TOPICS:
            return 80403
        return 0

    def subscribe(self, conn: LiveConnection, data_type: str) -> int:
        """Subscribe and push the topic's first frame (depth snapshot); 0 or an error code."""
        code = self.check(conn, data_type)
        if code:
            return code
        topic = parse_topic(data_type, self._specs)
        assert topic is not None
        info = self.attach(conn)
        info.topics.add(data_type)
        self._subs.add(data_type, conn)
        symbol, kind = topic
        self._on_subscribed(conn, data_type, symbol, kind)
        return 0

    def unsubscribe(self, conn: LiveConnection, data_type: str) -> int:
        info = self._sockets.get(conn)
        if info is not None:
            info.topics.discard(data_type)
        self._subs.drop(data_type, conn)
        return 0

    def detach(self, conn: LiveConnection) -> None:
        info = self._sockets.pop(conn, None)
        if info is not None:
            self._subs.drop_all(info.topics, conn)

    def topics_of(self, conn: LiveConnection) -> list[str]:
        info = self._sockets.get(conn)
        return sorted(info.topics) if info else []

    def _on_subscribed(self, conn: LiveConnection, data_type: str, symbol: str, kind: str) -> None:
        """Immediate first push: the book snapshot for depth topics, the seeded bar for klines."""
        book = self.books.get(symbol)
        spec = self._specs.get(symbol)
        m = _DEPTH_RE.match(kind)
        if m and book is not None:
            conn.send(wire.gz(self._depth_frame(data_type, book, int(m.group("n")), spec)))
        elif kind == "incrDepth" and book is not None:
            bids, asks = book.top(10_000)
            conn.send(wire.gz(self._incr_frame(data_type, "all", book.time_ms, bids, asks, spec, symbol)))
        km = _KLINE_RE.match(kind)
        if km:
            self._seed_kline(symbol, km.group("i"))

    # --- publication ---------------------------------------------------------------------------
    def _publish(self, name: str, payload: dict[str, Any], times: int = 1) -> None:
        subs = self._subs.get(name)
        if not subs:
            return
        frame = wire.gz(payload)
        for conn in list(subs):
            for _ in range(times):
                conn.send(frame)

    def seed_book(self, symbol: str, bids: Any, asks: Any, last_update_id: int, time_ms: int) -> None:
        mirror = BookMirror(symbol, bids, asks, last_update_id)
        mirror.time_ms = time_ms
        self.books[symbol] = mirror
        self.incr_ids.setdefault(symbol, last_update_id)

    @staticmethod
    def _depth_frame(data_type: str, book: BookMirror, n: int, spec: SymbolSpec | None) -> dict[str, Any]:
        f = wire.Fmt(spec)
        bids, asks = book.top(n)
        return {
            "code": 0,
            "dataType": data_type,
            "ts": book.time_ms,
            "data": {"bids": wire.levels(bids, f), "asks": wire.levels(list(reversed(asks)), f)},
        }

    def _incr_frame(
        self,
        data_type: str,
        action: str,
        time_ms: int,
        bids: Any,
        asks: Any,
        spec: SymbolSpec | None,
        symbol: str,
    ) -> dict[str, Any]:
        f = wire.Fmt(spec)
        return {
            "code": 0,
            "dataType": data_type,
            "data": {
                "action": action,
                "lastUpdateId": self.incr_ids[symbol],
                "time": time_ms,
                "bids": wire.levels(bids, f),
                "asks": wire.levels(asks, f),
            },
        }

    def _names(self, symbol: str) -> list[str]:
        prefix = symbol + "@"
        return [n for n in self._subs if n.startswith(prefix)]

    def on_book_delta(self, d: BookDelta) -> None:
        book = self.books.get(d.symbol)
        if book is None:
            return
        prev_top = book.top(1)
        book.apply(d)
        self.incr_ids[d.symbol] = self.incr_ids.get(d.symbol, 0) + 1
        lose_incr = False
        pending = self._gaps.get(d.symbol, 0)
        if pending:
            lose_incr = True
            self.counters["incr_depth_lost"] += 1
            if pending > 1:
                self._gaps[d.symbol] = pending - 1
            else:
                del self._gaps[d.symbol]
        spec = self._specs.get(d.symbol)
        for name in self._names(d.symbol):
            kind = name.partition("@")[2]
            m = _DEPTH_RE.match(kind)
            if m:
                self._publish(name, self._depth_frame(name, book, int(m.group("n")), spec))
            elif kind == "incrDepth":
                if lose_incr:
                    continue  # the chain-break fault: this update never reaches the socket
                self._publish(
                    name, self._incr_frame(name, "update", d.time_ms, d.bids, d.asks, spec, d.symbol)
                )
            elif kind == "bookTicker":
                top = book.top(1)
                if top != prev_top:
                    self._publish(name, self._book_ticker(name, d, top, spec))

    def _book_ticker(self, name: str, d: BookDelta, top: Any, spec: SymbolSpec | None) -> dict[str, Any]:
        f = wire.Fmt(spec)
        bids, asks = top
        bid = bids[0] if bids else (Decimal(0), Decimal(0))
        ask = asks[0] if asks else (Decimal(0), Decimal(0))
        return {
            "code": 0,
            "dataType": name,
            "data": {
                "e": "bookTicker",
                "u": d.last_update_id,
                "E": d.time_ms,
                "T": d.time_ms,
                "s": d.symbol,
                "b": f.px(bid[0]),
                "B": f.qty(bid[1]),
                "a": f.px(ask[0]),
                "A": f.qty(ask[1]),
            },
        }

    def on_public_trade(self, t: PublicTrade) -> None:
        spec = self._specs.get(t.symbol)
        name = f"{t.symbol}@trade"
        if name in self._subs:
            n = self._trade_frames[t.symbol] = self._trade_frames.get(t.symbol, 0) + 1
            every = self.duplicate_trade_every
            times = 2 if every > 0 and n % every == 0 else 1
            if times == 2:
                self.counters["public_trades_duplicated"] += 1
            self._publish(name, {"code": 0, "dataType": name, "data": [wire.trade_item(t, spec)]}, times)
        last = f"{t.symbol}@lastPrice"
        if last in self._subs:
            payload = {"e": "lastPriceUpdate", "E": t.time_ms, "s": t.symbol, "c": wire.Fmt(spec).px(t.price)}
            self._publish(last, {"code": 0, "dataType": last, "data": payload})
        for (symbol, interval), k in list(self._klines.items()):
            if symbol != t.symbol:
                continue
            if t.time_ms >= k.open_time + k.interval_ms:
                open_time = t.time_ms - t.time_ms % k.interval_ms
                zero = Decimal(0)
                k = LiveKline(
                    open_time, k.interval_ms, t.price, t.price, t.price, t.price, zero, zero, 0, zero, zero
                )
                self._klines[(symbol, interval)] = k
            k.high = max(k.high, t.price)
            k.low = min(k.low, t.price)
            k.close = t.price
            k.volume += t.qty
            k.quote_volume += t.qty * t.price
            k.trades += 1
            stream = f"{symbol}@kline_{interval}"
            if stream in self._subs:
                item = wire.kline_item(k.as_kline(False), spec)
                self._publish(stream, {"code": 0, "dataType": stream, "s": symbol, "data": [item]})

    def on_mark_price(self, ev: MarkPriceEvent) -> None:
        self.marks[ev.symbol] = ev.mark_price
        name = f"{ev.symbol}@markPrice"
        if name in self._subs:
            payload = {
                "e": "markPriceUpdate",
                "E": ev.time_ms,
                "s": ev.symbol,
                "p": wire.Fmt(self._specs.get(ev.symbol)).px(ev.mark_price),
            }
            self._publish(name, {"code": 0, "dataType": name, "data": payload})
