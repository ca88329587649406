"""Binance market streams: subscriptions and rendering of the engine's public events.

Streams (lowercase symbol): ``<sym>@bookTicker``, ``<sym>@aggTrade``, ``<sym>@depth`` and
``<sym>@depth@{0,100,250,500}ms`` (diffs — every engine ``BookDelta`` is forwarded unmerged, so
the ``U``/``u``/``pu`` chain is exactly the engine's and continues the REST snapshot's
``lastUpdateId``), ``<sym>@depth{5,10,20}[@...ms]`` (partial book), ``<sym>@kline_<interval>``,
``<sym>@markPrice[@1s]``, ``<sym>@trade`` (raw trades: one event per public trade). The router
keeps a mirror of each book (seeded from the engine before it subscribes, then maintained from
deltas) so listeners never call back into the engine; the mirror, the live kline and the interval
table are shared with BingX (``adapters.sim.market_feed``).

A socket carries at most ``max_streams_per_connection`` streams (Binance: 1024); a SUBSCRIBE
beyond it is refused (:class:`TooManyStreams`). A *silent* subscription (a stream asked on a route
that does not serve it, see :mod:`adapters.sim.binance.routes`) counts towards that limit and is
listed, but never receives a frame. ``inject_gap`` (the ``/sim/market/gap`` fault)
loses a symbol's next depth diff(s) to every diff subscriber, breaking the ``pu``/``u`` chain.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec

from adapters.sim.binance import wire
from adapters.sim.faults import LiveConnection
from adapters.sim.market_feed import INTERVAL_MS, BookMirror, LiveKline, MarketFeed
from adapters.sim.model import BookDelta, MarkPriceEvent, PublicTrade, SymbolSpec

log = logging.getLogger(__name__)

_DEPTH_RE = re.compile(r"^depth(?P<n>5|10|20)?(?:@(?:0|100|250|500)ms)?$")
_KLINE_RE = re.compile(r"^kline_(?P<i>\w+)$")
_MARK_RE = re.compile(r"^markPrice(?:@1s)?$")


def is_market_stream(name: str) -> bool:
    return "@" in name or name.startswith("!")


MAX_STREAMS_PER_CONNECTION = 1024


class TooManyStreams(Exception):
    """A subscription would exceed the per-connection stream limit."""


@dataclass(slots=True)
class MarketSocketInfo:
    combined: bool
    streams: set[str]
    silent: set[str] = field(default_factory=set)  # listed, never delivered (wrong route)


class MarketStreams(MarketFeed):
    def __init__(self, specs: dict[str, SymbolSpec]) -> None:
        super().__init__(specs)
        self._by_lower = {s.lower(): s for s in specs}
        self._sockets: dict[LiveConnection, MarketSocketInfo] = {}
        self.max_streams_per_connection = MAX_STREAMS_PER_CONNECTION
        self.diffs_lost = 0
        self.silent_subscriptions = 0  # subscriptions accepted on a route that does not serve them

    # --- limits and faults ---------------------------------------------------------------------
    def check_capacity(self, conn: LiveConnection | None, names: list[str]) -> None:
        """Raise :class:`TooManyStreams` if ``names`` would not fit on ``conn``."""
        info = self._sockets.get(conn) if conn is not None else None
        current = info.streams if info is not None else set()
        total = len(current | {n for n in names if is_market_stream(n)})
        if total > self.max_streams_per_connection:
            raise TooManyStreams(
                f"Invalid request: too many streams on one connection ({total} > "
                f"{self.max_streams_per_connection})"
            )

    def inject_gap(self, symbol: str, count: int = 1) -> None:
        upper = self._by_lower.get(symbol.lower())
        if upper is None:
            raise ValueError(f"unknown symbol {symbol!r}")
        self._gaps[upper] = self._gaps.get(upper, 0) + count

    # --- subscriptions -------------------------------------------------------------------------
    def attach(self, conn: LiveConnection, combined: bool) -> MarketSocketInfo:
        info = self._sockets.get(conn)
        if info is None:
            info = MarketSocketInfo(combined, set())
            self._sockets[conn] = info
        return info

    def subscribe(self, conn: LiveConnection, name: str, combined: bool, *, deliver: bool = True) -> None:
        """Add ``name`` to ``conn``; with ``deliver=False`` it is listed but never sent (silent)."""
        info = self.attach(conn, combined)
        if not deliver:
            if name not in info.streams:
                info.streams.add(name)
                info.silent.add(name)
                self.silent_subscriptions += 1
            return
        info.streams.add(name)
        self._subs.add(name, conn)
        sym, _, kind = name.partition("@")
        m = _KLINE_RE.match(kind)
        symbol = self._by_lower.get(sym)
        if m and symbol and m.group("i") in INTERVAL_MS:
            self._seed_kline(symbol, m.group("i"))

    def unsubscribe(self, conn: LiveConnection, name: str) -> None:
        info = self._sockets.get(conn)
        if info is not None:
            info.streams.discard(name)
            info.silent.discard(name)
        self._subs.drop(name, conn)

    def detach(self, conn: LiveConnection) -> None:
        info = self._sockets.pop(conn, None)
        if info is not None:
            self._subs.drop_all(info.streams, conn)

    def streams_of(self, conn: LiveConnection) -> list[str]:
        info = self._sockets.get(conn)
        return sorted(info.streams) if info else []

    # --- publication ---------------------------------------------------------------------------
    def _publish(self, name: str, payload: dict[str, Any]) -> None:
        subs = self._subs.get(name)
        if not subs:
            return
        bare: str | None = None
        wrapped: str | None = None
        for conn in list(subs):
            info = self._sockets.get(conn)
            if info is None:
                continue
            if info.combined:
                if wrapped is None:
                    wrapped = msgspec.json.encode({"stream": name, "data": payload}).decode()
                conn.send(wrapped)
            else:
                if bare is None:
                    bare = msgspec.json.encode(payload).decode()
                conn.send(bare)

    def _has(self, prefix: str) -> list[str]:
        return [name for name in self._subs if name.startswith(prefix)]

    def seed_book(
        self,
        symbol: str,
        bids: tuple[tuple[Decimal, Decimal], ...],
        asks: tuple[tuple[Decimal, Decimal], ...],
        last_update_id: int,
    ) -> None:
        self.books[symbol] = BookMirror(symbol, bids, asks, last_update_id)

    def on_book_delta(self, d: BookDelta) -> None:
        book = self.books.get(d.symbol)
        prev_top = None
        if book is not None:
            prev_top = book.top(1)
            book.apply(d)
        sym = d.symbol.lower()
        spec = self._specs.get(d.symbol)
        names = self._has(sym + "@depth")
        lose_diff = False
        pending_gaps = self._gaps.get(d.symbol, 0)
        if pending_gaps:
            lose_diff = True
            self.diffs_lost += 1
            if pending_gaps > 1:
                self._gaps[d.symbol] = pending_gaps - 1
            else:
                del self._gaps[d.symbol]
        if names:
            diff: dict[str, Any] | None = None
            for name in names:
                kind = name.partition("@")[2]
                m = _DEPTH_RE.match(kind)
                if m is None:
                    continue
                n = m.group("n")
                if n is None:
                    if lose_diff:
                        continue  # the chain-break fault: this diff never reaches the socket
                    if diff is None:
                        diff = wire.depth_update(d, spec)
                    self._publish(name, diff)
                elif book is not None:
                    bids, asks = book.top(int(n))
                    self._publish(
                        name,
                        wire.partial_depth(
                            d.symbol,
                            d.time_ms,
                            d.first_update_id,
                            d.last_update_id,
                            d.prev_update_id,
                            bids,
                            asks,
                            spec,
                        ),
                    )
        bt = sym + "@bookTicker"
        if book is not None and bt in self._subs:
            top = book.top(1)
            if top != prev_top:
                bids, asks = top
                self._publish(
                    bt,
                    wire.book_ticker(
                        d.symbol,
                        d.last_update_id,
                        d.time_ms,
                        bids[0] if bids else None,
                        asks[0] if asks else None,
                        spec,
                    ),
                )

    def on_public_trade(self, t: PublicTrade) -> None:
        sym = t.symbol.lower()
        spec = self._specs.get(t.symbol)
        name = sym + "@aggTrade"
        if name in self._subs:
            self._publish(name, wire.agg_trade(t, spec))
        raw = sym + "@trade"
        if raw in self._subs:
            self._publish(raw, _raw_trade(t, spec))
        for (symbol, interval), k in list(self._klines.items()):
            if symbol != t.symbol:
                continue
            stream = f"{sym}@kline_{interval}"
            if t.time_ms >= k.open_time + k.interval_ms:
                self._publish(
                    stream,
                    wire.kline_event(
                        t.symbol, interval, k.as_kline(True), k.first_id, k.last_id, t.time_ms, spec
                    ),
                )
                open_time = t.time_ms - t.time_ms % k.interval_ms
                k = LiveKline(
                    open_time,
                    k.interval_ms,
                    t.price,
                    t.price,
                    t.price,
                    t.price,
                    Decimal(0),
                    Decimal(0),
                    0,
                    Decimal(0),
                    Decimal(0),
                )
                self._klines[(symbol, interval)] = k
            k.high = max(k.high, t.price)
            k.low = min(k.low, t.price)
            k.close = t.price
            k.volume += t.qty
            k.quote_volume += t.qty * t.price
            k.trades += 1
            if not t.buyer_is_maker:
                k.taker_buy_volume += t.qty
                k.taker_buy_quote_volume += t.qty * t.price
            if k.first_id < 0:
                k.first_id = t.first_trade_id
            k.last_id = t.last_trade_id
            if stream in self._subs:
                self._publish(
                    stream,
                    wire.kline_event(
                        t.symbol, interval, k.as_kline(False), k.first_id, k.last_id, t.time_ms, spec
                    ),
                )

    def on_mark_price(self, ev: MarkPriceEvent) -> None:
        self.marks[ev.symbol] = ev.mark_price
        sym = ev.symbol.lower()
        names = [n for n in (sym + "@markPrice", sym + "@markPrice@1s") if n in self._subs]
        if names:
            payload = wire.mark_price_update(ev, self._specs.get(ev.symbol))
            for name in names:
                self._publish(name, payload)


def _raw_trade(t: PublicTrade, spec: SymbolSpec | None) -> dict[str, Any]:
    """``<sym>@trade``: the sim's public trades are single trades (first id == last id)."""
    f = wire.Fmt(spec)
    return {
        "e": "trade",
        "E": t.time_ms,
        "T": t.time_ms,
        "s": t.symbol,
        "t": t.last_trade_id,
        "p": f.px(t.price),
        "q": f.qty(t.qty),
        "X": "MARKET",
        "m": t.buyer_is_maker,
    }
