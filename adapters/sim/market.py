"""One symbol's synthetic market: the seeded price process, a finite order book, public trades,
mark price / funding, and kline history.

Prices are held as integer multiples of the tick ("ticks") so the book and the walk are exact and
cheap; they become ``Decimal`` only at the edge (``px``). Everything random comes from one
``random.Random`` per symbol seeded from (seed, symbol) with a stable hash, so a run is
reproducible across processes (Python's ``hash()`` of a str is salted per process).
"""

from __future__ import annotations

import hashlib
import random
from bisect import bisect_left, bisect_right
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from adapters.sim.model import (
    BookDelta,
    BookSnapshot,
    Kline,
    MarkPriceEvent,
    MarkPriceSnapshot,
    PublicTrade,
    Side,
    SymbolSpec,
    usdt_perpetual,
)

FUNDING_INTERVAL_MS = 8 * 3_600_000  # funding at 00:00, 08:00 and 16:00 UTC
LEVEL_NOTIONAL = Decimal(30_000)  # average quote value resting on one synthetic book level
_LEVEL_GAP_FRACTION = Decimal("0.00005")  # book levels sit 0.5 bp apart
_STEP_VOLATILITY = 0.0001  # one step moves the price ~1 bp (std dev); a random draw, not money
_BASIS_VOLATILITY = 0.00002
_BASE_FUNDING = Decimal("0.0001")
_HOUR_MS = 3_600_000
_SETTLE_QUANTUM = Decimal("1e-8")  # Binance sends mark/index/settle prices with 8 decimals


def default_specs() -> list[SymbolSpec]:
    """Three contracts with Binance's real filter values (mid-2025), one with unusual precisions."""
    return [
        usdt_perpetual(
            "BTCUSDT",
            "BTC",
            precision=(2, 3),
            tick="0.10",
            prices=("261.10", "809484"),
            step="0.001",
            quantities=("0.001", "1000"),
            market_max_qty="120",
            min_notional="100",
            initial_price="60000.00",
        ),
        usdt_perpetual(
            "ETHUSDT",
            "ETH",
            precision=(2, 3),
            tick="0.01",
            prices=("39.86", "306177"),
            step="0.001",
            quantities=("0.001", "10000"),
            market_max_qty="2000",
            min_notional="20",
            initial_price="3000.00",
        ),
        usdt_perpetual(
            "1000PEPEUSDT",
            "1000PEPE",
            precision=(7, 0),
            tick="0.0000001",
            prices=("0.0000010", "200"),
            step="1",
            quantities=("1", "800000000"),
            market_max_qty="120000000",
            min_notional="5",
            initial_price="0.0123456",
            margin_percent=("1.0", "2.0"),
            max_leverage=50,
            onboard_date_ms=1683532800000,
        ),
    ]


