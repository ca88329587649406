"""Venue-neutral pieces of the market streams, shared by the dialects: kline intervals, a mirror of
one symbol's book maintained from the engine's ``BookDelta`` events (so stream listeners never
call back into the engine), and a kline being aggregated live from public trades."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from adapters.sim.model import BookDelta, Kline

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
