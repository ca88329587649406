"""Order soak: many orders' whole lives through the user-stream hot path; memory must stay flat.

A node that trades all day places hundreds of thousands of orders. Every per-order structure the
execution client keeps — the tracker's orders and venue-id index, BingX's client-id aliases and
cancel-replace chains, per-order locks — must forget closed orders after their retention, and the
fill de-duplication must stay within its bound. Here ``orders`` orders each go NEW -> a partial
TRADE -> a FILLED TRADE (or a CANCELED) through the real Binance ``UserStreamHandler`` and
``OrderFacts`` (a sink stands in for the engine), with a simulated clock that advances
``--secs-per-order`` per order; the process RSS and the sizes of every per-order structure are
sampled every ``--sample-every`` orders.

NautilusTrader (1.221) interns every identifier string (ClientOrderId, VenueOrderId, TradeId, ...)
for the life of the process, about 50 bytes per distinct id: a node's memory grows with the ids it
has ever seen, whatever an adapter does (measured: 700,000 distinct VenueOrderIds add ~36 MiB, and
creating them again adds nothing). The soak interns all of its ids before it starts measuring, so
what it measures is the adapter's own memory.

Required: after the warm-up — until the fill de-duplication holds its full (bounded) capacity of
trade keys, by design the one structure that grows to a fixed size — RSS grows by at most
``--rss-budget-mib``, and every per-order structure stays within what the retention implies.

    python -m adapters.testkit.order_soak [--orders 100000] [--retention-secs 60]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import OrderSide, OrderType
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientId,
    ClientOrderId,
    InstrumentId,
    StrategyId,
    TradeId,
    VenueOrderId,
)

from adapters.binance_futures.user_events import UserStreamHandler
from adapters.bingx.user_events import OrderIndex
from adapters.core.orders.order_facts import OrderFacts
from adapters.core.orders.order_tracking import OrderTracker, TrackedOrder
from adapters.core.parse.instrument_info import InstrumentInfo
from adapters.testkit.soak import rss_mib

SYMBOL = "BTCUSDT"
INFO = InstrumentInfo(InstrumentId.from_str("BTCUSDT-PERP.BINANCE"), 1, 3, USDT)


class _Sink:
    """Stands in for the engine: every event is counted and dropped."""

    def __init__(self) -> None:
        self.events = 0

    def __getattr__(self, name: str) -> Any:
        if name.startswith(("generate_", "_send_")):
            return self._count
        raise AttributeError(name)

    def _count(self, *args: Any, **kwargs: Any) -> None:
        self.events += 1


@dataclass
class Sample:
    orders: int
    rss_mib: float
    tracked: int
    by_venue_id: int
    open: int
    seen_trades: int
    aliases: int


@dataclass
class OrderSoakResult:
    orders: int
    retention_secs: float
    secs_per_order: float
    dedup_capacity: int = 0
    samples: list[Sample] = field(default_factory=list)
    events: int = 0

    def warm(self) -> list[Sample]:
        """The samples from the first one with the de-duplication full."""
        for i, sample in enumerate(self.samples):
            if sample.seen_trades >= self.dedup_capacity:
                return self.samples[i:]
        return []

    def growth_after_warmup(self) -> float:
        warm = self.warm()
        if len(warm) < 2:
            return 0.0
        return max(s.rss_mib for s in warm[1:]) - warm[0].rss_mib

    def bound(self) -> int:
        """Orders a retention can hold at the simulated rate, with headroom for the open ones."""
        return int(self.retention_secs / self.secs_per_order) + 100

    def ok(self, rss_budget_mib: float) -> bool:
        structures = all(max(s.tracked, s.by_venue_id, s.aliases) <= self.bound() for s in self.samples)
        return structures and self.growth_after_warmup() <= rss_budget_mib

    def render(self) -> str:
        header = ("orders", "RSS MiB", "tracked", "venueIds", "open", "seen", "aliases")
        lines = [" ".join(f"{h:>8}" for h in header)]
        lines += [
            f"{s.orders:>8} {s.rss_mib:>8.1f} {s.tracked:>8} {s.by_venue_id:>8} {s.open:>8} "
            f"{s.seen_trades:>8} {s.aliases:>8}"
            for s in self.samples
        ]
        warm = self.warm()
        since = f"{warm[0].orders} orders" if warm else "never"
        lines.append(
            f"RSS growth after warm-up (de-duplication full at {since}): "
            f"{self.growth_after_warmup():.1f} MiB; per-order structures bounded by {self.bound()}; "
            f"{self.events} events emitted"
        )
        return "\n".join(lines)


def _frame(cid: str, oid: int, x: str, status: str, last: str, cum: str, trade_id: int, t: int) -> bytes:
    o = {
        "s": SYMBOL, "c": cid, "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "0.010", "p": "50000.0",
        "ap": "50000.0" if cum != "0" else "0", "x": x, "X": status, "i": oid, "l": last, "z": cum,
        "L": "50000.0" if last != "0" else "0", "N": "USDT" if last != "0" else None,
        "n": "0.01" if last != "0" else None, "T": t, "t": trade_id, "m": True, "R": False, "ps": "BOTH",
    }  # fmt: skip
    return json.dumps({"e": "ORDER_TRADE_UPDATE", "E": t, "T": t, "o": o}, separators=(",", ":")).encode()


def run(
    orders: int = 100_000,
    *,
    retention_secs: float = 60.0,
    secs_per_order: float = 0.01,
    sample_every: int = 10_000,
) -> OrderSoakResult:
    now = [0.0]
    tracker = OrderTracker(retention=retention_secs, clock=lambda: now[0])
    index = OrderIndex(tracker)  # BingX's aliases and chains, cleaned through the tracker's hook
    locks: dict[str, object] = {}

    def drop_lock(order: TrackedOrder) -> None:
        locks.pop(order.client_order_id.value, None)

    tracker.on_forget.append(drop_lock)
    sink = _Sink()
    facts = OrderFacts(tracker, sink, treat_expired_as_canceled=False, request_fills=lambda o: None)  # type: ignore[arg-type]
    handler = UserStreamHandler(
        facts=facts,
        sink=sink,  # type: ignore[arg-type]
        client_id=ClientId("BINANCE"),
        account_id=AccountId("BINANCE-USDT_FUTURES-master"),
        instruments=lambda symbol: INFO,
        adopt=lambda cid, venue_id: None,
        position_id=lambda iid, side: None,
        clock_ns=lambda: int(now[0] * 1e9),
        on_listen_key_expired=lambda reason: None,
        treat_expired_as_canceled=False,
        logger=logging.getLogger("order_soak"),
    )
    result = OrderSoakResult(orders, retention_secs, secs_per_order, tracker.dedup_capacity)
    _intern_ids(orders)
    trade_id = 0
    for n in range(1, orders + 1):
        now[0] += secs_per_order
        cid = f"O-{n}"
        order = index.register(
            TrackedOrder(
                client_order_id=ClientOrderId(cid),
                strategy_id=StrategyId("S-001"),
                instrument_id=INFO.instrument_id,
                symbol=SYMBOL,
                side=OrderSide.BUY,
                order_type=OrderType.LIMIT,
                is_algo=False,
                quantity=Decimal("0.010"),
                price=Decimal("50000.0"),
            )
        )
        locks[cid] = object()
        t = 1_700_000_000_000 + n
        handler.handle_frame(_frame(cid, n, "NEW", "NEW", "0", "0", 0, t))
        trade_id += 1
        handler.handle_frame(_frame(cid, n, "TRADE", "PARTIALLY_FILLED", "0.004", "0.004", trade_id, t))
        if n % 2:
            trade_id += 1
            handler.handle_frame(_frame(cid, n, "TRADE", "FILLED", "0.006", "0.010", trade_id, t))
        else:
            handler.handle_frame(_frame(cid, n, "CANCELED", "CANCELED", "0", "0.004", 0, t))
        assert order.terminal is not None
        if n % sample_every == 0:
            tracker.forget_expired()
            gc.collect()
            result.samples.append(
                Sample(
                    n,
                    rss_mib(),
                    len(tracker.orders),
                    len(tracker.by_venue_id),
                    tracker.open_count,
                    len(tracker.seen_trades),
                    len(index._by_cid),
                )
            )
    result.events = sink.events
    return result


def _intern_ids(orders: int) -> None:
    """Create every identifier the run will use once, up front (see module docstring)."""
    for n in range(1, orders + 1):
        ClientOrderId(f"O-{n}")
        VenueOrderId(str(n))
    for t in range(1, 2 * orders + 1):
        TradeId(str(t))
    gc.collect()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--retention-secs", type=float, default=60.0)
    parser.add_argument("--secs-per-order", type=float, default=0.01, help="simulated time per order")
    parser.add_argument("--sample-every", type=int, default=10_000)
    parser.add_argument("--rss-budget-mib", type=float, default=4.0)
    args = parser.parse_args(argv)
    result = run(
        args.orders,
        retention_secs=args.retention_secs,
        secs_per_order=args.secs_per_order,
        sample_every=args.sample_every,
    )
    print(result.render())
    ok = result.ok(args.rss_budget_mib)
    print("order soak:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