def stable_hash(*parts: object) -> int:
    """A 64-bit hash that is the same in every process (unlike ``hash(str)``)."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def next_funding_time(now_ms: int) -> int:
    return (now_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS


class SymbolMarket:
    """The rest of the market for one symbol. Book mutations are recorded as pending changes and
    published as one ``BookDelta`` by ``flush_delta`` so the update-id chain stays gap-free."""

    def __init__(self, spec: SymbolSpec, seed: int, book_levels: int, start_ms: int) -> None:
        self.spec = spec
        self.seed = seed
        self.tick = spec.tick_size
        self.levels = book_levels
        self._rng = random.Random(seed * 1_000_003 + stable_hash(spec.symbol))
        self.start_ms = start_ms
        self.start_ticks = self.to_ticks(spec.initial_price)
        self.last_ticks = self.start_ticks
        self.mark_ticks = self.start_ticks
        self.index_ticks = self.start_ticks
        self.funding_rate = _BASE_FUNDING
        self.mark_time_ms = start_ms
        # Estimated settle price: the mean index price of the current hour (Binance: "only useful in
        # the last hour before the settlement starts"). Sums ticks: no RNG draw, no rounding drift.
        self._settle_hour = start_ms // _HOUR_MS
        self._settle_sum = self.index_ticks
        self._settle_n = 1
        self.gap = max(1, int((spec.initial_price * _LEVEL_GAP_FRACTION / self.tick).to_integral_value()))
        self._min_ticks = max(1, self.to_ticks_ceil(spec.min_price))
        self._max_ticks = int(spec.max_price / self.tick)
        self.bids: dict[int, Decimal] = {}
        self.asks: dict[int, Decimal] = {}
        self._pending_bids: dict[int, Decimal] = {}
        self._pending_asks: dict[int, Decimal] = {}
        self.update_id = 1_000_000 + self._rng.randrange(1_000_000)
        self.last_trade_id = 0  # shared by the user's fills and the synthetic trades, per symbol
        self.last_agg_id = 0
        self.public: list[PublicTrade] = []
        self._public_times: list[int] = []
        self.recentre()
        self._pending_bids.clear()
        self._pending_asks.clear()

    # --- conversions -------------------------------------------------------------------------
    def px(self, ticks: int) -> Decimal:
        return ticks * self.tick

    def to_ticks(self, price: Decimal) -> int:
        return int((price / self.tick).to_integral_value())

    def to_ticks_ceil(self, price: Decimal) -> int:
        return -int(-price // self.tick)

    @property
    def last_price(self) -> Decimal:
        return self.px(self.last_ticks)

    @property
    def mark_price(self) -> Decimal:
        return self.px(self.mark_ticks)

    def best(self, side: Side) -> int | None:
        """Best price in ticks on the book side a ``side`` taker would hit."""
        levels = self.asks if side is Side.BUY else self.bids
        if not levels:
            return None
        return min(levels) if side is Side.BUY else max(levels)

    # --- price process -----------------------------------------------------------------------
    def advance(self, now_ms: int) -> None:
        """One step of the walk, then mark/index/funding and the book follow it."""
        sigma = float(self.last_ticks) * _STEP_VOLATILITY
        move = round(self._rng.gauss(0.0, sigma))
        self.last_ticks = min(self._max_ticks, max(self._min_ticks + self.gap, self.last_ticks + move))
        basis_sigma = float(self.last_ticks) * _BASIS_VOLATILITY
        self.mark_ticks = max(1, self.last_ticks + round(self._rng.gauss(0.0, basis_sigma)))
        self.index_ticks = max(1, self.last_ticks + round(self._rng.gauss(0.0, basis_sigma)))
        self.funding_rate = _BASE_FUNDING + Decimal(self._rng.randint(-20, 20)) / Decimal(1_000_000)
        self.mark_time_ms = now_ms
        self._observe_index(now_ms)
        self.recentre()
        self._perturb()

    def set_price(self, ticks: int, now_ms: int) -> None:
        self.last_ticks = ticks
        self.mark_ticks = ticks
        self.index_ticks = ticks
        self.mark_time_ms = now_ms
        self._observe_index(now_ms)
        self.recentre()

    def _observe_index(self, now_ms: int) -> None:
        hour = now_ms // _HOUR_MS
        if hour != self._settle_hour:
            self._settle_hour, self._settle_sum, self._settle_n = hour, 0, 0
        self._settle_sum += self.index_ticks
        self._settle_n += 1

    @property
    def estimated_settle_price(self) -> Decimal:
        mean = Decimal(self._settle_sum) / Decimal(self._settle_n) * self.tick
        return mean.quantize(_SETTLE_QUANTUM, rounding=ROUND_HALF_EVEN)

    # --- book --------------------------------------------------------------------------------
    def _level_qty(self, ticks: int, scale: Decimal = Decimal(1)) -> Decimal:
        notional = LEVEL_NOTIONAL * Decimal(self._rng.randint(200, 1800)) / Decimal(1000) * scale
        qty = (notional / self.px(ticks)).quantize(self.spec.step_size, rounding=ROUND_DOWN)
        return max(qty, self.spec.min_qty)

    def _target_levels(self) -> tuple[list[int], list[int]]:
        # Levels sit on a fixed grid so a small move only changes the edges of the book.
        top_bid = ((self.last_ticks - 1) // self.gap) * self.gap
        low_ask = (self.last_ticks // self.gap + 1) * self.gap
        bids = [p for p in (top_bid - i * self.gap for i in range(self.levels)) if p >= self._min_ticks]
        asks = [p for p in (low_ask + i * self.gap for i in range(self.levels)) if p <= self._max_ticks]
        return bids, asks

    def _set_level(
        self, side_levels: dict[int, Decimal], pending: dict[int, Decimal], ticks: int, qty: Decimal
    ) -> None:
        if qty > 0:
            side_levels[ticks] = qty
        else:
            side_levels.pop(ticks, None)
        pending[ticks] = qty

    def recentre(self) -> None:
        """Make the book exactly the grid around the last price; depleted levels are refilled."""
        target_bids, target_asks = self._target_levels()
        for levels, pending, target in (
            (self.bids, self._pending_bids, target_bids),
            (self.asks, self._pending_asks, target_asks),
        ):
            keep = set(target)
            for ticks in [t for t in levels if t not in keep]:
                self._set_level(levels, pending, ticks, Decimal(0))
            for ticks in target:
                if ticks not in levels:
                    self._set_level(levels, pending, ticks, self._level_qty(ticks))

    def _perturb(self) -> None:
        for _ in range(self._rng.randint(0, 3)):
            is_bid = self._rng.random() < 0.5
            levels, pending = (self.bids, self._pending_bids) if is_bid else (self.asks, self._pending_asks)
            if not levels:
                continue
            ticks = sorted(levels)[self._rng.randrange(len(levels))]
            self._set_level(levels, pending, ticks, self._level_qty(ticks))

    def available(self, side: Side, limit_ticks: int | None) -> Decimal:
        """Liquidity a ``side`` taker could take at prices no worse than ``limit_ticks``."""
        levels = self.asks if side is Side.BUY else self.bids
        if limit_ticks is None:
            return sum(levels.values(), Decimal(0))
        if side is Side.BUY:
            return sum((q for p, q in levels.items() if p <= limit_ticks), Decimal(0))
        return sum((q for p, q in levels.items() if p >= limit_ticks), Decimal(0))

    def take(self, side: Side, qty: Decimal, limit_ticks: int | None) -> list[tuple[int, Decimal]]:
        """Consume liquidity best-first; returns (price ticks, qty) per level touched."""
        if side is Side.BUY:
            levels, pending = self.asks, self._pending_asks
        else:
            levels, pending = self.bids, self._pending_bids
        fills: list[tuple[int, Decimal]] = []
        remaining = qty
        for ticks in sorted(levels, reverse=side is Side.SELL):
            if remaining <= 0:
                break
            if limit_ticks is not None and (ticks > limit_ticks if side is Side.BUY else ticks < limit_ticks):
                break
            level_qty = levels[ticks]
            got = min(level_qty, remaining)
            fills.append((ticks, got))
            remaining -= got
            self._set_level(levels, pending, ticks, level_qty - got)
        return fills

    def has_pending(self) -> bool:
        return bool(self._pending_bids or self._pending_asks)

    def flush_delta(self, now_ms: int) -> BookDelta:
        bids = tuple((self.px(t), q) for t, q in sorted(self._pending_bids.items(), reverse=True))
        asks = tuple((self.px(t), q) for t, q in sorted(self._pending_asks.items()))
        self._pending_bids.clear()
        self._pending_asks.clear()
        prev = self.update_id
        self.update_id = prev + max(1, len(bids) + len(asks))
        return BookDelta(
            symbol=self.spec.symbol,
            time_ms=now_ms,
            first_update_id=prev + 1,
            last_update_id=self.update_id,
            prev_update_id=prev,
            bids=bids,
            asks=asks,
        )

    def snapshot(self, limit: int, now_ms: int) -> BookSnapshot:
        bids = tuple((self.px(t), self.bids[t]) for t in sorted(self.bids, reverse=True)[:limit])
        asks = tuple((self.px(t), self.asks[t]) for t in sorted(self.asks)[:limit])
        return BookSnapshot(self.spec.symbol, self.update_id, now_ms, bids, asks)

    # --- trades and mark ---------------------------------------------------------------------
    def next_trade_id(self) -> int:
        self.last_trade_id += 1
        return self.last_trade_id

    def record_public(
        self,
        time_ms: int,
        ticks: int,
        qty: Decimal,
        buyer_is_maker: bool,
        first_trade_id: int,
        last_trade_id: int,
    ) -> PublicTrade:
        self.last_agg_id += 1
        trade = PublicTrade(
            symbol=self.spec.symbol,
            time_ms=time_ms,
            agg_id=self.last_agg_id,
            first_trade_id=first_trade_id,
            last_trade_id=last_trade_id,
            price=self.px(ticks),
            qty=qty,
            buyer_is_maker=buyer_is_maker,
        )
        self.public.append(trade)
        self._public_times.append(time_ms)
        return trade

    def synthetic_trades(self, time_ms: int) -> list[PublicTrade]:
        """Zero to two trades of other participants at the touch; they do not deplete the book."""
        out: list[PublicTrade] = []
        for _ in range(self._rng.randint(0, 2)):
            buyer_is_maker = self._rng.random() < 0.5
            ticks = self.best(Side.SELL if buyer_is_maker else Side.BUY)
            if ticks is None:
                continue
            qty = self._level_qty(ticks, Decimal("0.1"))
            tid = self.next_trade_id()
            out.append(self.record_public(time_ms, ticks, qty, buyer_is_maker, tid, tid))
        return out

    def mark_snapshot(self) -> MarkPriceSnapshot:
        return MarkPriceSnapshot(
            symbol=self.spec.symbol,
            time_ms=self.mark_time_ms,
            mark_price=self.mark_price,
            index_price=self.px(self.index_ticks),
            funding_rate=self.funding_rate,
            next_funding_time_ms=next_funding_time(self.mark_time_ms),
            estimated_settle_price=self.estimated_settle_price,
        )

    def mark_event(self) -> MarkPriceEvent:
        snap = self.mark_snapshot()
        return MarkPriceEvent(
            snap.symbol,
            snap.time_ms,
            snap.mark_price,
            snap.index_price,
            snap.funding_rate,
            snap.next_funding_time_ms,
            snap.estimated_settle_price,
        )

    def public_range(self, start_ms: int, end_ms: int) -> list[PublicTrade]:
        lo = bisect_left(self._public_times, start_ms)
        hi = bisect_right(self._public_times, end_ms)
        return self.public[lo:hi]

    def price_before(self, time_ms: int) -> int:
        """Last traded price (ticks) strictly before ``time_ms``; the start price if none."""
        i = bisect_left(self._public_times, time_ms)
        return self.to_ticks(self.public[i - 1].price) if i else self.start_ticks

    # --- klines ------------------------------------------------------------------------------
    def _history_ticks(self, t_ms: int) -> int:
        """Price before the engine started: a pure function of (seed, symbol, time) made of two
        triangle waves and per-minute hashed noise, in integer ticks so it never rounds."""
        base = self.start_ticks
        phase = stable_hash(self.seed, self.spec.symbol, "phase")

        def tri(period: int, amp: int) -> int:
            ph = (t_ms + phase) % period
            return amp * abs(2 * ph - period) // period - amp // 2

        noise_amp = max(1, base // 2000)
        noise = stable_hash(self.seed, self.spec.symbol, t_ms // 60_000) % (2 * noise_amp + 1) - noise_amp
        return max(1, base + tri(86_400_000, base // 50) + tri(25_200_000, base // 200) + noise)

    def _history_bar(self, open_ms: int, interval_ms: int, now_ms: int) -> Kline:
        o = self._history_ticks(open_ms)
        c = self._history_ticks(open_ms + interval_ms)  # = next bar's open, so bars join up
        h = stable_hash(self.seed, self.spec.symbol, open_ms, interval_ms)
        wick = max(1, self.start_ticks // 4000)
        high = max(o, c) + h % (wick + 1)
        low = max(1, min(o, c) - (h >> 16) % (wick + 1))
        minutes = max(1, interval_ms // 60_000)
        step = self.spec.step_size
        mid = self.px(o + c) / 2
        volume = (LEVEL_NOTIONAL * Decimal((h >> 32) % 1000 + 1) * minutes / 100 / mid).quantize(
            step, rounding=ROUND_DOWN
        )
        buy_volume = (volume * Decimal((h >> 8) % 101) / 100).quantize(step, rounding=ROUND_DOWN)
        close_ms = open_ms + interval_ms - 1
        return Kline(
            open_time_ms=open_ms,
            close_time_ms=close_ms,
            open=self.px(o),
            high=self.px(high),
            low=self.px(low),
            close=self.px(c),
            volume=volume,
            quote_volume=(volume * mid).quantize(Decimal("1e-8")),
            trades=int((h >> 40) % 500 + 1) * minutes,
            taker_buy_volume=buy_volume,
            taker_buy_quote_volume=(buy_volume * mid).quantize(Decimal("1e-8")),
            closed=close_ms < now_ms,
        )

    def _live_bar(self, open_ms: int, interval_ms: int, now_ms: int) -> Kline:
        close_ms = open_ms + interval_ms - 1
        trades = self.public_range(open_ms, close_ms)
        prev = self.px(self.price_before(open_ms))
        if not trades:
            zero = Decimal(0)
            return Kline(
                open_ms, close_ms, prev, prev, prev, prev, zero, zero, 0, zero, zero, close_ms < now_ms
            )
        prices = [t.price for t in trades]
        volume = sum((t.qty for t in trades), Decimal(0))
        quote = sum((t.qty * t.price for t in trades), Decimal(0))
        buys = [t for t in trades if not t.buyer_is_maker]
        return Kline(
            open_time_ms=open_ms,
            close_time_ms=close_ms,
            open=prices[0],
            high=max(prices),
            low=min(prices),
            close=prices[-1],
            volume=volume,
            quote_volume=quote,
            trades=sum(t.last_trade_id - t.first_trade_id + 1 for t in trades),
            taker_buy_volume=sum((t.qty for t in buys), Decimal(0)),
            taker_buy_quote_volume=sum((t.qty * t.price for t in buys), Decimal(0)),
            closed=close_ms < now_ms,
        )

    def klines(
        self, interval_ms: int, start_ms: int | None, end_ms: int | None, limit: int, now_ms: int
    ) -> list[Kline]:
        if interval_ms <= 0 or limit <= 0:
            return []
        newest = (min(end_ms, now_ms) if end_ms is not None else now_ms) // interval_ms * interval_ms
        if start_ms is not None:
            first = -(-start_ms // interval_ms) * interval_ms
            last = min(newest, first + (limit - 1) * interval_ms)
        else:
            last = newest
            first = last - (limit - 1) * interval_ms
        bars: list[Kline] = []
        for open_ms in range(first, last + 1, interval_ms):
            if open_ms + interval_ms <= self.start_ms:
                bars.append(self._history_bar(open_ms, interval_ms, now_ms))
            else:
                bars.append(self._live_bar(open_ms, interval_ms, now_ms))
        return bars
