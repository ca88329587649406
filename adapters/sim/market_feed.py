"""Venue-neutral pieces of the market streams, shared by the dialects: kline intervals, a mirror of
one symbol's book maintained from the engine's ``BookDelta`` events (so stream listeners never
call back into the engine), a kline being aggregated live from public trades, and
:class:`MarketFeed`, the state and subscription bookkeeping both dialects' market streams keep."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from adapters.sim.faults import LiveConnection
from adapters.sim.model import BookDelta, Kline, SymbolSpec

INTERVAL_MS: dict[str, int] = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
    "1M": 2_592_000_000,
}


class BookMirror:
    def __init__(
        self,
        symbol: str,
        bids: tuple[tuple[Decimal, Decimal], ...],
        asks: tuple[tuple[Decimal, Decimal], ...],
        last_update_id: int,
    ) -> None:
        self.symbol = symbol
        self.bids: dict[Decimal, Decimal] = dict(bids)
        self.asks: dict[Decimal, Decimal] = dict(asks)
        self.last_update_id = last_update_id
        self.time_ms = 0

    def apply(self, d: BookDelta) -> None:
        for side, rows in ((self.bids, d.bids), (self.asks, d.asks)):
            for price, qty in rows:
                if qty == 0:
                    side.pop(price, None)
                else:
                    side[price] = qty
        self.last_update_id = d.last_update_id
        self.time_ms = d.time_ms

    def top(self, n: int) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        bids = sorted(self.bids.items(), key=lambda kv: kv[0], reverse=True)[:n]
        asks = sorted(self.asks.items(), key=lambda kv: kv[0])[:n]
        return bids, asks


@dataclass(slots=True)
class LiveKline:
    open_time: int
    interval_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trades: int
    taker_buy_volume: Decimal
    taker_buy_quote_volume: Decimal
    first_id: int = -1
    last_id: int = -1

    @classmethod
    def from_kline(cls, k: Kline, interval_ms: int) -> LiveKline:
        return cls(
            k.open_time_ms,
            interval_ms,
            k.open,
            k.high,
            k.low,
            k.close,
            k.volume,
            k.quote_volume,
            k.trades,
            k.taker_buy_volume,
            k.taker_buy_quote_volume,
        )

    def as_kline(self, closed: bool) -> Kline:
        return Kline(
            self.open_time,
            self.open_time + self.interval_ms - 1,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.quote_volume,
            self.trades,
            self.taker_buy_volume,
            self.taker_buy_quote_volume,
            closed,
        )


class Subscribers(dict[str, set[LiveConnection]]):
    """Stream (topic) name -> the connections subscribed to it; a name nobody follows is dropped, so
    the publishers find out cheaply that nobody listens."""

    def add(self, name: str, conn: LiveConnection) -> None:
        self.setdefault(name, set()).add(conn)

    def drop(self, name: str, conn: LiveConnection) -> None:
        subs = self.get(name)
        if subs is not None:
            subs.discard(conn)
            if not subs:
                del self[name]

    def drop_all(self, names: Iterable[str], conn: LiveConnection) -> None:
        for name in names:
            self.drop(name, conn)


class MarketFeed:
    """What both dialects' market streams keep: the book mirrors and mark prices, the subscribers,
    the live klines and the gap fault's count of depth updates still to lose."""

    def __init__(self, specs: dict[str, SymbolSpec]) -> None:
        self._specs = specs
        self.books: dict[str, BookMirror] = {}
        self.marks: dict[str, Decimal] = {}
        self._subs = Subscribers()
        self._klines: dict[tuple[str, str], LiveKline] = {}
        # Seeds a kline from engine history when its first subscriber arrives (not in a listener).
        self.kline_seed: Callable[[str, int], Kline | None] | None = None
        self._gaps: dict[str, int] = {}  # symbol -> depth updates still to lose

    def _seed_kline(self, symbol: str, interval: str) -> None:
        """Start the live bar of (symbol, interval) from engine history, once."""
        if self.kline_seed is None or (symbol, interval) in self._klines:
            return
        k = self.kline_seed(symbol, INTERVAL_MS[interval])
        if k is not None:
            self._klines[(symbol, interval)] = LiveKline.from_kline(k, INTERVAL_MS[interval])
